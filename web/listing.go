package web

import (
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"
)

// listPageSize is the rows per page of the escalations and the audit trail.
const listPageSize = 25

// pageOf is the page number asked for, 1 when none or nonsense.
func pageOf(c *gin.Context) int {
	p, _ := strconv.Atoi(c.Query("page"))
	return max(p, 1)
}

// pageQuery is the API's limit and offset of a page.
func pageQuery(page int) url.Values {
	return url.Values{"limit": {strconv.Itoa(listPageSize)}, "offset": {strconv.Itoa((page - 1) * listPageSize)}}
}

// pagerAt is pager for any list page at path.
func pagerAt(path string, f url.Values, page int, more bool) (prev, next string) {
	link := func(p int) string {
		q := url.Values{}
		for k, v := range f {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(p))
		return path + "?" + q.Encode()
	}
	if page > 1 {
		prev = link(page - 1)
	}
	if more {
		next = link(page + 1)
	}
	return prev, next
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }
