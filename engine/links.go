package engine

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/sms/links"
	"github.com/smsflow/smsflow/sms/template"
	"github.com/smsflow/smsflow/store"
)

// linkAlphabet has no look-alike characters (0/O, 1/l/I).
const linkAlphabet = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// LinkCodeLength is the length of tracked link codes: 7 characters of a
// 56-letter alphabet drawn uniformly from crypto/rand, 40.6 bits — short in
// a text message, and not guessable in bulk.
const LinkCodeLength = 7

// linkByteLimit is the largest multiple of len(linkAlphabet) that fits in a
// byte: random bytes at or above it are drawn again, so every letter is
// equally likely (a plain modulo would favour the first 32 letters).
const linkByteLimit = 256 - 256%len(linkAlphabet)

// newLinkCode returns a random link code.
func newLinkCode() string {
	code := make([]byte, 0, LinkCodeLength)
	buf := make([]byte, 2*LinkCodeLength)
	for len(code) < LinkCodeLength {
		rand.Read(buf) // never fails (Go 1.24+ crashes the program instead)
		for _, c := range buf {
			if int(c) < linkByteLimit && len(code) < LinkCodeLength {
				code = append(code, linkAlphabet[int(c)%len(linkAlphabet)])
			}
		}
	}
	return string(code)
}

// linkCollector is the template's `track` filter during one send: it gives
// each URL a code at once and stores the links only if the message is sent.
type linkCollector struct {
	cc     *contactCtx
	run    *smsflow.Run
	stepID string
	links  []*store.Link
	urls   []string // the destinations tracked, as the template gave them

	scope    *template.Scope // the message's scope, made on first use for links.utm
	scopeErr error
}

// Track gives url a tracked short link. The stored destination carries the
// configured UTM parameters (links.utm); a UTM value that cannot be rendered
// is left out and logged, never a reason not to send.
func (l *linkCollector) Track(url string) (string, error) {
	l.urls = append(l.urls, url)
	dest := url
	if utm := l.cc.e.cfg.LinkUTM; len(utm) > 0 {
		var err error
		if dest, err = links.AddUTM(url, utm, l.renderUTM); err != nil {
			l.cc.e.log.Warn("tracked link: UTM parameters left out; fix links.utm in the configuration",
				"flow", l.run.FlowID, "step", l.stepID, "err", err)
		}
	}
	link := &store.Link{Code: l.cc.e.cfg.NewLinkCode(), URL: dest, RunID: l.run.ID, StepID: l.stepID, FlowID: l.run.FlowID,
		ContactID: l.cc.contact.ID, CreatedAt: l.cc.now}
	l.links = append(l.links, link)
	return strings.TrimSuffix(l.cc.e.cfg.PublicURL, "/") + "/l/" + link.Code, nil
}

// renderUTM renders one links.utm value as Liquid with the message's scope
// (contact, event, flow, brand, now). A value that renders empty gives "".
func (l *linkCollector) renderUTM(src string) (string, error) {
	if !strings.Contains(src, "{{") && !strings.Contains(src, "{%") {
		return src, nil
	}
	tmpl, err := utmTemplate(src)
	if err != nil {
		return "", err
	}
	if l.scope == nil && l.scopeErr == nil {
		comp, err := l.cc.e.cat.Version(l.cc.tx.Context(), l.run.FlowID, l.run.FlowVersion)
		if err != nil {
			l.scopeErr = fmt.Errorf("load flow %s: %w", l.run.FlowID, err)
		} else {
			s := l.cc.scope(l.run, comp)
			l.scope = &s
		}
	}
	if l.scopeErr != nil {
		return "", l.scopeErr
	}
	out, err := tmpl.Render(*l.scope, noNestedLinks{})
	var re *template.RenderError
	if errors.As(err, &re) && re.Reason == "empty" {
		return "", nil
	}
	return out, err
}

// utmTemplates caches compiled links.utm values (a handful, from the
// configuration) by their source.
var utmTemplates sync.Map

func utmTemplate(src string) (*template.Template, error) {
	if t, ok := utmTemplates.Load(src); ok {
		return t.(*template.Template), nil
	}
	t, err := template.Compile(src)
	if err != nil {
		return nil, err
	}
	utmTemplates.Store(src, t)
	return t, nil
}

// noNestedLinks refuses `track` inside a UTM value.
type noNestedLinks struct{}

func (noNestedLinks) Track(string) (string, error) {
	return "", errors.New("a links.utm value cannot track a link")
}

// flush stores the collected links (the message is being sent). A code
// collision, about one in a trillion, is retried with a fresh code — which
// would no longer match the body, so it fails the send loudly instead.
func (l *linkCollector) flush() error {
	for _, link := range l.links {
		ok, err := l.cc.tx.InsertLink(link)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("tracked link code %s collided; the send will be retried", link.Code)
		}
	}
	return nil
}

