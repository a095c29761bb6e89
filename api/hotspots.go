package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"homeward/store"
)

// Hot spots: the places children went to while away and the people of
// concern they were with, ranked across a commissioner's held interviews.
// Managers and admins see the details; the form for the safeguarding
// partnership (?for=partnership, the only form a commissioner officer
// gets) holds no free text and no count below PartnershipMinimum.

// PartnershipMinimum is the smallest count the partnership form shows: a
// row naming fewer children is left out whole, so no child can be
// identified from it. (A row with 5 children has at least 5 episodes.)
const PartnershipMinimum = 5

func (h *handlers) hotspotRoutes(v1 *gin.RouterGroup) {
	v1.GET("/reports/hotspots", allow(store.RoleManager, store.RoleAdmin, store.RoleCommissionerOfficer), h.hotspots)
}

// HotspotPlace is one row of places: by name for managers; by type and
// postcode district only in the partnership form.
type HotspotPlace struct {
	Type             string `json:"type"`
	Name             string `json:"name,omitempty"`
	PostcodeDistrict string `json:"postcode_district"`
	Children         int    `json:"children"`
	Episodes         int    `json:"episodes"`
}

// HotspotPerson is one person of concern: their id and description for
// managers; in the partnership form only Person, their rank in it.
type HotspotPerson struct {
	Person      int    `json:"person,omitempty"`
	PersonID    string `json:"person_id,omitempty"`
	Description string `json:"description,omitempty"`
	Children    int    `json:"children"`
	Episodes    int    `json:"episodes"`
}

// Hotspots is the report.
type Hotspots struct {
	CommissionerID string          `json:"commissioner_id"`
	From           string          `json:"from"`
	To             string          `json:"to"`
	For            string          `json:"for"` // managers or partnership
	Places         []HotspotPlace  `json:"places"`
	People         []HotspotPerson `json:"people"`
}

func (h *handlers) hotspots(c *gin.Context) {
	from, to, p := reportPeriod(c)
	form := c.DefaultQuery("for", "managers")
	if form != "managers" && form != "partnership" {
		p.add("for", "must be managers or partnership")
	}
	if len(p) > 0 {
		invalid(c, p)
		return
	}
	if form != "partnership" && currentUser(c).Role == store.RoleCommissionerOfficer {
		abort(c, http.StatusForbidden, "Commissioner officers receive the safeguarding partnership's form.",
			Detail{Field: "for", Reason: "must be partnership for a commissioner officer"})
		return
	}
	id, ok := h.exportCommissioner(c)
	if !ok {
		return
	}
	partnership := form == "partnership"
	ctx := c.Request.Context()
	places, err := h.Store.HotspotPlaces(ctx, id, from, to, partnership)
	if err != nil {
		h.serverError(c, "hotspot places", err)
		return
	}
	people, err := h.Store.HotspotPeople(ctx, id, from, to)
	if err != nil {
		h.serverError(c, "hotspot people", err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, Hotspots{CommissionerID: id, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		For: form, Places: hotspotPlaces(places, partnership), People: hotspotPeople(people, partnership)})
}

// reportPeriod reads from and to, calendar dates with from not after to.
func reportPeriod(c *gin.Context) (from, to time.Time, p problems) {
	from, okFrom := parseDay(c.Query("from"))
	if !okFrom {
		p.add("from", dayReason)
	}
	to, okTo := parseDay(c.Query("to"))
	if !okTo {
		p.add("to", dayReason)
	}
	if okFrom && okTo && to.Before(from) {
		p.add("to", "must not be before from")
	}
	return from, to, p
}

func hotspotPlaces(in []store.HotspotPlace, partnership bool) []HotspotPlace {
	out := []HotspotPlace{}
	for _, p := range in {
		if partnership && p.Children < PartnershipMinimum {
			continue
		}
		out = append(out, HotspotPlace{Type: p.Type, Name: p.Name, PostcodeDistrict: p.PostcodeDistrict,
			Children: p.Children, Episodes: p.Episodes})
	}
	return out
}

func hotspotPeople(in []store.HotspotPerson, partnership bool) []HotspotPerson {
	out := []HotspotPerson{}
	for _, p := range in {
		switch {
		case !partnership:
			out = append(out, HotspotPerson{PersonID: p.PersonID, Description: p.Description, Children: p.Children, Episodes: p.Episodes})
		case p.Children >= PartnershipMinimum:
			out = append(out, HotspotPerson{Person: len(out) + 1, Children: p.Children, Episodes: p.Episodes})
		}
	}
	return out
}
