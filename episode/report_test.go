package episode

import (
	"testing"
	"time"
)

func TestReportTimesDefaultAndLimits(t *testing.T) {
	p := DefaultPolicy()
	if due, ack := p.ReportTimes(); due != 72*time.Hour || ack != 5*24*time.Hour {
		t.Errorf("default report times %s, %s; want 72h and 5 days", due, ack)
	}
	p.ReportDue, p.ReportAcknowledgeWithin = -time.Hour, MaxPolicyDuration+time.Hour
	got := map[string]bool{}
	for _, prob := range p.Problems() {
		got[prob.Field] = true
	}
	if !got["report_due"] || !got["report_acknowledge_within"] || len(got) != 2 {
		t.Errorf("problems %v, want report_due and report_acknowledge_within", got)
	}
}
