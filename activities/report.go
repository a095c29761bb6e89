package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"homeward/report"
	"homeward/store"
)

// ProduceReturnReportInput names the episode whose report to produce.
type ProduceReturnReportInput struct {
	EpisodeID string `json:"episode_id"`
	// Version is the report's version: 1 for the report after the agreement.
	Version int `json:"version"`
}

// ProduceReturnReportResult is when the report was stored.
type ProduceReturnReportResult struct {
	ProducedAt time.Time `json:"produced_at"`
}

// ErrNoReportRecords is the activity's failure when the records hold no
// held interview or no agreement: retrying cannot mend it.
const ErrNoReportRecords = "report.no_records"

// ProduceReturnReport builds the return report from the case records and
// stores it as PDF and HTML with the episode.
func (a *Activities) ProduceReturnReport(ctx context.Context, in ProduceReturnReportInput) (ProduceReturnReportResult, error) {
	src, err := a.Store.ReturnReportSource(ctx, in.EpisodeID)
	if err != nil {
		return ProduceReturnReportResult{}, fmt.Errorf("reading the records of episode %s: %w", in.EpisodeID, err)
	}
	if src.Record == nil || src.HeldAt == nil || src.Agreement == nil {
		return ProduceReturnReportResult{}, temporal.NewNonRetryableApplicationError(
			"the records hold no held interview with an agreement", ErrNoReportRecords, errors.New(in.EpisodeID))
	}
	r := report.Build(reportSource(src))
	html, err := report.HTML(r)
	if err != nil {
		return ProduceReturnReportResult{}, fmt.Errorf("rendering the report of episode %s: %w", in.EpisodeID, err)
	}
	pdf, err := report.PDF(r)
	if err != nil {
		return ProduceReturnReportResult{}, fmt.Errorf("rendering the report PDF of episode %s: %w", in.EpisodeID, err)
	}
	at := a.now()
	if err := a.Store.SaveReturnReport(ctx, store.ReturnReport{EpisodeID: in.EpisodeID, Version: in.Version,
		PDF: pdf, HTML: html, ProducedAt: at}); err != nil {
		return ProduceReturnReportResult{}, fmt.Errorf("storing the report of episode %s: %w", in.EpisodeID, err)
	}
	return ProduceReturnReportResult{ProducedAt: at}, nil
}

func reportSource(src store.ReportSource) report.Source {
	out := report.Source{Reference: src.Reference, HeldAt: *src.HeldAt, Record: *src.Record, Agreement: *src.Agreement}
	if src.ActionPlan != nil {
		for _, act := range src.ActionPlan.Actions {
			out.Actions = append(out.Actions, report.Action{What: act.What, Owner: act.Owner, DueAt: act.DueAt})
		}
	}
	return out
}

// SendReturnReportInput names the episode whose report is delivered.
type SendReturnReportInput struct {
	EpisodeID      string `json:"episode_id"`
	Reference      string `json:"reference"`
	CommissionerID string `json:"commissioner_id"`
}

// SendReturnReportResult is when the report was sent and to how many.
type SendReturnReportResult struct {
	SentAt     time.Time `json:"sent_at"`
	Recipients int       `json:"recipients"`
}

// SendReturnReport emails the commissioner's officers that the report is
// ready: the reference and a link, never its content. Each officer is
// emailed once however often it is retried; once one has it the report is
// marked sent. While no officer has it (none is active, or the relay
// refused them all) it is not sent: the managers are told once, and the
// activity fails so that Temporal retries it until an officer has it.
func (a *Activities) SendReturnReport(ctx context.Context, in SendReturnReportInput) (SendReturnReportResult, error) {
	officers, err := a.Store.ActiveUsersFor(ctx, store.RoleCommissionerOfficer, in.CommissionerID)
	if err != nil {
		return SendReturnReportResult{}, fmt.Errorf("listing commissioner officers: %w", err)
	}
	var to []store.User
	for _, u := range officers {
		if u.CommissionerID == in.CommissionerID { // an officer always belongs to one commissioner
			to = append(to, u)
		}
	}
	d := delivery{
		key: "return-report:" + in.EpisodeID + ":1", what: ReturnReportEmail,
		msg:       returnReportEmail(in.Reference, a.episodeLink(in.EpisodeID)+"/report"),
		episodeID: in.EpisodeID, reference: in.Reference, commission: in.CommissionerID,
		groups: []group{fixed("commissioner officers", usersTo("commissioner officer", to))},
	}
	sent, sendErr := a.send(ctx, d)
	if sent == 0 {
		if err := a.tellManagersReportUndelivered(ctx, in); err != nil {
			return SendReturnReportResult{}, errors.Join(sendErr, err)
		}
		return SendReturnReportResult{}, sendErr
	}
	at := a.now()
	if err := a.Store.MarkReturnReportSent(ctx, in.EpisodeID, at); err != nil {
		return SendReturnReportResult{}, fmt.Errorf("marking the report of episode %s sent: %w", in.EpisodeID, err)
	}
	if sendErr != nil {
		return SendReturnReportResult{}, sendErr
	}
	return SendReturnReportResult{SentAt: at, Recipients: sent}, nil
}

// tellManagersReportUndelivered tells the managers, once, that the report
// has reached no officer; while none of them has that either, the
// policy's addresses and the admins.
func (a *Activities) tellManagersReportUndelivered(ctx context.Context, in SendReturnReportInput) error {
	managers, err := a.Store.ActiveUsersFor(ctx, store.RoleManager, in.CommissionerID)
	if err != nil {
		return fmt.Errorf("listing managers: %w", err)
	}
	d := delivery{
		key: "report-undelivered:" + in.EpisodeID, what: ReportUndeliveredEmail,
		msg:       reportUndeliveredEmail(in.Reference, a.episodeLink(in.EpisodeID)),
		episodeID: in.EpisodeID, reference: in.Reference, commission: in.CommissionerID,
		groups: append([]group{fixed("managers", usersTo("manager", managers))}, a.policyAndAdmins(in.EpisodeID, in.CommissionerID)...),
	}
	if sent, err := a.send(ctx, d); sent == 0 {
		return err
	}
	return nil
}
