package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// returnReport serves an episode's return report through the API, as the
// signed-in user: the PDF, or with ?format=html the HTML. The link in the
// commissioner officers' email can point here.
func (w *Web) returnReport(c *gin.Context) {
	path, ok := episodePath(c, "/report")
	if !ok {
		w.refuse(c, http.StatusNotFound, "No return report for this episode.")
		return
	}
	accept := "application/pdf"
	if c.Query("format") == "html" {
		accept = "text/html"
	}
	a, err := w.callAPIAccepting(c, http.MethodGet, path, nil, "", accept, nil)
	if err != nil || !a.ok() {
		w.apiProblem(c, a, err)
		return
	}
	if d := a.Header.Get("Content-Disposition"); d != "" {
		c.Header("Content-Disposition", d)
	}
	c.Data(http.StatusOK, a.Header.Get("Content-Type"), a.Body)
}
