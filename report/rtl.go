package report

import (
	"slices"
	"unicode"
)

// A PDF shows glyphs left to right as they are given, with no shaping:
// Arabic and Hebrew written into it in reading order come out backwards and,
// for Arabic, as a row of unjoined letters. visualOrder gives the glyphs in
// the order they must appear, with Arabic letters in their joined forms.

// arabicLetters lists the letters of the Arabic Presentation Forms-B block
// (U+FE80 on) in the block's order, with how many forms each has there:
// 1 isolated only, 2 isolated and final (joins to the letter before only),
// 4 isolated, final, initial and medial (joins on both sides).
var arabicLetters = []struct {
	letter rune
	forms  int
}{
	{'ء', 1}, {'آ', 2}, {'أ', 2}, {'ؤ', 2}, {'إ', 2}, {'ئ', 4}, {'ا', 2}, {'ب', 4},
	{'ة', 2}, {'ت', 4}, {'ث', 4}, {'ج', 4}, {'ح', 4}, {'خ', 4}, {'د', 2}, {'ذ', 2},
	{'ر', 2}, {'ز', 2}, {'س', 4}, {'ش', 4}, {'ص', 4}, {'ض', 4}, {'ط', 4}, {'ظ', 4},
	{'ع', 4}, {'غ', 4}, {'ف', 4}, {'ق', 4}, {'ك', 4}, {'ل', 4}, {'م', 4}, {'ن', 4},
	{'ه', 4}, {'و', 2}, {'ى', 2}, {'ي', 4},
}

type arabicForms struct {
	isolated rune
	forms    int
}

var presentation = func() map[rune]arabicForms {
	m := map[rune]arabicForms{}
	next := rune(0xFE80)
	for _, l := range arabicLetters {
		m[l.letter] = arabicForms{isolated: next, forms: l.forms}
		next += rune(l.forms)
	}
	return m
}()

// lamAlef are the required ligatures of lam followed by an alef, isolated
// (the final form is one more).
var lamAlef = map[rune]rune{'آ': 0xFEF5, 'أ': 0xFEF7, 'إ': 0xFEF9, 'ا': 0xFEFB}

// shapeArabic replaces each Arabic letter by the form its neighbours call
// for, in reading order.
func shapeArabic(text []rune) []rune {
	joinsForward := func(i int) bool { // letter i joins the one after it
		f, ok := presentation[text[i]]
		return ok && f.forms == 4
	}
	out := make([]rune, 0, len(text))
	for i := 0; i < len(text); i++ {
		f, ok := presentation[text[i]]
		if !ok {
			out = append(out, text[i])
			continue
		}
		afterJoiner := i > 0 && joinsForward(i-1)
		if text[i] == 'ل' && i+1 < len(text) {
			if lig, ok := lamAlef[text[i+1]]; ok {
				if afterJoiner {
					lig++
				}
				out = append(out, lig)
				i++
				continue
			}
		}
		beforeJoin := f.forms == 4 && i+1 < len(text) && presentation[text[i+1]].forms > 1
		out = append(out, f.isolated+form(f.forms, afterJoiner, beforeJoin))
	}
	return out
}

// form is the offset from the isolated form: final 1, initial 2, medial 3.
func form(forms int, afterJoiner, beforeJoin bool) rune {
	switch {
	case forms == 1:
		return 0
	case afterJoiner && beforeJoin:
		return 3
	case afterJoiner:
		return 1
	case beforeJoin:
		return 2
	}
	return 0
}

func isRTL(r rune) bool {
	return unicode.In(r, unicode.Arabic, unicode.Hebrew, unicode.Syriac, unicode.Thaana, unicode.Nko)
}

// visualOrder gives one line's glyphs left to right. In a left-to-right
// line each run of right-to-left words is reversed in place; in a
// right-to-left line the whole line is reversed and each run of
// left-to-right words and digits within it put back in reading order.
func visualOrder(text string, rtlLine bool) string {
	runes := shapeArabic([]rune(text))
	if rtlLine {
		reverse(runes)
		reverseRuns(runes, func(r rune) bool { return !isRTL(r) && (unicode.IsLetter(r) || unicode.IsDigit(r)) })
	} else {
		reverseRuns(runes, isRTL)
	}
	return string(runes)
}

// reverseRuns reverses each stretch that starts and ends with a rune of
// the kind, spaces and punctuation between them included.
func reverseRuns(runes []rune, kind func(rune) bool) {
	for i := 0; i < len(runes); {
		if !kind(runes[i]) {
			i++
			continue
		}
		end, j := i, i
		for ; j < len(runes) && (kind(runes[j]) || !unicode.IsLetter(runes[j]) && !unicode.IsDigit(runes[j])); j++ {
			if kind(runes[j]) {
				end = j
			}
		}
		reverse(runes[i : end+1])
		i = end + 1
	}
}

var mirrored = map[rune]rune{'(': ')', ')': '(', '[': ']', ']': '[', '{': '}', '}': '{', '<': '>', '>': '<', '«': '»', '»': '«'}

// reverse turns a stretch of text the other way, brackets mirrored, as
// "(by 5 April)" must still open on its left when set right to left.
func reverse(runes []rune) {
	slices.Reverse(runes)
	for i, r := range runes {
		if m, ok := mirrored[r]; ok {
			runes[i] = m
		}
	}
}
