package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// Rate is a sending rate in segments (as carriers count them): Segments per
// Per. The zero Rate means no limit.
type Rate struct {
	Segments int
	Per      time.Duration
}

// IsZero reports whether the rate sets no limit.
func (r Rate) IsZero() bool { return r.Segments == 0 }

// String writes the rate as it is configured ("30/s").
func (r Rate) String() string {
	if r.IsZero() {
		return "unlimited"
	}
	switch r.Per {
	case time.Minute:
		return fmt.Sprintf("%d/m", r.Segments)
	case time.Hour:
		return fmt.Sprintf("%d/h", r.Segments)
	}
	return fmt.Sprintf("%d/s", r.Segments)
}

// PerSecond is the rate in segments per second.
func (r Rate) PerSecond() float64 {
	if r.IsZero() {
		return 0
	}
	return float64(r.Segments) / r.Per.Seconds()
}

// ParseRate reads a rate key: a whole number of segments per second, minute
// or hour ("30/s", "100/m", "1/h"); "" means no limit. key names the setting
// in the error ("twilio.rate").
func ParseRate(key, s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Rate{}, nil
	}
	bad := func(why string) (Rate, error) {
		return Rate{}, smsflow.FieldErrorf(smsflow.EINVALID, key, "%s %q %s: write segments per second, minute or hour, like \"30/s\", \"100/m\" or \"1/h\" (or leave it empty for no limit)", key, s, why)
	}
	num, unit, ok := strings.Cut(s, "/")
	if !ok {
		return bad("has no unit")
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil {
		return bad("does not start with a whole number of segments")
	}
	if n <= 0 {
		return bad("must be at least 1 segment")
	}
	if n > 1_000_000 {
		return bad("is more than 1000000 segments")
	}
	var per time.Duration
	switch strings.TrimSpace(unit) {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		return bad("has an unknown unit (s, m or h)")
	}
	return Rate{Segments: n, Per: per}, nil
}

// Pacing is how one sender is paced: its key (the provider and the address
// it sends from, shared by every node sending as that sender), its rate and
// its daily cap in segments (0: none).
type Pacing struct {
	Sender   string
	Rate     Rate
	DailyCap int
}

// IsZero reports whether the sender is not paced at all.
func (p Pacing) IsZero() bool { return p.Rate.IsZero() && p.DailyCap == 0 }

// pacingSection is one sender's pacing keys: key names it in errors
// ("twilio", "twilio.senders[1]").
type pacingSection struct {
	key, provider, from, rate string
	daily                     int
}

// pacing reads a sender's keys, with an error naming the key when one is
// wrong.
func (s pacingSection) pacing() (Pacing, error) {
	r, err := ParseRate(s.key+".rate", s.rate)
	if err != nil {
		return Pacing{}, err
	}
	if s.daily < 0 {
		return Pacing{}, smsflow.FieldErrorf(smsflow.EINVALID, s.key+".daily_cap", "%s.daily_cap %d: write a number of segments per UTC day, or 0 for no cap", s.key, s.daily)
	}
	key := s.provider
	if from := strings.TrimSpace(s.from); from != "" {
		key += ":" + from
	}
	return Pacing{Sender: key, Rate: r, DailyCap: s.daily}, nil
}

// Pacing returns the pacing of the configured provider's default sender
// (see Senders for all of them), with an error naming the key when one is
// wrong.
func (c Config) Pacing() (Pacing, error) {
	s, err := c.Senders()
	if err != nil {
		return Pacing{}, err
	}
	return s.Default().Pacing, nil
}

// checkSenders checks the senders of every provider section, not only the
// configured provider's: a bad value waiting in another section would fail
// the day the provider is switched.
func (c Config) checkSenders() error {
	for _, name := range []string{"console", "twilio", "smpp", "http"} {
		if _, err := c.sendersOf(name); err != nil {
			return err
		}
	}
	return nil
}
