package links

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzAddUTM checks AddUTM's contract on any destination and values: the
// destination's own text and fragment are kept, parameters it has are never
// touched, and each added parameter decodes back to its value.
func FuzzAddUTM(f *testing.F) {
	for _, s := range [][3]string{
		{"https://glow.example/cart", "sms", "{{ flow.id }}"},
		{"https://glow.example/p?x=1&utm_source=email#frag", "sms", "spring sale"},
		{"http://a/?#", "a&b=c", "%zz"},
		{"https://glow.example/%zz", "sms", "x"},
		{"mailto:x@y", "sms", "x"},
		{"https://a/?utm_campaign=1;utm_source=2", " s ", "c#d?e"},
		{"HTTPS://A.example/?Q=1#a#b", "ü", "\x00"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, dest, source, campaign string) {
		utm := map[string]string{"source": source, "campaign": campaign}
		got, err := AddUTM(dest, utm, nil)
		u, perr := url.Parse(dest)
		if perr != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
			if got != dest {
				t.Fatalf("destination that gets no parameters changed: %q → %q", dest, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("AddUTM(%q) with literal values: %v", dest, err)
		}
		base, frag := dest, ""
		if i := strings.IndexByte(dest, '#'); i >= 0 {
			base, frag = dest[:i], dest[i:]
		}
		if !strings.HasPrefix(got, base) || !strings.HasSuffix(got, frag) || len(got) < len(base)+len(frag) {
			t.Fatalf("destination not kept: %q → %q", dest, got)
		}
		added := strings.TrimLeft(got[len(base):len(got)-len(frag)], "?&")
		if strings.ContainsAny(added, "#") {
			t.Fatalf("added text %q would move the fragment", added)
		}
		vals, err := url.ParseQuery(added)
		if err != nil {
			t.Fatalf("added parameters %q do not parse: %v", added, err)
		}
		present := queryKeys(base)
		for k, v := range map[string]string{"utm_source": source, "utm_campaign": campaign} {
			want := strings.TrimSpace(v)
			switch {
			case present[k] || want == "":
				if vals.Has(k) {
					t.Fatalf("%s added to %q though present or empty: %q", k, dest, got)
				}
			case vals.Get(k) != want:
				t.Fatalf("%s = %q, want %q (dest %q → %q)", k, vals.Get(k), want, dest, got)
			}
		}
		if _, err := url.Parse(got); err != nil {
			t.Fatalf("result %q does not parse: %v", got, err)
		}
	})
}

// FuzzIsPrefetch feeds arbitrary headers and User-Agents: no panic, and a
// request IsPreviewBot calls a bot is always a prefetch.
func FuzzIsPrefetch(f *testing.F) {
	f.Add("Mozilla/5.0 (iPhone) Safari/604.1", "Sec-Purpose", "prefetch;prerender")
	f.Add("WhatsApp/2.23.20.0 A", "X-Purpose", "preview")
	f.Add("\xff\xfe bot", "Purpose", "")
	f.Fuzz(func(t *testing.T, ua, name, value string) {
		h := http.Header{}
		h.Add(name, value)
		if IsPreviewBot(ua) && !IsPrefetch(h, ua) {
			t.Fatalf("bot %q not a prefetch", ua)
		}
	})
}