// --- links from public values -----------------------------------------------
//
// A link whose destination came from the public write key (an event's
// property, a trait it set) may only point at an allowed host: the
// configured links.allowed_domains, the host of public_url and the hosts
// written in the flows. Which links came from public values is found by
// rendering the template a second time with every public value replaced
// (probeValue): a host the real message links to that the probe rendering
// does not produce depends on public data. Only a message that links to a
// host outside the allowed set pays for the second rendering.

// probeText stands in for every non-empty public string in the probe
// rendering: a URL, so that `track` still works, on a host no real link
// can have (.invalid is reserved).
const probeText = "https://probe.smsflow.invalid/p"

// probeValue replaces a public value for the probe rendering: strings by
// probeText, numbers by other numbers (a host could be built from one).
func probeValue(v any) any {
	return template.MapLeaves(v, func(x any) any {
		switch x := x.(type) {
		case string:
			if x == "" {
				return x
			}
			return probeText
		case float64:
			return x*7 + 1
		case int64:
			return x*7 + 1
		case int:
			return x*7 + 1
		case json.Number:
			return json.Number(string(x) + "7")
		}
		return x
	})
}

// urlRecorder is the probe rendering's `track`: it notes each URL and
// leaves it in the text.
type urlRecorder struct{ urls []string }

func (r *urlRecorder) Track(url string) (string, error) {
	r.urls = append(r.urls, url)
	return url, nil
}

// printedURL finds links in a message body: http(s) URLs and www. hosts
// (phones make both clickable).
var printedURL = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"'` + "`" + `]+|\bwww\.[^\s<>"'` + "`" + `]+`)

// hostName is a DNS name or an IPv4 address, as links carry them.
var hostName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// linkHosts returns the hosts of the tracked URLs and of the links printed
// in text, lower case, each once, in order of appearance.
func linkHosts(text string, tracked []string) []string {
	var out []string
	add := func(raw string) {
		if !strings.Contains(raw, "://") {
			raw = "http://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
		if h != "" && (hostName.MatchString(h) || net.ParseIP(h) != nil) && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	for _, u := range tracked {
		add(strings.TrimSpace(u))
	}
	for _, u := range printedURL.FindAllString(text, -1) {
		add(u)
	}
	return out
}

// flowHosts caches, per compiled flow version, the hosts written in its
// templates.
var flowHosts sync.Map // *Compiled → []string

func writtenHosts(c *Compiled) []string {
	if v, ok := flowHosts.Load(c); ok {
		return v.([]string)
	}
	var out []string
	for _, t := range c.Templates {
		for _, h := range linkHosts(t.Source(), nil) {
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	flowHosts.Store(c, out)
	return out
}

// hostAllowed says whether a link from a public value may point at host:
// an allowed entry names it ("shop.example"), or it is a subdomain of an
// entry written with a leading dot (".shop.example"); the hosts written in
// comp and in every active flow count as named.
func (e *Engine) hostAllowed(host string, comp *Compiled) bool {
	for _, a := range e.cfg.AllowedLinkHosts {
		if host == a || strings.HasPrefix(a, ".") && (host == a[1:] || strings.HasSuffix(host, a)) {
			return true
		}
	}
	if u, err := url.Parse(e.cfg.PublicURL); err == nil && strings.EqualFold(u.Hostname(), host) {
		return true
	}
	if slices.Contains(writtenHosts(comp), host) {
		return true
	}
	for _, c := range e.cat.Active() {
		if slices.Contains(writtenHosts(c), host) {
			return true
		}
	}
	return false
}

// untrustedLink returns the first host the rendered message links to that
// is not allowed and came from a public value, "" when there is none. body
// and tracked are the real rendering's text and the URLs it tracked.
func (cc *contactCtx) untrustedLink(run *smsflow.Run, comp *Compiled, tmpl *template.Template, body string, tracked []string) string {
	var suspect []string
	for _, h := range linkHosts(body, tracked) {
		if !cc.e.hostAllowed(h, comp) {
			suspect = append(suspect, h)
		}
	}
	if len(suspect) == 0 {
		return ""
	}
	rec := &urlRecorder{}
	probe, err := tmpl.Render(cc.scopeWith(run, comp, probeValue), rec)
	if err != nil {
		return suspect[0] // the template needs the public values as they are: cannot tell, so refuse
	}
	produced := linkHosts(probe, rec.urls)
	for _, h := range suspect {
		if !slices.Contains(produced, h) {
			return h
		}
	}
	return ""
}
