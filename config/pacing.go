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

// Pacing is how the configured provider's sender is paced: its key (the
// provider and the address it sends from, shared by every node sending as
// that sender), its rate and its daily cap in segments (0: none).
type Pacing struct {
	Sender   string
	Rate     Rate
	DailyCap int
}

// IsZero reports whether the sender is not paced at all.
func (p Pacing) IsZero() bool { return p.Rate.IsZero() && p.DailyCap == 0 }

// pacingSection is one provider section's pacing keys.
type pacingSection struct {
	name, from, rate string
	daily            int
}

// pacingSections lists every provider section's pacing keys, the
// configured provider's and the others'.
func (c Config) pacingSections() []pacingSection {
	from := c.Twilio.From
	if from == "" {
		from = c.Twilio.MessagingServiceSID
	}
	return []pacingSection{
		{"console", "", c.Console.Rate, c.Console.DailyCap},
		{"twilio", from, c.Twilio.Rate, c.Twilio.DailyCap},
		{"smpp", c.SMPP.SourceAddr, c.SMPP.Rate, c.SMPP.DailyCap},
		{"http", "", c.HTTP.Rate, c.HTTP.DailyCap},
	}
}

// pacing reads a section's keys, with an error naming the key when one is
// wrong.
func (s pacingSection) pacing() (Pacing, error) {
	r, err := ParseRate(s.name+".rate", s.rate)
	if err != nil {
		return Pacing{}, err
	}
	if s.daily < 0 {
		return Pacing{}, smsflow.FieldErrorf(smsflow.EINVALID, s.name+".daily_cap", "%s.daily_cap %d: write a number of segments per UTC day, or 0 for no cap", s.name, s.daily)
	}
	key := s.name
	if from := strings.TrimSpace(s.from); from != "" {
		key += ":" + from
	}
	return Pacing{Sender: key, Rate: r, DailyCap: s.daily}, nil
}

// Pacing returns the pacing of the configured provider's sender (rate and
// daily_cap under twilio, smpp, http or console), with an error naming the
// key when one is wrong.
func (c Config) Pacing() (Pacing, error) {
	sections := c.pacingSections()
	name := strings.TrimSpace(c.Provider)
	for _, s := range sections {
		if s.name == name {
			return s.pacing()
		}
	}
	return sections[0].pacing() // console
}

// checkPacing checks the rate and daily_cap of every provider section, not
// only the configured provider's: a bad value waiting in another section
// would fail the day the provider is switched.
func (c Config) checkPacing() error {
	for _, s := range c.pacingSections() {
		if _, err := s.pacing(); err != nil {
			return err
		}
	}
	return nil
}
