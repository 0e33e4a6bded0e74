package config

import (
	"strings"
	"testing"
)

// FuzzDecode: any file gives a configuration or problems placed inside it,
// in words (no Go type names), and never a panic; LooksLikeConfig answers.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"brand:\n  nam: Glow\n", "brand: Glow\ncaps: {a: 1}\n", "caps:\n  - {name: a, max: lots, per: 1d}\n",
		"twilio:\n  senders:\n    - &s {from: x, rate: 2/s}\n    - {<<: *s, from: y}\n", "a: &a [x, x]\nb: [*a, *a]\n",
		"provider: console\n---\nprovider: twilio\n", "links: {utm: {source: [x]}}\n", "{{{", "- 1\n", "? [a]\n: b\n",
		"quiet_hours: {state_rules: yes, exempt: service}\n", "limits: {service_per_number: {max: 1.5}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		LooksLikeConfig(src)
		c := Default()
		err := decode("f.yaml", src, &c)
		if err == nil {
			c.Check()
			return
		}
		ps, ok := err.(Problems)
		if !ok || len(ps) == 0 {
			t.Fatalf("decode: %v (%T), want Problems", err, err)
		}
		// Lines as YAML counts them: "\r\n", "\r" and "\n" each end one.
		lines := strings.Count(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n") +
			strings.Count(strings.ReplaceAll(string(src), "\r\n", "\n"), "\r") + 2
		for _, p := range ps {
			if p.File != "f.yaml" || p.Line < 0 || p.Line > lines || p.Col < 0 || p.Message == "" {
				t.Fatalf("bad problem %+v", p)
			}
			// yaml.v3's words, unless the file itself has them (quoted back).
			for _, w := range []string{"config.", "unmarshal", "!!", "[]", "map["} {
				if strings.Contains(p.Message, w) && !strings.Contains(string(src), w) {
					t.Fatalf("a Go type name in %q", p.Message)
				}
			}
		}
	})
}
