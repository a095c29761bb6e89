package api

import (
	"bytes"
	"encoding/csv"
	"strings"
)

// formulaStarts are what make a spreadsheet read a cell as a formula (and
// run it) when the file is opened.
const formulaStarts = "=+-@\t\r"

// spreadsheetSafe is v as a cell no spreadsheet runs: one that starts like
// a formula gets a leading apostrophe, which spreadsheets show as text.
func spreadsheetSafe(v string) string {
	if v != "" && strings.ContainsRune(formulaStarts, rune(v[0])) {
		return "'" + v
	}
	return v
}

// csvBytes writes the header and rows as CSV, every cell spreadsheet-safe:
// an export is opened in Excel by the people it is for.
func csvBytes(header []string, rows [][]string) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, row := range append([][]string{header}, rows...) {
		safe := make([]string, len(row))
		for i, v := range row {
			safe[i] = spreadsheetSafe(v)
		}
		_ = w.Write(safe) // a bytes.Buffer does not fail
	}
	w.Flush()
	return buf.Bytes()
}
