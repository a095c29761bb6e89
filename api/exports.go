package api

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"
	_ "time/tzdata" // Europe/London must load on machines without zoneinfo

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"homeward/episode"
	"homeward/store"
)

// Statutory exports: the SSDA903 Missing table and Ofsted's Annex A List 8,
// as CSV files for a commissioner. They hold personal data (a child's
// local-authority id and date of birth), so every export is audited, and
// the file name carries only the commissioner's id and the period.

// london is the time zone of the returns' calendar dates.
var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic("api: Europe/London: " + err.Error()) // embedded by time/tzdata
	}
	return loc
}()

// today is the calendar date in London, as midnight UTC.
func today(now time.Time) time.Time {
	y, m, d := now.In(london).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (h *handlers) exportRoutes(v1 *gin.RouterGroup) {
	readers := allow(store.RoleManager, store.RoleAdmin, store.RoleCommissionerOfficer)
	v1.GET("/exports/ssda903/missing.csv", readers, h.ssda903Missing)
	v1.GET("/exports/annex-a-list8.csv", readers, h.annexAList8)
}

// ExportProblem is one rule of the return an episode's records break.
type ExportProblem struct {
	EpisodeID string `json:"episode_id"`
	Reference string `json:"reference"`
	Rule      string `json:"rule"`
	Field     string `json:"field"` // the column of the return
	Reason    string `json:"reason"`
}

// exportConflict is the 409 of an export the return would reject: the
// error shape plus the episodes to fix.
type exportConflict struct {
	Error    Error           `json:"error"`
	Episodes []ExportProblem `json:"episodes"`
}

// exportCommissioner is the commissioner_id asked for: a commissioner's
// own staff may leave it out (theirs) and get 404 for another's, as for
// one that does not exist (as the policy routes do); the provider's staff
// must name one.
func (h *handlers) exportCommissioner(c *gin.Context) (string, bool) {
	u := currentUser(c)
	id := c.Query("commissioner_id")
	if id == "" && u.CommissionerID != "" {
		id = u.CommissionerID
	}
	if id == "" {
		invalid(c, problems{{Field: "commissioner_id", Reason: "is required"}})
		return "", false
	}
	parsed, err := uuid.Parse(id)
	if err != nil {
		invalid(c, problems{{Field: "commissioner_id", Reason: "must be a UUID"}})
		return "", false
	}
	id = parsed.String()
	ok := u.CommissionerID == "" || u.CommissionerID == id
	if ok {
		exists, err := h.Store.CommissionerExists(c.Request.Context(), id)
		if err != nil {
			h.serverError(c, "commissioner exists", err)
			return "", false
		}
		ok = exists
	}
	if !ok {
		abort(c, http.StatusNotFound, "No such commissioner.", Detail{Field: "commissioner_id", Reason: "no such commissioner"})
	}
	return id, ok
}

// sendCSV answers 200 with a CSV attachment named name.
func sendCSV(c *gin.Context, name string, header []string, rows [][]string) {
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/csv; charset=utf-8", csvBytes(header, rows))
}

// ssda903Header is the Missing table's header, exactly as the DfE names it.
var ssda903Header = []string{"CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"}

func (h *handlers) ssda903Missing(c *gin.Context) {
	year, yearOK := collectionYear(c.Query("year"), today(h.now()))
	id, ok := h.exportCommissioner(c)
	if !ok {
		return
	}
	if !yearOK {
		invalid(c, problems{{Field: "year", Reason: fmt.Sprintf("must be the year a collection starts (1 April), from 2000 to %d", today(h.now()).Year())}})
		return
	}
	from := time.Date(year, time.April, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(year+1, time.March, 31, 0, 0, 0, 0, time.UTC)
	periods, err := h.Store.MissingPeriods(c.Request.Context(), id, from, to)
	if err != nil {
		h.serverError(c, "ssda903 missing periods", err)
		return
	}
	if broken := ssda903Problems(periods, to); len(broken) > 0 {
		c.AbortWithStatusJSON(http.StatusConflict, exportConflict{
			Error: Error{Status: http.StatusConflict, Code: codes[http.StatusConflict],
				Message: "The return would reject these episodes' records: fix them and export again.",
				Details: []Detail{{Field: "episodes", Reason: fmt.Sprintf("%d problems break the SSDA903 Missing table's rules", len(broken))}}},
			Episodes: broken,
		})
		return
	}
	rows := make([][]string, 0, len(periods))
	for _, p := range periods {
		rows = append(rows, ssda903Row(p, to))
	}
	sendCSV(c, fmt.Sprintf("ssda903-missing-%s-%d.csv", id, year), ssda903Header, rows)
}

// collectionYear reads year: the year a collection starts, up to this one.
func collectionYear(s string, now time.Time) (int, bool) {
	y, err := strconv.Atoi(s)
	return y, err == nil && len(s) == 4 && y >= 2000 && y <= now.Year()
}

func dmy(t time.Time) string { return t.Format("02/01/2006") }

// ssda903Row is p as a row of the table. A child who came back after the
// collection year ended was still missing at its end: MIS_END is blank.
// Otherwise it is never blank, since every episode records a return.
func ssda903Row(p store.MissingPeriod, yearEnd time.Time) []string {
	end := ""
	if !p.End.After(yearEnd) {
		end = dmy(p.End)
	}
	return []string{p.LocalAuthorityChildID, dmy(*p.DateOfBirth), missingCode[p.Category], dmy(*p.Start), end}
}

var missingCode = map[string]string{
	string(episode.CategoryMissing):           "M",
	string(episode.CategoryAwayFromPlacement): "A",
}

// ssda903Problems are the DfE's rules for the Missing table that the
// periods break: a CHILD id, a date of birth, an M or A code, a start, an
// end not before the start, a start not before the date of birth, and no
// two periods of one child overlapping (a period may start on the day the
// previous one ended, as the DfE's rule 574 allows).
func ssda903Problems(periods []store.MissingPeriod, yearEnd time.Time) []ExportProblem {
	var out []ExportProblem
	add := func(p store.MissingPeriod, rule, field, reason string) {
		out = append(out, ExportProblem{EpisodeID: p.EpisodeID, Reference: p.Reference, Rule: rule, Field: field, Reason: reason})
	}
	byChild := map[string][]store.MissingPeriod{}
	var children []string
	for _, p := range periods {
		if p.LocalAuthorityChildID == "" {
			add(p, "child_id_missing", "CHILD", "the child has no local-authority child id")
		}
		if p.DateOfBirth == nil {
			add(p, "date_of_birth_missing", "DOB", "the child has no date of birth")
		}
		if missingCode[p.Category] == "" {
			add(p, "code_invalid", "MISSING", "the category must be missing or away_from_placement")
		}
		switch {
		case p.Start == nil:
			add(p, "start_missing", "MIS_START", "reported_missing_at is not recorded")
		case p.End.Before(*p.Start):
			add(p, "end_before_start", "MIS_END", "the return date is before the reported-missing date")
		case p.DateOfBirth != nil && p.Start.Before(*p.DateOfBirth):
			add(p, "start_before_date_of_birth", "MIS_START", "the reported-missing date is before the child's date of birth")
		default:
			key := p.LocalAuthorityChildID + "\x00" + p.ChildID
			if byChild[key] == nil {
				children = append(children, key)
			}
			byChild[key] = append(byChild[key], p)
		}
	}
	for _, key := range children {
		out = append(out, overlaps(byChild[key], yearEnd)...)
	}
	return out
}

// overlaps are the periods of one child that overlap another, by the
// dates the return holds: ordered by end (an end blanked at the year's
// end last) then start, a period overlaps an earlier one when it starts
// before that one ends.
func overlaps(ps []store.MissingPeriod, yearEnd time.Time) []ExportProblem {
	end := func(p store.MissingPeriod) time.Time {
		if p.End.After(yearEnd) {
			return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) // still missing at the year's end
		}
		return p.End
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if !end(ps[i]).Equal(end(ps[j])) {
			return end(ps[i]).Before(end(ps[j]))
		}
		return ps[i].Start.Before(*ps[j].Start)
	})
	var out []ExportProblem
	for j := range ps {
		for i := 0; i < j; i++ {
			if !ps[j].Start.Before(end(ps[i])) {
				continue
			}
			for _, pair := range [][2]store.MissingPeriod{{ps[i], ps[j]}, {ps[j], ps[i]}} {
				out = append(out, ExportProblem{EpisodeID: pair[0].EpisodeID, Reference: pair[0].Reference,
					Rule: "overlapping_periods", Field: "MIS_START",
					Reason: "overlaps the period of episode " + pair[1].Reference + " of the same child"})
			}
		}
	}
	return out
}

