package web

import (
	"net/url"
	"strconv"
	"strings"

	"homeward/episode"
	"homeward/store"
)

// followUpForm records the one-week follow-up. With an action plan it
// reviews each action not yet settled: the form carries their numbers
// ("review_action") and each one's review as "review.<n>.<field>".
var followUpForm = outcomeForm{
	page: "follow-up", tmpl: "followup", heading: "Record the follow-up", api: "/follow-up",
	notice: "The follow-up is recorded.",
	body: func(w *Web, v url.Values) (any, rename) {
		body := map[string]any{"outcome": strings.TrimSpace(v.Get("outcome"))}
		if s := strings.TrimSpace(v.Get("completed_at")); s != "" {
			body["completed_at"] = w.instant(s)
		}
		setLines(body, "actions_taken", v, "actions_taken")
		var reviews []map[string]any
		var from []string
		for _, n := range v["review_action"] {
			seq, err := strconv.Atoi(n)
			if err != nil {
				continue
			}
			p := "review." + n
			r := map[string]any{"action": seq, "outcome": v.Get(p + ".outcome")}
			setText(r, "reason", v, p+".reason")
			if s := strings.TrimSpace(v.Get(p + ".carried_forward_to")); s != "" {
				r["carried_forward_to"] = w.instant(s)
			}
			reviews, from = append(reviews, r), append(from, p)
		}
		if len(reviews) > 0 {
			body["action_reviews"] = reviews
		}
		return body, renames([]string{"actions_taken"}, map[string][]string{"action_reviews": from})
	},
	prefill: func(w *Web, f form) {
		f.Values.Set("completed_at", w.localInput(w.now()))
	},
}

// reviewOutcomes are what a follow-up may say of an action.
var reviewOutcomes = [][2]string{
	{string(episode.ActionDone), "Done"},
	{string(episode.ActionNotDone), "Not done"},
	{string(episode.ActionCarriedForward), "Carried forward"},
}

func (outcomeData) ReviewOutcomes() [][2]string { return reviewOutcomes }

// ToReview are the plan's actions not yet done or carried forward.
func (d outcomeData) ToReview() []store.ActionView {
	if d.E.ActionPlan == nil {
		return nil
	}
	var out []store.ActionView
	for _, a := range d.E.ActionPlan.Actions {
		if !a.Status.Settled() {
			out = append(out, a)
		}
	}
	return out
}

// actionPlanForm records the plan agreed after the interview: who does
// what by when, one row an action ("actions[i].<field>").
var actionPlanForm = outcomeForm{
	page: "action-plan", tmpl: "actionplan", heading: "Record the action plan", api: "/action-plan",
	notice: "The action plan is recorded.",
	body: func(w *Web, v url.Values) (any, rename) {
		actions := []map[string]any{}
		var from []string
		for i := 0; i < actionRows; i++ {
			p := "actions[" + strconv.Itoa(i) + "]"
			a := map[string]any{}
			for _, k := range []string{"what", "owner", "owner_email"} {
				setText(a, k, v, p+"."+k)
			}
			if s := strings.TrimSpace(v.Get(p + ".due_at")); s != "" {
				a["due_at"] = w.instant(s)
			}
			if len(a) > 0 {
				actions, from = append(actions, a), append(from, p)
			}
		}
		return map[string]any{"actions": actions}, renames(nil, map[string][]string{"actions": from})
	},
}

// actionRows is how many actions the plan form offers; the API takes 20.
const actionRows = 4

func (outcomeData) ActionRows() int { return actionRows }
