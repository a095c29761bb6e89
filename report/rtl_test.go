package report

import "testing"

// The PDF shows glyphs in the order given: right-to-left words must be
// handed over reversed, Arabic letters in their joined forms.
func TestVisualOrder(t *testing.T) {
	for _, c := range []struct {
		text string
		rtl  bool
		want string
	}{
		{"With whom: שלום עליכם and Zoë", false, "With whom: םכילע םולש and Zoë"},
		{"שלום 12 Zoë", true, "12 Zoë םולש"},
		{"محمد", true, "\uFEAA\uFEE4\uFEA4\uFEE3"},             // meem initial, hah medial, meem medial, dal final, read from the right
		{"שלום (by 5 April)", true, "(by 5 April) םולש"},       // brackets mirror when set right to left
		{"لا", true, "\uFEFB"},                                 // lam-alef, one glyph
		{"سلا", true, "\uFEFC\uFEB3"},                          // seen initial, lam-alef final
		{"(owner: دار)", false, "(owner: \uFEAD\uFE8D\uFEA9)"}, // dal and alef join nothing after them
	} {
		if got := visualOrder(c.text, c.rtl); got != c.want {
			t.Errorf("visualOrder(%q) = %q (%U), want %q", c.text, got, []rune(got), c.want)
		}
	}
}
