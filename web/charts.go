package web

import (
	"strconv"
	"strings"
)

// The overview's charts are drawn here as plain SVG: a few horizontal
// bars, styled by classes from charts.css (no inline style, no script),
// each with a title, a description and a table of the same numbers.

const (
	chartWidth  = 480
	chartLabelW = 170 // the labels' column
	chartValueW = 60  // room for the value after the longest bar
	chartRowH   = 28
	chartBarH   = 18
)

// chart is one bar chart.
type chart struct {
	ID, Title, Desc string
	LabelHeading    string // the table's column of labels
	ValueHeading    string // the table's column of values
	Bars            []bar
	Height          int
}

// bar is one bar: Label and Value as shown (Value "—" when nothing was
// there to measure); the rest is where it is drawn.
type bar struct {
	Label, Value       string
	Y, Width, TextY    int
	ValueX, BarX, BarH int
}

// datum is one figure of a chart; N nil is nothing to measure.
type datum struct {
	Label string
	N     *float64
}

// newChart lays the bars out against top, the value of a full bar (the
// largest value when top is 0). suffix follows each value, e.g. "%".
func newChart(id, title, labelHeading, valueHeading, suffix string, top float64, data []datum) chart {
	for _, d := range data {
		if d.N != nil && *d.N > top {
			top = *d.N
		}
	}
	c := chart{ID: id, Title: title, LabelHeading: labelHeading, ValueHeading: valueHeading, Height: max(len(data), 1) * chartRowH}
	span := float64(chartWidth - chartLabelW - chartValueW)
	var words []string
	for i, d := range data {
		b := bar{Label: d.Label, Value: "—", Y: i*chartRowH + (chartRowH-chartBarH)/2, TextY: i*chartRowH + chartRowH/2 + 5,
			BarX: chartLabelW, BarH: chartBarH}
		if d.N != nil {
			b.Value = strconv.FormatFloat(*d.N, 'f', -1, 64) + suffix
			if top > 0 {
				b.Width = int(span * *d.N / top)
			}
		}
		b.ValueX = chartLabelW + b.Width + 6
		c.Bars = append(c.Bars, b)
		words = append(words, d.Label+": "+b.Value)
	}
	c.Desc = strings.Join(words, "; ") + "."
	if len(data) == 0 {
		c.Desc = "Nothing to show."
	}
	return c
}

func count(n int) *float64 { f := float64(n); return &f }
