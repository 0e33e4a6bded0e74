package links

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
)

// notFoundPage is the page for an unknown or mistyped link code: readable on
// a phone, self-contained (no scripts, fonts, images or other requests), and
// kept out of search engines. It does not echo the code back.
var notFoundPage = template.Must(template.New("notfound").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Link not found{{ with .Brand }} · {{ . }}{{ end }}</title>
<style>
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
background:#f6f7f9;color:#1f2328;line-height:1.5}
main{max-width:28rem;margin:1.5rem;padding:2rem 1.75rem;background:#fff;border-radius:12px;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:1.35rem;margin:0 0 .75rem}
p{margin:0 0 .75rem;color:#4b5563}
.brand{font-weight:600;color:#1f2328;margin-bottom:1rem}
@media (prefers-color-scheme:dark){body{background:#111418;color:#e6e8eb}
main{background:#1b1f24;box-shadow:none}p{color:#aab1ba}.brand{color:#e6e8eb}}
</style>
</head>
<body>
<main>
{{ with .Brand }}<p class="brand">{{ . }}</p>{{ end }}
<h1>This link doesn’t work</h1>
<p>It may have been mistyped or cut short when it was copied. Please check the link in your text message and try again.</p>
<p>If you copied it by hand, make sure every letter is there — links are case-sensitive.</p>
</main>
</body>
</html>
`))

// NotFoundHTML renders the friendly page for an unknown link code. brand
// (optional) is shown as the sender's name; it is HTML-escaped.
func NotFoundHTML(brand string) []byte {
	var b bytes.Buffer
	// The template is fixed and its one input is a string: it cannot fail.
	_ = notFoundPage.Execute(&b, struct{ Brand string }{brand})
	return b.Bytes()
}

// ServeNotFound answers 404 with the NotFoundHTML page (no body for HEAD).
func ServeNotFound(w http.ResponseWriter, r *http.Request, brand string) {
	page := NotFoundHTML(brand)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		w.Write(page)
	}
}
