package links

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestServeNotFound(t *testing.T) {
	rec := httptest.NewRecorder()
	ServeNotFound(rec, httptest.NewRequest(http.MethodGet, "/l/nope", nil), `Glow <Beauty> & "Co"`)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d, want 404", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.String()
	if !strings.HasPrefix(body, "<!doctype html>") || !strings.Contains(body, "</html>") {
		t.Errorf("not a whole HTML page: %.80q", body)
	}
	if !strings.Contains(body, "Glow &lt;Beauty&gt; &amp; &#34;Co&#34;") {
		t.Errorf("brand missing or not escaped:\n%s", body)
	}
	for _, external := range []string{"src=", "href=", "@import", "url(", "<script"} {
		if strings.Contains(body, external) {
			t.Errorf("page loads something external (%s)", external)
		}
	}
}

func TestServeNotFoundNoBrandAndHead(t *testing.T) {
	if page := string(NotFoundHTML("")); strings.Contains(page, `class="brand"`) || strings.Contains(page, " · ") {
		t.Errorf("empty brand still shown:\n%s", page)
	}
	rec := httptest.NewRecorder()
	ServeNotFound(rec, httptest.NewRequest(http.MethodHead, "/l/nope", nil), "Glow")
	if rec.Code != http.StatusNotFound || rec.Body.Len() != 0 {
		t.Errorf("HEAD: status %d with %d body bytes, want 404 and none", rec.Code, rec.Body.Len())
	}
}
