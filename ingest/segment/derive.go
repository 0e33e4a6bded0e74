package segment

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
)

// setTimestamp applies Segment's rule. All three fields are checked when
// present, even those the rule does not use, so that a bad value is reported
// rather than silently ignored.
func (m *Message) setTimestamp(obj object, defaults batchDefaults) *smsflow.Error {
	ts, hasTS, err := timeField(obj, "timestamp")
	if err != nil {
		return err
	}
	orig, hasOrig, err := timeField(obj, "originalTimestamp")
	if err != nil {
		return err
	}
	sent, hasSent, err := timeField(obj, "sentAt")
	if err != nil {
		return err
	}
	if !hasSent {
		sent, hasSent = defaults.sentAt, defaults.hasSentAt
	}
	switch {
	case hasTS:
		m.Timestamp = ts
	case hasOrig && hasSent:
		// The client's clock may be off; sentAt − originalTimestamp is
		// how long the event waited on the client, by that same clock.
		m.Timestamp = m.ReceivedAt.Add(-sent.Sub(orig))
	case hasOrig:
		m.Timestamp = orig
	default:
		m.Timestamp = m.ReceivedAt
	}
	m.Timestamp = m.Timestamp.UTC()
	if y := m.Timestamp.Year(); y < minYear || y > maxYear {
		// Only the correction can leave the range: each field was in it.
		return smsflow.FieldErrorf(smsflow.EINVALID, "originalTimestamp",
			"originalTimestamp %s corrected by sentAt %s (the client's clock is %s off the server's) gives %s; years %d to %d are accepted — check the device clock, or send timestamp",
			orig.Format(time.RFC3339Nano), sent.Format(time.RFC3339Nano), clockSkew(sent.Sub(m.ReceivedAt)), m.Timestamp.Format(time.RFC3339), minYear, maxYear)
	}
	return nil
}

// clockSkew describes how far a client's clock is off, in years when it is
// that far.
func clockSkew(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if year := 365 * 24 * time.Hour; d >= year {
		return fmt.Sprintf("%.0f years", d.Hours()/24/365.2425)
	}
	return d.Round(time.Second).String()
}

// setPhone finds the raw phone number: traits.phone (not for group calls,
// whose traits are the group's), else context.traits.phone.
func (m *Message) setPhone() *smsflow.Error {
	if m.Type != TypeGroup {
		p, err := phoneValue(m.Traits["phone"], "traits.phone")
		if err != nil || p != "" {
			m.Phone = p
			return err
		}
	}
	ctxTraits, err := contextTraits(m.Context)
	if err != nil {
		return err
	}
	m.Phone, err = phoneValue(ctxTraits["phone"], "context.traits.phone")
	return err
}

// setTimezone takes traits.timezone, which must be an IANA zone when given
// (not for group calls), else context.timezone when it is one.
func (m *Message) setTimezone() *smsflow.Error {
	if m.Type != TypeGroup {
		switch tz := m.Traits["timezone"].(type) {
		case nil:
		case string:
			if tz != "" {
				if !phone.ValidTimezone(tz) {
					return smsflow.FieldErrorf(smsflow.EINVALID, "traits.timezone", "%s is not an IANA time zone name like America/New_York", quote(tz))
				}
				m.Timezone = tz
				return nil
			}
		default:
			return smsflow.FieldErrorf(smsflow.EINVALID, "traits.timezone", "traits.timezone must be a string, an IANA time zone name like America/New_York")
		}
	}
	if tz, ok := m.Context["timezone"].(string); ok && phone.ValidTimezone(tz) {
		m.Timezone = tz
	}
	return nil
}

func contextTraits(ctx map[string]any) (map[string]any, *smsflow.Error) {
	switch t := ctx["traits"].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return t, nil
	default:
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, "context.traits", "context.traits must be an object")
	}
}

// phoneValue accepts a phone number sent as a string or a JSON number.
func phoneValue(v any, field string) (string, *smsflow.Error) {
	switch p := v.(type) {
	case nil:
		return "", nil
	case string:
		return p, nil
	case json.Number:
		return string(p), nil
	default:
		return "", smsflow.FieldErrorf(smsflow.EINVALID, field, "%s must be a string, like \"+14155550100\"", field)
	}
}
