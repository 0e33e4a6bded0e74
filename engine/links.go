package engine

import (
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// linkAlphabet has no look-alike characters (0/O, 1/l/I).
const linkAlphabet = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// LinkCodeLength is the length of tracked link codes: 7 characters of a
// 56-letter alphabet, about 40 bits — short, and not guessable in bulk.
const LinkCodeLength = 7

// newLinkCode returns a random link code.
func newLinkCode() string {
	b := make([]byte, LinkCodeLength)
	rand.Read(b)
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(linkAlphabet[int(c)%len(linkAlphabet)])
	}
	return sb.String()
}

// linkCollector is the template's `track` filter during one send: it gives
// each URL a code at once and stores the links only if the message is sent.
type linkCollector struct {
	cc     *contactCtx
	run    *smsflow.Run
	stepID string
	links  []*store.Link
}

// Track gives url a tracked short link.
func (l *linkCollector) Track(url string) (string, error) {
	link := &store.Link{Code: l.cc.e.cfg.NewLinkCode(), URL: url, RunID: l.run.ID, StepID: l.stepID, FlowID: l.run.FlowID,
		ContactID: l.cc.contact.ID, CreatedAt: l.cc.now}
	l.links = append(l.links, link)
	return strings.TrimSuffix(l.cc.e.cfg.PublicURL, "/") + "/l/" + link.Code, nil
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
