package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"homeward/episode"
)

// queueHotspots writes the places and people of concern of each held
// interview not written yet. A person without a person_id becomes a new
// person of concern whose id is derived from the interview that named them
// (the reference of the episode it was recorded on, its held_at and the
// person's position), so the episodes a shared interview covered, and a
// repeated save, link the same new person instead of making another.
func queueHotspots(b *pgx.Batch, id string, st episode.State) {
	iv := st.Interview
	if iv == nil {
		return
	}
	origin := iv.SharedFrom
	if origin == "" {
		origin = st.Reference
	}
	if origin == "" {
		origin = episode.Reference(id)
	}
	for _, h := range iv.History {
		r, held := h.Update.Record, h.Update.HeldAt
		if h.Update.Outcome != episode.InterviewHeld || r == nil || held == nil {
			continue
		}
		for i, p := range r.Places {
			b.Queue(`INSERT INTO interview_places (episode_id, seq, idx, place_type, name, postcode_district, held_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (episode_id, seq, idx) DO NOTHING`,
				id, h.Seq, i, string(p.Type), strings.TrimSpace(p.Name), strings.ToUpper(p.PostcodeDistrict), held.UTC())
		}
		for i, p := range r.PeopleOfConcern {
			person, known := parseID(p.PersonID)
			if !known {
				person = newPersonID(origin, held.UTC().Format(time.RFC3339Nano), i)
			}
			// A known person is already there (the API checked); writing it
			// when missing keeps a projection from failing for ever on one.
			b.Queue(`INSERT INTO people_of_concern (id, commissioner_id, description)
				VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
				person, nullableID(st.CommissionerID), strings.TrimSpace(p.Description))
			b.Queue(`INSERT INTO interview_people (episode_id, seq, idx, person_id, description, held_at)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (episode_id, seq, idx) DO NOTHING`,
				id, h.Seq, i, person, strings.TrimSpace(p.Description), held.UTC())
		}
	}
}

// newPersonID is the id of the new person of concern named at position i
// of the interview held at held on the episode with reference origin.
func newPersonID(origin, held string, i int) string {
	return uuid.NewSHA1(personNamespace, fmt.Appendf(nil, "%s\x00%s\x00%d", origin, held, i)).String()
}

var personNamespace = uuid.MustParse("0c5a3f6e-2d7b-4e1a-8b9c-5f4e3d2c1b0a")

// PersonOfConcernKnown reports whether id names a person of concern of
// commissionerID ("" for the provider's own episodes). It reads with the
// store's own login: an interviewer may match a person first named in an
// episode they cannot see.
func (s *Store) PersonOfConcernKnown(ctx context.Context, id, commissionerID string) (bool, error) {
	pid, ok := parseID(id)
	if !ok {
		return false, nil
	}
	var one int
	err := s.Pool.QueryRow(ctx, `SELECT 1 FROM people_of_concern
		WHERE id = $1 AND commissioner_id IS NOT DISTINCT FROM $2`, pid, nullableID(commissionerID)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap("person of concern", err)
}

// Hot spots are read with the store's own login, scoped to one
// commissioner in SQL, as the statutory exports are: commissioner
// officers see no case rows under row-level security. The period is the
// interviews' held_at, by Europe/London calendar dates, from and to
// inclusive. An episode without a child record counts as a child of its
// own; one closed as opened in error or a duplicate is left out, as the
// exports leave it out.

// HotspotPlace is a place (or, by district, every place of a type in one
// postcode district) with the children and episodes it was named for.
type HotspotPlace struct {
	Type             string
	Name             string // "" when by district
	PostcodeDistrict string
	Children         int
	Episodes         int
}

// HotspotPerson is a person of concern with the children and episodes
// whose interviews named them.
type HotspotPerson struct {
	PersonID    string
	Description string
	Children    int
	Episodes    int
}

const hotspotPeriod = `e.commissioner_id = $1
	AND (x.held_at AT TIME ZONE 'Europe/London')::date BETWEEN $2::date AND $3::date
	AND COALESCE(e.state->'closure'->>'reason', '') NOT IN ('opened_in_error', 'duplicate')`

// HotspotPlaces ranks the places held interviews of commissionerID named
// in the period by distinct children, then episodes. Places of one type
// and district with the same name in any case are one place; byDistrict
// groups by type and postcode district only, leaving names out.
func (s *Store) HotspotPlaces(ctx context.Context, commissionerID string, from, to time.Time, byDistrict bool) ([]HotspotPlace, error) {
	cid, ok := parseID(commissionerID)
	if !ok {
		return nil, nil
	}
	rows, err := s.Pool.Query(ctx, `SELECT x.place_type, CASE WHEN $4 THEN '' ELSE min(x.name) END, x.postcode_district,
			count(DISTINCT COALESCE(e.child_id, e.id)), count(DISTINCT e.id)
		FROM interview_places x JOIN episodes e ON e.id = x.episode_id
		WHERE `+hotspotPeriod+`
		GROUP BY x.place_type, x.postcode_district, CASE WHEN $4 THEN '' ELSE lower(x.name) END
		ORDER BY 4 DESC, 5 DESC, 1, 3, 2`, cid, from.Format(time.DateOnly), to.Format(time.DateOnly), byDistrict)
	if err != nil {
		return nil, wrap("hotspot places", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (HotspotPlace, error) {
		var p HotspotPlace
		return p, r.Scan(&p.Type, &p.Name, &p.PostcodeDistrict, &p.Children, &p.Episodes)
	})
	return out, wrap("hotspot places", err)
}

// HotspotPeople ranks the people of concern of commissionerID named in the
// period by distinct children, then episodes, then who was known first.
func (s *Store) HotspotPeople(ctx context.Context, commissionerID string, from, to time.Time) ([]HotspotPerson, error) {
	cid, ok := parseID(commissionerID)
	if !ok {
		return nil, nil
	}
	rows, err := s.Pool.Query(ctx, `SELECT pc.id::text, pc.description,
			count(DISTINCT COALESCE(e.child_id, e.id)), count(DISTINCT e.id)
		FROM interview_people x JOIN episodes e ON e.id = x.episode_id
		JOIN people_of_concern pc ON pc.id = x.person_id AND pc.commissioner_id = e.commissioner_id
		WHERE `+hotspotPeriod+`
		GROUP BY pc.id
		ORDER BY 3 DESC, 4 DESC, pc.created_at, pc.id`, cid, from.Format(time.DateOnly), to.Format(time.DateOnly))
	if err != nil {
		return nil, wrap("hotspot people", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (HotspotPerson, error) {
		var p HotspotPerson
		return p, r.Scan(&p.PersonID, &p.Description, &p.Children, &p.Episodes)
	})
	return out, wrap("hotspot people", err)
}
