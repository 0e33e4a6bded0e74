package engine

import (
	"crypto/rand"
	"errors"
	"fmt"
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

	scope    *template.Scope // the message's scope, made on first use for links.utm
	scopeErr error
}

// Track gives url a tracked short link. The stored destination carries the
// configured UTM parameters (links.utm); a UTM value that cannot be rendered
// is left out and logged, never a reason not to send.
func (l *linkCollector) Track(url string) (string, error) {
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
