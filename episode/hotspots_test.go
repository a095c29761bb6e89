package episode

import (
	"strings"
	"testing"
	"time"
)

// The places and people of a held interview's record are bounded and
// named field by field; postcode districts are checked loosely.
func TestRecordPlacesAndPeopleLimits(t *testing.T) {
	held := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	check := func(r InterviewRecord) map[string]bool {
		ev := Event{Type: EventInterview, RecordedAt: held.Add(time.Hour),
			Interview: &InterviewUpdate{Outcome: InterviewHeld, HeldAt: &held, Record: &r}}
		got := map[string]bool{}
		for _, p := range ev.Validate() {
			got[p.Field] = true
		}
		return got
	}
	ok := InterviewRecord{
		Places: []Place{{Type: PlacePark, Name: "Roundhay Park", PostcodeDistrict: "LS8"}, {Type: PlaceStation, PostcodeDistrict: "ec1a"},
			{Type: PlaceTownCentre, PostcodeDistrict: "M1"}, {Type: PlaceAddress, Name: "a flat"}},
		PeopleOfConcern: []PersonOfConcern{{Description: "Tall Tom"}, {PersonID: "0c5a3f6e-2d7b-4e1a-8b9c-5f4e3d2c1b0a", Description: "Tom"}},
	}
	if got := check(ok); len(got) != 0 {
		t.Errorf("a valid record has problems %v", got)
	}
	bad := InterviewRecord{
		Places: []Place{{Type: "pub", Name: "x"}, {Type: PlaceOther}, {Type: PlacePark, Name: strings.Repeat("a", MaxShortText+1)},
			{Type: PlacePark, PostcodeDistrict: "LS1 4AB"}, {Type: PlacePark, PostcodeDistrict: "123"}},
		PeopleOfConcern: []PersonOfConcern{{Description: " "}, {Description: strings.Repeat("a", MaxShortText+1)},
			{PersonID: "tom", Description: "Tom"}},
	}
	got := check(bad)
	for _, f := range []string{"record.places[0].type", "record.places[1].name", "record.places[2].name",
		"record.places[3].postcode_district", "record.places[4].postcode_district",
		"record.people_of_concern[0].description", "record.people_of_concern[1].description", "record.people_of_concern[2].person_id"} {
		if !got[f] {
			t.Errorf("no problem names %s: %v", f, got)
		}
	}
	if len(got) != 8 {
		t.Errorf("problems %v, want exactly the eight", got)
	}
	many := InterviewRecord{Places: make([]Place, MaxItems+1), PeopleOfConcern: make([]PersonOfConcern, MaxItems+1)}
	if got := check(many); !got["record.places"] || !got["record.people_of_concern"] || len(got) != 2 {
		t.Errorf("over %d places and people: problems %v", MaxItems, got)
	}
}
