package oidcsignin

import (
	"html/template"

	"github.com/gin-gonic/gin"
)

// csp is the web's Content Security Policy (the shared web design).
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

var refusedPage = template.Must(template.New("refused").Parse(`<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in — Homeward</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header><p>Homeward</p></header>
<main id="main">
<h1>You are not signed in</h1>
<p>{{.}}</p>
<p><a href="/">Back to sign-in</a></p>
</main>
</body>
</html>
`))

// renderError is the plain page of a refused or failed sign-in: a short
// message in words, nothing of what went wrong inside.
func renderError(c *gin.Context, status int, message string) {
	c.Header("Content-Security-Policy", csp)
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(status)
	_ = refusedPage.Execute(c.Writer, message)
}
