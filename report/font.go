package report

import (
	_ "embed"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
)

// DejaVu Sans covers the Latin, Greek, Cyrillic, Arabic and Hebrew letters
// the names of the children we see are written in; the core PDF fonts stop
// at Windows-1252 and print "Łukasz" as ".ukasz". Vendored from Debian's
// fonts-dejavu-core with its licence, so a build needs no font installed.
var (
	//go:embed fonts/DejaVuSans.ttf
	sansRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	sansBold []byte
)

const family = "DejaVuSans"

// newPDF starts an A4 document with the Unicode font loaded.
func newPDF(title string) *fpdf.Fpdf {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(family, "", sansRegular)
	pdf.AddUTF8FontFromBytes(family, "B", sansBold)
	pdf.SetTitle(title, true)
	return pdf
}

// paragraph writes one block of text in the order a reader reads it;
// a block mostly in a right-to-left script is set from the right margin.
func paragraph(pdf *fpdf.Fpdf, h float64, text string) {
	rtl := rightToLeft(text)
	align := "L"
	if rtl {
		align = "R"
	}
	left, _, right, _ := pdf.GetMargins()
	width, _ := pdf.GetPageSize()
	for _, line := range pdf.SplitText(text, width-left-right) {
		pdf.CellFormat(0, h, visualOrder(line, rtl), "", 1, align, false, 0, "")
	}
}

// rightToLeft says whether the text's first letter is in a right-to-left
// script, as the Unicode bidirectional algorithm sets a paragraph's
// direction: "- With whom: محمد" stays left to right, "- قال" does not.
func rightToLeft(text string) bool {
	for _, r := range text {
		if isRTL(r) {
			return true
		}
		if unicode.IsLetter(r) {
			return false
		}
	}
	return false
}
