package web

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/sms/segments"
	"github.com/smsflow/smsflow/sms/template"
)

// A preview is one send step rendered as the engine renders it
// (engine/send.go): the same Liquid templates and scope shape, the sample
// contact of template.SampleScope with the traits typed on the page, the
// brand of the configuration, links shortened as the tracker would; then
// the compliance footer where a first marketing message gets it
// (policy.ApplyFooter), smart encoding when it is on, and the measure the
// message will be billed by (segments.Measure, as `smsflow segments`).

// preview is one send step's message for the sample contact.
type preview struct {
	StepID string
	Line   int
	// Skipped is why this contact would get no text (the template's
	// render error, as the decision log would say it); the rest is empty.
	Skipped string
	Pieces  []piece
	// FooterAdded says what the compliance footer adds to the contact's
	// first marketing message ("brand name, opt-out footer"); the
	// pieces show the text with it.
	FooterAdded  string
	SmartEncoded bool
	Encoding     string
	Characters   int
	Segments     int
	NonGSM       []string
}

// piece is a run of a preview's text: plain, a character GSM-7 lacks, or
// what the compliance footer adds.
type piece struct {
	Text   string
	NonGSM bool
	Footer bool
}

// maxTraits bounds the sample traits a request may send.
const maxTraits = 50

// maxPreviews bounds the send steps previewed per check: a page of them
// is what a person reads, and the check runs at every pause in typing.
const maxPreviews = 50

// sampleTraits are the editable traits the page starts with: the sample
// contact's.
func sampleTraits() []trait {
	t := template.SampleScope().Contact["traits"].(map[string]any)
	var out []trait
	for _, k := range slices.Sorted(maps.Keys(t)) {
		out = append(out, trait{Key: k, Value: traitText(t[k])})
	}
	return append(out, trait{})
}

func traitText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// traitsOf reads the sample traits of a form (trait_key, trait_value
// pairs); a blank key is left out, and one blank row is added to type a
// new trait into.
func traitsOf(r *http.Request) []trait {
	keys, values := r.PostForm["trait_key"], r.PostForm["trait_value"]
	var out []trait
	for i, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" || len(k) > 100 || len(out) >= maxTraits {
			continue
		}
		v := ""
		if i < len(values) {
			v = values[i]
		}
		if len(v) > 1000 {
			v = v[:1000]
		}
		out = append(out, trait{Key: k, Value: v})
	}
	return append(out, trait{})
}

// traitValue is a typed trait as an event would carry it: a number or a
// boolean when it reads as one, else text.
func traitValue(s string) any {
	if b, err := strconv.ParseBool(s); err == nil && (s == "true" || s == "false") {
		return b
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && strings.TrimSpace(s) == s && s != "" {
		return f
	}
	return s
}

// previewLinks shortens a tracked link as the tracker would: the public
// URL's /l/ and a code of the real length.
type previewLinks struct{ base string }

func (p previewLinks) Track(string) (string, error) { return p.base + "/l/AbC2dE3", nil }

// previews renders every send step of f for the sample contact.
func (u *UI) previews(f *flow.Flow, traits []trait) []preview {
	scope := template.SampleScope()
	tr := map[string]any{}
	for _, t := range traits {
		if t.Key != "" {
			tr[t.Key] = traitValue(t.Value)
		}
	}
	scope.Contact["traits"] = tr
	brand := map[string]any{"name": u.Config.Brand.Name, "help": u.Config.Brand.Help}
	scope.Brand = brand
	scope.Flow = map[string]any{"id": f.ID, "name": f.Name}
	base := strings.TrimRight(u.Config.PublicURL, "/")
	if base == "" {
		base = "http://" + u.Config.Addr
	}
	var out []preview
	for _, s := range f.AllSteps() {
		if s.Kind != flow.StepSend || s.Send == nil {
			continue
		}
		if len(out) == maxPreviews {
			break
		}
		p := preview{StepID: s.ID, Line: s.Line}
		t, err := template.Compile(s.Send.Template)
		if err != nil {
			p.Skipped = "the template does not compile: " + err.Error()
			out = append(out, p)
			continue
		}
		body, err := t.Render(scope, previewLinks{base})
		if err != nil {
			p.Skipped = "skipped: " + err.Error()
			if re, ok := err.(*template.RenderError); ok {
				p.Skipped = "skipped: " + re.Reason
			}
			out = append(out, p)
			continue
		}
		prefix, suffix := "", ""
		if u.Config.Brand.Footer != "" && policy.Marketing(string(f.Category)) {
			withFooter, added := policy.ApplyFooter(body, u.Config.Brand.Name, u.Config.Brand.Footer)
			if len(added) > 0 {
				p.FooterAdded = strings.Join(added, ", ")
				i := strings.Index(withFooter, strings.TrimRight(body, " \n"))
				if i >= 0 {
					prefix, suffix = withFooter[:i], withFooter[i+len(strings.TrimRight(body, " \n")):]
					body = strings.TrimRight(body, " \n")
				}
			}
		}
		full := prefix + body + suffix
		if u.Config.SmartEncoding {
			if enc, changed := segments.SmartEncode(full); changed {
				p.SmartEncoded = true
				full = enc
				prefix, body, suffix = "", enc, ""
			}
		}
		info := segments.Measure(full)
		p.Encoding, p.Characters, p.Segments = info.Encoding, info.Characters, info.Segments
		bad := map[string]bool{}
		for _, c := range info.NonGSM {
			if !bad[c.Char] {
				p.NonGSM = append(p.NonGSM, c.Char)
			}
			bad[c.Char] = true
		}
		p.Pieces = append(p.Pieces, markPieces(prefix, true, bad)...)
		p.Pieces = append(p.Pieces, markPieces(body, false, bad)...)
		p.Pieces = append(p.Pieces, markPieces(suffix, true, bad)...)
		out = append(out, p)
	}
	return out
}

// markPieces splits text into runs, each character GSM-7 lacks (bad, by
// grapheme as segments.Measure reports them) a run of its own.
func markPieces(text string, footer bool, bad map[string]bool) []piece {
	if text == "" {
		return nil
	}
	var out []piece
	plain := func(s string) {
		if s != "" {
			out = append(out, piece{Text: s, Footer: footer})
		}
	}
	for len(text) > 0 {
		at, which := -1, ""
		for c := range bad {
			if i := strings.Index(text, c); i >= 0 && (at < 0 || i < at || (i == at && len(c) > len(which))) {
				at, which = i, c
			}
		}
		if at < 0 {
			plain(text)
			break
		}
		plain(text[:at])
		out = append(out, piece{Text: which, NonGSM: true, Footer: footer})
		text = text[at+len(which):]
	}
	return out
}
