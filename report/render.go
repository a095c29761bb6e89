package report

import (
	"bytes"
	"html/template"
)

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Return report {{.Reference}}</title></head>
<body>
<header><p><strong>{{.Marking}}</strong></p><p>Return report {{.Reference}}</p></header>
{{range .Sections}}<section><h2>{{.Title}}</h2><ul>{{range .Lines}}<li>{{.}}</li>{{end}}</ul></section>
{{end}}</body></html>
`))

// HTML renders the report as a web page; html/template escapes every line.
func HTML(r Report) (string, error) {
	var b bytes.Buffer
	err := page.Execute(&b, struct {
		Report
		Marking string
	}{r, Marking})
	return b.String(), err
}

// PDF renders the report with the marking and the reference on every page.
func PDF(r Report) ([]byte, error) {
	pdf := newPDF("Return report " + r.Reference)
	pdf.SetHeaderFunc(func() {
		pdf.SetFont(family, "B", 10)
		pdf.CellFormat(0, 6, Marking, "", 1, "C", false, 0, "")
		pdf.SetFont(family, "", 9)
		pdf.CellFormat(0, 6, "Return report "+r.Reference, "B", 1, "C", false, 0, "")
		pdf.Ln(4)
	})
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont(family, "", 8)
		pdf.CellFormat(0, 6, Marking, "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	for _, s := range r.Sections {
		pdf.SetFont(family, "B", 12)
		paragraph(pdf, 7, s.Title)
		pdf.SetFont(family, "", 10)
		for _, l := range s.Lines {
			paragraph(pdf, 5, "- "+l)
		}
		pdf.Ln(3)
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
