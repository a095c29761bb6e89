package web

import (
	"net/url"
	"strings"

	"homeward/episode"
)

// agreementForm records what was explained to the child about
// confidentiality and what will be shared with whom. Each party the API
// knows is a checkbox ("shared_with") and what is shared with it a text
// ("what.<party>").
var agreementForm = outcomeForm{
	page: "agreement", tmpl: "agreement", heading: "Record the agreement", api: "/agreement",
	notice: "The agreement is recorded.",
	body: func(w *Web, v url.Values) (any, rename) {
		chosen := map[string]bool{}
		for _, p := range v["shared_with"] {
			chosen[p] = true
		}
		shared := []map[string]any{}
		var from []string
		for _, p := range episode.Parties {
			if chosen[string(p)] {
				shared = append(shared, map[string]any{"party": string(p), "what": strings.TrimSpace(v.Get("what." + string(p)))})
				from = append(from, "what."+string(p))
			}
		}
		body := map[string]any{
			"confidentiality_explained": v.Get("confidentiality_explained") == "true",
			"child_told_before_sharing": v.Get("child_told_before_sharing") == "true",
			"shared_with":               shared,
		}
		setText(body, "notes", v, "notes")
		return body, agreementRename(from)
	},
}

// agreementRename: a party's reason goes beside what is shared with it,
// except a bad party, which goes to the list of parties.
func agreementRename(from []string) rename {
	rn := renames(nil, map[string][]string{"shared_with": from})
	return func(field string) string {
		f := rn(field)
		if strings.HasSuffix(f, ".party") {
			return "shared_with"
		}
		if p, ok := strings.CutPrefix(f, "what."); ok && strings.HasSuffix(p, ".what") {
			return strings.TrimSuffix(f, ".what")
		}
		return f
	}
}

// partyWords are the parties as the form names them.
var partyWords = map[episode.Party]string{
	episode.PartySocialWorker:    "The child's social worker",
	episode.PartyParentsOrCarers: "Parents or carers",
	episode.PartyPolice:          "The police",
	episode.PartySchool:          "School",
	episode.PartyHealth:          "Health services",
}

// Parties are every party the API knows, with their words.
func (outcomeData) Parties() [][2]string {
	out := make([][2]string, 0, len(episode.Parties))
	for _, p := range episode.Parties {
		words := partyWords[p]
		if words == "" {
			words = label(string(p))
		}
		out = append(out, [2]string{string(p), words})
	}
	return out
}

// Chosen reports whether value was ticked in the multi-valued field.
func (f form) Chosen(field, value string) bool {
	for _, v := range f.Values[field] {
		if v == value {
			return true
		}
	}
	return false
}

// SafeguardingRecorded reports whether the held interview recorded a
// safeguarding concern, which is always shared.
func (d outcomeData) SafeguardingRecorded() bool {
	iv := d.E.Interview
	return iv != nil && iv.Record != nil && iv.Record.SafeguardingConcern
}
