package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"homeward/episode"
	"homeward/store"
)

// An interview held on one episode and shared with another episode of the
// child names a new person of concern: both episodes link the same person,
// and saving again writes nothing twice. A person matched by person_id in a
// later interview is that person.
func TestSaveEpisodeProjectsPlacesAndPeople(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxT(t)
	c, err := s.CreateCommissioner(ctx, "Leeds")
	if err != nil {
		t.Fatal(err)
	}
	held := t0.Add(30 * time.Hour)
	record := &episode.InterviewRecord{
		Places:          []episode.Place{{Type: episode.PlacePark, Name: " Roundhay Park ", PostcodeDistrict: "ls8"}},
		PeopleOfConcern: []episode.PersonOfConcern{{Description: "Tall Tom"}},
	}
	// open opens an episode; offered, its interview was offered and accepted.
	open := func(ref episode.Referral, offered bool) *episode.State {
		st := episode.New(uuid.NewString(), ref, episode.DefaultPolicy(), "c", t0)
		st.CommissionerID = c.ID
		if offered {
			at := t0.Add(time.Hour)
			apply(t, st, attempt("iv", episode.MethodText, episode.OutcomeReachedOffered, at), at)
		}
		return st
	}
	ref := referral(t0)
	primary := open(ref, true)
	save(t, s, snapshot(t, primary), &ref)
	ref2 := referral(t0)
	ref2.Child = episode.Child{ID: store.ChildIDForEpisode(primary.EpisodeID), FirstName: "Amy"}
	covered := open(ref2, false) // a shared interview needs no offer of its own
	save(t, s, snapshot(t, covered), &ref2)

	apply(t, primary, interview("iv", episode.InterviewUpdate{Outcome: episode.InterviewHeld, HeldAt: &held, Record: record}, held), held)
	apply(t, covered, episode.Event{Type: episode.EventSharedInterview, Actor: "iv", RecordedAt: held,
		Shared: &episode.SharedInterview{Primary: primary.EpisodeID, PrimaryReference: primary.Reference, HeldAt: held, Record: record}}, held)
	for _, st := range []*episode.State{primary, covered} {
		v := snapshot(t, st)
		save(t, s, v, nil)
		v.Version++ // a later snapshot still holding the entry
		save(t, s, v, nil)
	}
	if n := count(t, s, "people_of_concern"); n != 1 {
		t.Errorf("%d people of concern, want the one both episodes named", n)
	}
	if n := count(t, s, "interview_people"); n != 2 {
		t.Errorf("%d links to people, want one per episode", n)
	}
	day := held.Truncate(24 * time.Hour)
	people, err := s.HotspotPeople(ctx, c.ID, day, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != 1 || people[0].Children != 1 || people[0].Episodes != 2 || people[0].Description != "Tall Tom" {
		t.Fatalf("people = %+v, want Tall Tom with 1 child, 2 episodes", people)
	}
	places, err := s.HotspotPlaces(ctx, c.ID, day, day, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(places) != 1 || places[0].Name != "Roundhay Park" || places[0].PostcodeDistrict != "LS8" || places[0].Episodes != 2 {
		t.Errorf("places = %+v, want Roundhay Park, LS8, 2 episodes", places)
	}

	// Another child's interview matches Tom by id.
	if known, err := s.PersonOfConcernKnown(ctx, people[0].PersonID, c.ID); err != nil || !known {
		t.Fatalf("PersonOfConcernKnown(Tom) = %v, %v", known, err)
	}
	if known, _ := s.PersonOfConcernKnown(ctx, people[0].PersonID, uuid.NewString()); known {
		t.Error("Tom is known to another commissioner")
	}
	ref3 := referral(t0)
	ref3.Child.DateOfBirth = "2011-01-01"
	other := open(ref3, true)
	save(t, s, snapshot(t, other), &ref3)
	apply(t, other, interview("iv", episode.InterviewUpdate{Outcome: episode.InterviewHeld, HeldAt: &held,
		Record: &episode.InterviewRecord{PeopleOfConcern: []episode.PersonOfConcern{{PersonID: people[0].PersonID, Description: "Tom"}}}}, held), held)
	save(t, s, snapshot(t, other), nil)
	people, err = s.HotspotPeople(ctx, c.ID, day, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != 1 || people[0].Children != 2 || people[0].Episodes != 3 {
		t.Errorf("people = %+v, want Tall Tom with 2 children, 3 episodes", people)
	}
}
