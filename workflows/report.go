package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"homeward/activities"
)

// reportOptions: the report must come out, so it is retried for as long as
// it takes (rendering is quick; the database may be away), unless the
// records hold no held interview with an agreement.
func reportOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrNoReportRecords}},
	})
}

// produceReport has the return report produced once the records hold the
// agreement (the activity reads them), then sent unless a manager must
// approve it first. The episode does not end before.
func (w *episodeWorkflow) produceReport(ctx workflow.Context) {
	w.sending++
	version := w.state.Version
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.sending-- }()
		if err := workflow.Await(ctx, func() bool { return w.saved >= version }); err != nil {
			return
		}
		in := activities.ProduceReturnReportInput{EpisodeID: w.state.EpisodeID, Version: 1}
		var res activities.ProduceReturnReportResult
		if err := workflow.ExecuteActivity(reportOptions(ctx), a.ProduceReturnReport, in).Get(ctx, &res); err != nil {
			workflow.GetLogger(ctx).Error("Return report not produced", "episode", in.EpisodeID, "error", err)
			return
		}
		w.state.MarkReportProduced(res.ProducedAt, workflow.Now(ctx))
		if w.state.ReportReady() {
			w.sendReport(ctx)
		}
	})
}

// sendReport emails the commissioner's officers the reference and a link.
// Like an escalation it is retried for as long as it takes, and each
// officer is emailed once.
func (w *episodeWorkflow) sendReport(ctx workflow.Context) {
	w.sending++
	in := activities.SendReturnReportInput{EpisodeID: w.state.EpisodeID, Reference: w.state.Reference, CommissionerID: w.state.CommissionerID}
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.sending-- }()
		for {
			var res activities.SendReturnReportResult
			err := workflow.ExecuteActivity(escalationOptions(ctx), a.SendReturnReport, in).Get(ctx, &res)
			if err == nil {
				w.state.MarkReportSent(res.SentAt, res.Recipients, workflow.Now(ctx))
				w.changed++ // the main loop waits for the acknowledgement from now
				return
			}
			workflow.GetLogger(ctx).Error("Return report not sent yet", "episode", in.EpisodeID, "error", err)
			if temporal.IsCanceledError(err) || workflow.Sleep(ctx, escalationPause) != nil {
				return
			}
		}
	})
}

// resumeReport carries on, in a new run, with the report where the last
// run left it.
func (w *episodeWorkflow) resumeReport(ctx workflow.Context) {
	switch r := w.state.Report; {
	case r == nil || r.SentAt != nil:
	case r.ProducedAt == nil:
		w.produceReport(ctx)
	case w.state.ReportReady():
		w.sendReport(ctx)
	}
}