// annexAHeader names Annex A List 8's columns for the commissioner.
var annexAHeader = []string{
	"Child ID", "Missing episodes in the last 12 months", "Absent episodes in the last 12 months",
	"Offered a return interview after the last missing episode", "Accepted the return interview after the last missing episode",
}

func (h *handlers) annexAList8(c *gin.Context) {
	asOf, dayOK := parseDay(c.Query("as_of"))
	id, ok := h.exportCommissioner(c)
	if !ok {
		return
	}
	if !dayOK || asOf.After(today(h.now())) {
		invalid(c, problems{{Field: "as_of", Reason: "must be a date YYYY-MM-DD from 1900, not after today"}})
		return
	}
	children, err := h.Store.AnnexAList8(c.Request.Context(), id, asOf.AddDate(-1, 0, 0), asOf)
	if err != nil {
		h.serverError(c, "annex a list 8", err)
		return
	}
	rows := make([][]string, 0, len(children))
	for _, ch := range children {
		offered, accepted := list8Answers(ch.Last)
		rows = append(rows, []string{ch.LocalAuthorityChildID, strconv.Itoa(ch.Missing), strconv.Itoa(ch.Absent), offered, accepted})
	}
	sendCSV(c, "annex-a-list8-"+id+"-"+asOf.Format(time.DateOnly)+".csv", annexAHeader, rows)
}

// list8Answers are "offered" and "accepted" for the last missing episode:
// offered Yes once an offer was made, No when it ended without one,
// Unknown while open without one; accepted Yes when the offer was accepted
// or an interview held, No when declined, Unknown otherwise. Both are
// blank for a child with only absent episodes.
func list8Answers(last *store.LastMissing) (offered, accepted string) {
	if last == nil {
		return "", ""
	}
	switch {
	case last.Offered:
		offered = "Yes"
	case last.Ended:
		offered = "No"
	default:
		offered = "Unknown"
	}
	switch {
	case last.Accepted:
		accepted = "Yes"
	case last.Declined:
		accepted = "No"
	default:
		accepted = "Unknown"
	}
	return offered, accepted
}
