package web

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"homeward/episode"
)

// arrangementForm schedules, reschedules or records a missed interview.
var arrangementForm = outcomeForm{
	page: "interview/arrangement", tmpl: "arrangement", heading: "Arrange the interview", api: "/interview",
	notice: "The interview arrangement is recorded.",
	body: func(w *Web, v url.Values) (any, rename) {
		body := map[string]any{"outcome": v.Get("outcome")}
		if s := strings.TrimSpace(v.Get("scheduled_for")); s != "" {
			body["scheduled_for"] = w.instant(s)
		}
		setText(body, "venue", v, "venue")
		setText(body, "notes", v, "notes")
		return body, nil
	},
}

// arrangementOutcomes are the API's interview outcomes other than held.
var arrangementOutcomes = [][2]string{
	{string(episode.InterviewScheduled), "Scheduled"},
	{string(episode.InterviewRescheduled), "Rescheduled"},
	{string(episode.InterviewDidNotAttend), "The child did not attend"},
}

// interviewForm records the interview held and what it found.
var interviewForm = outcomeForm{
	page: "interview", tmpl: "interview", heading: "Record the interview", api: "/interview",
	notice: "The interview is recorded.",
	body:   (*Web).interviewBody,
	prefill: func(w *Web, f form) {
		f.Values.Set("held_at", w.localInput(w.now()))
	},
}

// interviewLists are the record's lists, typed one item a line.
var interviewLists = []string{"record.push_factors", "record.pull_factors", "record.follow_up_support", "record.referrals_made"}

// placeRows and personRows are how many places and people of concern the
// form offers; the API takes up to 20.
const placeRows, personRows = 3, 3

func (w *Web) interviewBody(v url.Values) (any, rename) {
	rec := map[string]any{}
	for _, l := range interviewLists {
		setLines(rec, strings.TrimPrefix(l, "record."), v, l)
	}
	ri := map[string]any{}
	for _, q := range riskQuestions() {
		if a := v.Get("record.risk_indicators." + q[0]); a != "" {
			ri[q[0]] = a
		}
	}
	rec["risk_indicators"] = ri
	for _, k := range []string{"where_child_was", "who_with", "what_happened", "safeguarding_details"} {
		setText(rec, k, v, "record."+k)
	}
	rec["harm_disclosed"] = v.Get("record.harm_disclosed") == "yes"
	rec["safeguarding_concern"] = v.Get("record.safeguarding_concern") == "yes"
	rows := map[string][]string{}
	if places, from := filledRows(v, "record.places", placeRows, "type", "name", "postcode_district"); len(places) > 0 {
		rec["places"], rows["record.places"] = places, from
	}
	if people, from := filledRows(v, "record.people_of_concern", personRows, "description"); len(people) > 0 {
		rec["people_of_concern"], rows["record.people_of_concern"] = people, from
	}
	body := map[string]any{"outcome": string(episode.InterviewHeld), "record": rec}
	if s := strings.TrimSpace(v.Get("held_at")); s != "" {
		body["held_at"] = w.instant(s)
	}
	setText(body, "venue", v, "venue")
	setText(body, "notes", v, "notes")
	return body, renames(interviewLists, rows)
}

// filledRows are the rows of prefix[i].key that have something typed,
// and the form's prefix of each, so the API's reasons find their row.
func filledRows(v url.Values, prefix string, n int, keys ...string) ([]map[string]any, []string) {
	var out []map[string]any
	var from []string
	for i := 0; i < n; i++ {
		p := prefix + "[" + strconv.Itoa(i) + "]"
		row := map[string]any{}
		for _, k := range keys {
			setText(row, k, v, p+"."+k)
		}
		if len(row) > 0 {
			out, from = append(out, row), append(from, p)
		}
	}
	return out, from
}

// riskWords are the risk indicators as a person asks them.
var riskWords = map[string]string{
	"gone_missing_before":                "Has the child gone missing before?",
	"often_away_without_authorisation":   "Is the child often away without permission?",
	"sexual_exploitation_or_trafficking": "Any sign of sexual exploitation or trafficking?",
	"hurt_or_harmed_while_away":          "Was the child hurt or harmed while away?",
	"criminal_exploitation_or_drugs":     "Any sign of criminal exploitation or drugs?",
	"contact_with_people_posing_risk":    "Was the child with people who may pose a risk?",
}

// riskQuestions are every risk indicator the episode asks (its field and
// words), read from the episode's own type so that none is left out.
func riskQuestions() [][2]string {
	t := reflect.TypeOf(episode.RiskIndicators{})
	qs := make([][2]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		words := riskWords[name]
		if words == "" {
			words = label(name) + "?"
		}
		qs = append(qs, [2]string{name, words})
	}
	return qs
}

// Choices of the interview forms, for the templates.
var (
	answerOptions = [][2]string{{string(episode.AnswerYes), "Yes"}, {string(episode.AnswerNo), "No"}, {string(episode.AnswerUnknown), "Unknown"}}
	yesNoOptions  = [][2]string{{"yes", "Yes"}, {"no", "No"}}
	placeTypes    = [][2]string{{"address", "Address"}, {"park", "Park"}, {"town_centre", "Town centre"},
		{"station", "Station"}, {"party", "Party"}, {"other", "Other"}}
)

func (outcomeData) RiskQuestions() [][2]string       { return riskQuestions() }
func (outcomeData) AnswerOptions() [][2]string       { return answerOptions }
func (outcomeData) YesNo() [][2]string               { return yesNoOptions }
func (outcomeData) PlaceTypes() [][2]string          { return placeTypes }
func (outcomeData) ArrangementOutcomes() [][2]string { return arrangementOutcomes }

// Rows are n repeated rows, for the templates: each one's index and
// its number as a person counts.
func (outcomeData) Rows(n int) [][2]string {
	r := make([][2]string, n)
	for i := range r {
		r[i] = [2]string{strconv.Itoa(i), strconv.Itoa(i + 1)}
	}
	return r
}

func (outcomeData) PlaceRows() int  { return placeRows }
func (outcomeData) PersonRows() int { return personRows }

// RiskAnswers are the held interview's risk indicators, each question
// with its answer in words ("Unknown" when unanswered).
func (d episodeData) RiskAnswers() [][2]string {
	iv := d.E.Interview
	if iv == nil || iv.Record == nil {
		return nil
	}
	v := reflect.ValueOf(iv.Record.RiskIndicators)
	qs := riskQuestions()
	out := make([][2]string, 0, len(qs))
	for i, q := range qs {
		a := v.Field(i).String()
		if a == "" {
			a = string(episode.AnswerUnknown)
		}
		out = append(out, [2]string{q[1], label(a)})
	}
	return out
}
