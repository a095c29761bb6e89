package store

import (
	"context"
	"fmt"
	"time"
	_ "time/tzdata" // months are Europe/London months on any machine

	"github.com/jackc/pgx/v5"
)

// KPIZone is the calendar the KPI report's days and months are read in.
const KPIZone = "Europe/London"

// BreachReasons are the reasons the KPI report counts deadline breaches
// by; any other recorded reason counts as "other".
var BreachReasons = []string{"late_notification", "no_contact", "no_contact_attempted", "other"}

// KPIQuery asks for one commissioner's figures over the days From to To
// (both included, Europe/London calendar days), month by month.
type KPIQuery struct {
	CommissionerID string
	From, To       time.Time // dates: only the year, month and day count
	// GroupBy is "month" (the default) or "week" (ISO weeks, Monday to
	// Sunday, London time).
	GroupBy string
}

// KPIPeriod is the figures of one month, or of the whole range (Period
// "total"). Hours are nil when nothing was there to measure.
type KPIPeriod struct {
	Period         string // "2025-04" (a month), "2025-W14" (an ISO week), or "total"
	From, To       string // the first and last day counted, YYYY-MM-DD
	Episodes       int
	Children       int
	RepeatChildren int
	MissingOver24h int
	LookedAfter    int
	NotLookedAfter int
	// Offers: over the episodes whose offer deadline fell in the period.
	OffersDue               int
	OffersWithinDeadline    int
	Accepted                int
	InterviewsHeld          int
	Declines                int
	ReturnToOfferMedian     *float64
	ReturnToOfferP90        *float64
	ReturnToInterviewMedian *float64
	ReturnToInterviewP90    *float64
	Breaches                map[string]int
	FollowUpsDue            int
	FollowUpsOnTime         int
	// Return reports: over the episodes whose report was due in the period.
	ReportsDue          int
	ReportsSentOnTime   int
	ReportsAcknowledged int
}

// kpiSpan is the range of instants [from, to) of the query's days.
func kpiSpan(q KPIQuery) (from, to time.Time, loc *time.Location, err error) {
	loc, err = time.LoadLocation(KPIZone)
	if err != nil {
		return time.Time{}, time.Time{}, nil, fmt.Errorf("store: kpis: %w", err)
	}
	from = time.Date(q.From.Year(), q.From.Month(), q.From.Day(), 0, 0, 0, 0, loc)
	to = time.Date(q.To.Year(), q.To.Month(), q.To.Day()+1, 0, 0, 0, 0, loc)
	return from, to, loc, nil
}

// kpiPeriods lists every month the range touches (clipped to the range)
// and the total, all at zero.
func kpiPeriods(from, to time.Time, groupBy string) ([]*KPIPeriod, map[string]*KPIPeriod) {
	day := func(t time.Time) string { return t.Format("2006-01-02") }
	var list []*KPIPeriod
	byKey := map[string]*KPIPeriod{}
	add := func(key string, a, b time.Time) {
		p := &KPIPeriod{Period: key, From: day(a), To: day(b.AddDate(0, 0, -1)), Breaches: map[string]int{}}
		for _, r := range BreachReasons {
			p.Breaches[r] = 0
		}
		list = append(list, p)
		byKey[key] = p
	}
	start, step, key := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, from.Location()), monthStep, monthKey
	if groupBy == "week" {
		// Back to the Monday of from's week (Sunday is day 0).
		start, step, key = from.AddDate(0, 0, -(int(from.Weekday())+6)%7), weekStep, weekKey
	}
	for m := start; m.Before(to); m = step(m) {
		a, b := m, step(m)
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		add(key(m), a, b)
	}
	add("total", from, to)
	return list, byKey
}

