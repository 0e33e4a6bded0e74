package links

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"time"
)

// linkPage is the page shown instead of a redirect (an unknown or mistyped
// code, too many of those): readable on a phone, self-contained (no
// scripts, fonts, images or other requests), and kept out of search
// engines. It does not echo the code back.
var linkPage = template.Must(template.New("link").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{{ .Title }}{{ with .Brand }} · {{ . }}{{ end }}</title>
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
<h1>{{ .Heading }}</h1>
{{ range .Paragraphs }}<p>{{ . }}</p>
{{ end }}
</main>
</body>
</html>
`))

// pageText is what one linkPage says.
type pageText struct {
	Brand, Title, Heading string
	Paragraphs            []string
}

var (
	notFoundText = pageText{Title: "Link not found", Heading: "This link doesn’t work", Paragraphs: []string{
		"It may have been mistyped or cut short when it was copied. Please check the link in your text message and try again.",
		"If you copied it by hand, make sure every letter is there — links are case-sensitive.",
	}}
	tooManyText = pageText{Title: "Too many tries", Heading: "Too many links that don’t work", Paragraphs: []string{
		"Several mistyped or unknown links were opened from your network in a short time, so we are pausing for a moment.",
		"Please wait a minute, then open the link from your text message again.",
	}}
)

func render(t pageText, brand string) []byte {
	var b bytes.Buffer
	t.Brand = brand
	// The template is fixed and its inputs are strings: it cannot fail.
	_ = linkPage.Execute(&b, t)
	return b.Bytes()
}

// NotFoundHTML renders the friendly page for an unknown link code. brand
// (optional) is shown as the sender's name; it is HTML-escaped.
func NotFoundHTML(brand string) []byte { return render(notFoundText, brand) }

// ServeNotFound answers 404 with the NotFoundHTML page (no body for HEAD).
func ServeNotFound(w http.ResponseWriter, r *http.Request, brand string) {
	servePage(w, r, http.StatusNotFound, NotFoundHTML(brand))
}

// ServeTooManyLookups answers 429 with a friendly page and Retry-After (in
// whole seconds, at least 1): the client looked up too many unknown codes.
func ServeTooManyLookups(w http.ResponseWriter, r *http.Request, brand string, retryAfter time.Duration) {
	secs := int((retryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	servePage(w, r, http.StatusTooManyRequests, render(tooManyText, brand))
}

func servePage(w http.ResponseWriter, r *http.Request, status int, page []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(page)
	}
}