func monthStep(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
func weekStep(t time.Time) time.Time  { return t.AddDate(0, 0, 7) }
func monthKey(t time.Time) string     { return t.Format("2006-01") }
func weekKey(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// KPIs computes the commissioner's figures. It reads with the store's own
// login, not as the caller: a commissioner officer sees no case records
// under row-level security, yet may read these counts of them. Every
// query here is scoped to the one commissioner in its WHERE clause; the
// API decides who may ask for which commissioner.
func (s *Store) KPIs(ctx context.Context, q KPIQuery) ([]*KPIPeriod, error) {
	cid, ok := parseID(q.CommissionerID)
	if !ok {
		return nil, fmt.Errorf("store: kpis: %w: commissioner id is not a uuid", ErrInvalid)
	}
	from, to, _, err := kpiSpan(q)
	if err != nil {
		return nil, err
	}
	list, byKey := kpiPeriods(from, to, q.GroupBy)
	k := kpiScope{cid: cid, from: from, to: to, periodOf: monthOf}
	if q.GroupBy == "week" {
		k.periodOf = weekOf
	}
	err = pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// A year of one commissioner's episodes sorts in memory, not on disk.
		if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '32MB'"); err != nil {
			return err
		}
		for _, part := range kpiParts {
			if err := part(ctx, tx, k, byKey); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("kpis", err)
	}
	return list, nil
}

// kpiScope is what every part counts over: the commissioner, the range of
// instants, and the period an instant column falls in (SQL).
type kpiScope struct {
	cid      string
	from, to time.Time
	periodOf func(col string) string
}

type kpiPart func(ctx context.Context, tx pgx.Tx, k kpiScope, byKey map[string]*KPIPeriod) error

// kpiParts are read in one snapshot, so the figures agree with each other.
var kpiParts = []kpiPart{kpiOpened, kpiRepeatChildren, kpiOffers, kpiBreaches, kpiFollowUps, kpiReports}

// kpiRows runs sql (whose first column is the period, NULL for the total)
// and scans the rest of each row into the destinations dest gives for the
// period's figures.
func kpiRows(ctx context.Context, tx pgx.Tx, byKey map[string]*KPIPeriod, dest func(p *KPIPeriod) []any,
	sql string, args ...any) error {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		values, err := rows.Values()
		if err != nil {
			return err
		}
		key := "total"
		if k, ok := values[0].(string); ok {
			key = k
		}
		p := byKey[key]
		if p == nil { // an instant on the range's edge: cannot happen, but never panic
			p = &KPIPeriod{Breaches: map[string]int{}}
		}
		var skip any
		if err := rows.Scan(append([]any{&skip}, dest(p)...)...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// monthOf is the Europe/London month of an instant column, as the period key.
func monthOf(col string) string {
	return "to_char(" + col + " AT TIME ZONE '" + KPIZone + "', 'YYYY-MM')"
}

// weekOf is the ISO week (Monday to Sunday, London time) of an instant
// column, as the period key.
func weekOf(col string) string {
	return "to_char(" + col + " AT TIME ZONE '" + KPIZone + "', 'IYYY-\"W\"IW')"
}

// hours is the hours between two instant columns.
func hours(a, b string) string { return "extract(epoch FROM " + b + " - " + a + ") / 3600" }

// kpiOpened counts the episodes opened in each period. An offer counts as
// accepted when the child accepted it on contact or an interview was held;
// the interview's time is the first one held. Both are kept on the episode
// by the projection (SaveEpisode), so no interview or attempt is looked up.
func kpiOpened(ctx context.Context, tx pgx.Tx, k kpiScope, byKey map[string]*KPIPeriod) error {
	sql := `WITH e AS (
	SELECT ` + k.periodOf("opened_at") + ` AS period, child_id, looked_after, status,
		reported_missing_at, returned_at, offer_made_at, first_held_at AS held_at, offer_accepted AS accepted
	FROM episodes
	WHERE commissioner_id = $1 AND opened_at >= $2 AND opened_at < $3)
SELECT period, count(*), count(DISTINCT child_id),
	count(*) FILTER (WHERE returned_at - reported_missing_at > interval '24 hours'),
	count(*) FILTER (WHERE looked_after), count(*) FILTER (WHERE NOT looked_after),
	count(*) FILTER (WHERE accepted OR held_at IS NOT NULL),
	count(*) FILTER (WHERE held_at IS NOT NULL),
	count(*) FILTER (WHERE status = 'declined'),
	percentile_cont(0.5) WITHIN GROUP (ORDER BY ` + hours("returned_at", "offer_made_at") + `),
	percentile_cont(0.9) WITHIN GROUP (ORDER BY ` + hours("returned_at", "offer_made_at") + `),
	percentile_cont(0.5) WITHIN GROUP (ORDER BY ` + hours("returned_at", "held_at") + `),
	percentile_cont(0.9) WITHIN GROUP (ORDER BY ` + hours("returned_at", "held_at") + `)
FROM e GROUP BY GROUPING SETS ((period), ())`
	return kpiRows(ctx, tx, byKey, func(p *KPIPeriod) []any {
		return []any{&p.Episodes, &p.Children, &p.MissingOver24h, &p.LookedAfter, &p.NotLookedAfter,
			&p.Accepted, &p.InterviewsHeld, &p.Declines,
			&p.ReturnToOfferMedian, &p.ReturnToOfferP90, &p.ReturnToInterviewMedian, &p.ReturnToInterviewP90}
	}, sql, k.cid, k.from, k.to)
}

// kpiRepeatChildren counts the children with two or more episodes opened
// in the period.
func kpiRepeatChildren(ctx context.Context, tx pgx.Tx, k kpiScope, byKey map[string]*KPIPeriod) error {
	sql := `SELECT period, count(*) FILTER (WHERE n >= 2) FROM (
	SELECT ` + k.periodOf("opened_at") + ` AS period, child_id, count(*) AS n
	FROM episodes
	WHERE commissioner_id = $1 AND opened_at >= $2 AND opened_at < $3 AND child_id IS NOT NULL
	GROUP BY GROUPING SETS ((1, child_id), (child_id))) c
GROUP BY period`
	return kpiRows(ctx, tx, byKey, func(p *KPIPeriod) []any { return []any{&p.RepeatChildren} }, sql, k.cid, k.from, k.to)
}

// kpiOffers counts the episodes whose offer deadline fell in the period
// and those offered by it.
func kpiOffers(ctx context.Context, tx pgx.Tx, k kpiScope, byKey map[string]*KPIPeriod) error {
	sql := `SELECT ` + k.periodOf("offer_deadline") + ` AS period, count(*),
	count(*) FILTER (WHERE offer_made_at <= offer_deadline)
FROM episodes
WHERE commissioner_id = $1 AND offer_deadline >= $2 AND offer_deadline < $3
GROUP BY GROUPING SETS ((1), ())`
	return kpiRows(ctx, tx, byKey, func(p *KPIPeriod) []any { return []any{&p.OffersDue, &p.OffersWithinDeadline} },
		sql, k.cid, k.from, k.to)
}

// kpiBreaches counts the deadline breaches escalated, by the deadline's
// period and reason.
func kpiBreaches(ctx context.Context, tx pgx.Tx, k kpiScope, byKey map[string]*KPIPeriod) error {
	sql := `SELECT ` + k.periodOf("due_at") + ` AS period,
	count(*) FILTER (WHERE reason = 'late_notification'),
	count(*) FILTER (WHERE reason = 'no_contact'),
	count(*) FILTER (WHERE reason = 'no_contact_attempted'),
	count(*) FILTER (WHERE reason NOT IN ('late_notification', 'no_contact', 'no_contact_attempted'))
FROM escalations
WHERE commissioner_id = $1 AND kind = 'deadline_breached' AND due_at >= $2 AND due_at < $3
GROUP BY GROUPING SETS ((1), ())`
	return kpiRows(ctx, tx, byKey, func(p *KPIPeriod) []any {
		dest := make([]any, len(BreachReasons))
		for i, r := range BreachReasons {
			dest[i] = breachCount{p.Breaches, r}
		}
		return dest
	}, sql, k.cid, k.from, k.to)
}

// breachCount scans a count into the breaches of one reason.
type breachCount struct {
	m      map[string]int
	reason string
}

func (b breachCount) Scan(src any) error {
	n, ok := src.(int64)
	if !ok {
		return fmt.Errorf("breach count: unexpected %T", src)
	}
	b.m[b.reason] = int(n)
	return nil
}

// kpiFollowUps counts the follow-ups due in the period and those done by
// their due time.
func kpiFollowUps(ctx context.Context, tx pgx.Tx, k kpiScope, byKey map[string]*KPIPeriod) error {
	sql := `SELECT ` + k.periodOf("follow_up_due_at") + ` AS period, count(*),
	count(*) FILTER (WHERE follow_up_completed_at <= follow_up_due_at)
FROM episodes
WHERE commissioner_id = $1 AND follow_up_due_at >= $2 AND follow_up_due_at < $3
GROUP BY GROUPING SETS ((1), ())`
	return kpiRows(ctx, tx, byKey, func(p *KPIPeriod) []any { return []any{&p.FollowUpsDue, &p.FollowUpsOnTime} },
		sql, k.cid, k.from, k.to)
}

// kpiReports counts the return reports due in the period (the held
// interview plus the commissioner's report_due), those sent by then, and
// those the commissioner has acknowledged.
func kpiReports(ctx context.Context, tx pgx.Tx, k kpiScope, byKey map[string]*KPIPeriod) error {
	sql := `SELECT ` + k.periodOf("report_due_by") + ` AS period, count(*),
	count(*) FILTER (WHERE report_sent_at <= report_due_by),
	count(*) FILTER (WHERE report_acknowledged_at IS NOT NULL)
FROM episodes
WHERE commissioner_id = $1 AND report_due_by >= $2 AND report_due_by < $3
GROUP BY GROUPING SETS ((1), ())`
	return kpiRows(ctx, tx, byKey, func(p *KPIPeriod) []any {
		return []any{&p.ReportsDue, &p.ReportsSentOnTime, &p.ReportsAcknowledged}
	}, sql, k.cid, k.from, k.to)
}
