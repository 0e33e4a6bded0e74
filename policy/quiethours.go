package policy

// Quiet hours: when a message may reach a person, in their local wall-clock
// time, in every zone their number may be in (docs/governance.md).
// Everything here is pure: the caller passes the instant, the zones and the
// state; nothing reads the clock.

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // recipients' zones must not depend on the host's zoneinfo
	"unicode/utf8"

	"github.com/smsflow/smsflow"
)

// TimeOfDay is a local wall-clock time as minutes after midnight, 0–1440
// (1440 is "24:00", only valid as the end of a Window).
type TimeOfDay int

// EndOfDay is "24:00", the end of a window that runs to midnight.
const EndOfDay TimeOfDay = 24 * 60

// ParseTimeOfDay reads "HH:MM" or "H:MM", 00:00 to 23:59, as used by
// `until_local` and `segment.at`. Errors are *smsflow.Error with code
// EINVALID.
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	tod, err := parseTimeOfDay(strings.TrimSpace(s))
	if err == nil && tod == EndOfDay {
		err = errTimeOfDay(s)
	}
	return tod, err
}

// parseTimeOfDay accepts 00:00 to 24:00.
func parseTimeOfDay(s string) (TimeOfDay, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !digits(h) || !digits(m) {
		return 0, errTimeOfDay(s)
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, errTimeOfDay(s)
	}
	return TimeOfDay(hh*60 + mm), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func errTimeOfDay(s string) error {
	return smsflow.Errorf(smsflow.EINVALID, "%s is not a time of day; write HH:MM from 00:00 to 23:59, like 10:00", quoted(s))
}

// String formats the time as HH:MM.
func (t TimeOfDay) String() string {
	return twoDigits(int(t)/60) + ":" + twoDigits(int(t)%60)
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// Window is a daily span of local wall-clock time, half-open [Start, End):
// "08:00-21:00" allows 08:00:00 up to 20:59:59.999. Windows do not cross
// midnight (Start < End); an empty window allows nothing.
type Window struct {
	Start TimeOfDay
	End   TimeOfDay
}

// ParseWindow reads "HH:MM-HH:MM" (an en dash also separates; spaces around
// the parts are ignored). The end may be 24:00 and must be after the start:
// an allowed window that crosses midnight ("21:00-08:00") is refused, not
// read as overnight. Errors are *smsflow.Error with code EINVALID.
func ParseWindow(s string) (Window, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		from, to, ok = strings.Cut(s, "–")
	}
	if !ok || strings.ContainsAny(to, "-–") {
		return Window{}, smsflow.Errorf(smsflow.EINVALID, "%s is not a time window; write it as HH:MM-HH:MM, like 08:00-21:00", quoted(s))
	}
	start, err := parseTimeOfDay(strings.TrimSpace(from))
	if err == nil && start == EndOfDay {
		err = errTimeOfDay(from)
	}
	if err != nil {
		return Window{}, smsflow.Errorf(smsflow.EINVALID, "window %s: its start %s", quoted(s), smsflow.ErrorMessage(err))
	}
	end, err := parseTimeOfDay(strings.TrimSpace(to))
	if err != nil {
		return Window{}, smsflow.Errorf(smsflow.EINVALID, "window %s: its end %s (24:00 is allowed as an end)", quoted(s), smsflow.ErrorMessage(err))
	}
	if end <= start {
		return Window{}, smsflow.Errorf(smsflow.EINVALID, "window %s ends at or before it starts; an allowed window runs forward within one day, like 08:00-21:00", quoted(s))
	}
	return Window{Start: start, End: end}, nil
}

// String formats the window as ParseWindow reads it.
func (w Window) String() string { return w.Start.String() + "-" + w.End.String() }

// MarshalText makes a Window a plain "08:00-21:00" string in JSON and YAML.
func (w Window) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText parses a Window with ParseWindow, so configuration files can
// hold the string.
func (w *Window) UnmarshalText(b []byte) error {
	v, err := ParseWindow(string(b))
	if err != nil {
		return err
	}
	*w = v
	return nil
}

// Empty reports whether the window allows no time at all.
func (w Window) Empty() bool { return w.End <= w.Start }

// Contains reports whether t's wall-clock time, in t's own location, is in
// the window.
func (w Window) Contains(t time.Time) bool {
	sec := t.Hour()*3600 + t.Minute()*60 + t.Second()
	return sec >= int(w.Start)*60 && sec < int(w.End)*60
}

// intersect returns the time both windows allow (possibly empty).
func (w Window) intersect(o Window) Window {
	return Window{Start: max(w.Start, o.Start), End: min(w.End, o.End)}
}

// What a send that falls in quiet hours becomes (QuietHours.OnQuiet).
const (
	OnQuietDefer = "defer" // wait for the next allowed moment
	OnQuietSkip  = "skip"  // drop the send
)

// MaxQuietSearch bounds how far ahead Check looks for the next allowed
// moment. Two weeks covers any weekly pattern plus a run of holidays; past it
// Check reports that no moment exists.
const MaxQuietSearch = 14 * 24 * time.Hour

// categories are the flow categories Exempt may name.
var categories = []string{"service", "lifecycle", "behavior", "promo"}

// QuietHours is the quiet-hours policy (`quiet_hours` in
// smsflow.yaml). Start from DefaultQuietHours: the zero value has an empty
// window and allows nothing but exempt categories, of which it has none.
type QuietHours struct {
	// Allowed is the daily local window in which sends may go out, in
	// every zone of the recipient.
	Allowed Window `yaml:"allowed" json:"allowed"`
	// StateRules applies the stricter windows and forbidden days of
	// states.go on top of Allowed.
	StateRules bool `yaml:"state_rules" json:"state_rules"`
	// Exempt are the flow categories quiet hours never hold (service:
	// shipping updates, receipts).
	Exempt []string `yaml:"exempt" json:"exempt"`
	// OnQuiet is OnQuietDefer or OnQuietSkip; Check does not read it, the
	// send pipeline does.
	OnQuiet string `yaml:"on_quiet" json:"on_quiet"`
}

// DefaultQuietHours is the federal TCPA window 08:00–21:00 with state rules,
// service messages exempt and deferral.
func DefaultQuietHours() QuietHours {
	return QuietHours{Allowed: hours(8, 21), StateRules: true, Exempt: []string{"service"}, OnQuiet: OnQuietDefer}
}

// Validate reports the first configuration mistake as an *smsflow.Error
// naming the smsflow.yaml field.
func (q QuietHours) Validate() error {
	if q.Allowed.Empty() || q.Allowed.End > EndOfDay || q.Allowed.Start < 0 {
		return smsflow.FieldErrorf(smsflow.EINVALID, "quiet_hours.allowed", "allowed window %s is empty; write it as HH:MM-HH:MM, like 08:00-21:00", q.Allowed)
	}
	for _, c := range q.Exempt {
		if !slices.Contains(categories, c) {
			return smsflow.FieldErrorf(smsflow.EINVALID, "quiet_hours.exempt", "%s is not a flow category; use %s", quoted(c), strings.Join(categories, ", "))
		}
	}
	if q.OnQuiet != OnQuietDefer && q.OnQuiet != OnQuietSkip {
		return smsflow.FieldErrorf(smsflow.EINVALID, "quiet_hours.on_quiet", "on_quiet is %s; use %s or %s", quoted(q.OnQuiet), OnQuietDefer, OnQuietSkip)
	}
	return nil
}

// Check says whether a message of category may go out at t to a recipient
// whose number may be in any of zones (IANA names; the contact's explicit
// zone alone when it has one — the caller decides) and in US state (a
// two-letter code or ""). It is pure.
//
// A send is allowed when, in every zone, t's wall-clock time is in the
// Allowed window and — with StateRules — in the state's window and not on a
// day the state forbids (Sunday, holiday), read as that zone's local date.
// Exempt categories are always allowed. When allowed, next is t.
//
// Otherwise next is the earliest instant ≥ t at which a send is allowed in
// all zones at once, searched up to MaxQuietSearch ahead; it is exact under
// DST (a window start in a spring-forward gap opens at the first valid
// instant; in a fall-back overlap at its first occurrence). next is the zero
// time when no such instant exists within the bound — windows that never
// overlap across far-apart zones, an empty state window, a holiday table
// left to expire — and also when zones is empty or names an unknown zone:
// quiet hours fail closed, so the caller skips rather than defers.
func (q QuietHours) Check(t time.Time, zones []string, state string, category string) (allowed bool, next time.Time) {
	if slices.Contains(q.Exempt, category) {
		return true, t
	}
	rules, ok := q.zoneRules(zones, state)
	if !ok {
		return false, time.Time{}
	}
	if allowedAt(t, rules) {
		return true, t
	}
	return false, nextAllowed(t, rules)
}

// zoneRule is what Check tests in one zone.
type zoneRule struct {
	loc    *time.Location
	window Window
	state  StateRule // zero unless StateRules applies
}

func (q QuietHours) zoneRules(zones []string, state string) ([]zoneRule, bool) {
	window := q.Allowed
	var rule StateRule
	if q.StateRules {
		if r, ok := LookupState(state); ok {
			rule = r
			window = window.intersect(r.Window)
		}
	}
	if window.Empty() || len(zones) == 0 {
		return nil, false
	}
	rules := make([]zoneRule, 0, len(zones))
	for _, name := range zones {
		loc, err := LoadZone(name)
		if err != nil {
			return nil, false
		}
		rules = append(rules, zoneRule{loc: loc, window: window, state: rule})
	}
	return rules, true
}

// allowedAt is the predicate Check defines, at one instant.
func allowedAt(u time.Time, rules []zoneRule) bool {
	for _, r := range rules {
		if !r.allows(u) {
			return false
		}
	}
	return true
}

func (r zoneRule) allows(u time.Time) bool {
	local := u.In(r.loc)
	if !r.window.Contains(local) {
		return false
	}
	if r.state.NoSunday && local.Weekday() == time.Sunday {
		return false
	}
	if r.state.NoHolidays {
		d := smsflow.DateOf(local)
		if _, holiday := IsHoliday(r.state.State, d); holiday || !HolidaysCover(r.state.State, d.Year) {
			return false
		}
	}
	return true
}

// nextAllowed finds the earliest instant in (t, t+MaxQuietSearch] at which
// allowedAt holds, given that it does not hold at t. The allowed set is a
// union of half-open intervals, and each interval opens at an instant where
// some zone's predicate turns true: a wall clock reaching the window start
// (at each of its occurrences) or a zone transition (a jump in wall-clock
// time). nextAllowed tests exactly those instants, in order.
func nextAllowed(t time.Time, rules []zoneRule) time.Time {
	horizon := t.Add(MaxQuietSearch)
	var candidates []time.Time
	for _, r := range rules {
		for _, p := range zonePeriods(r.loc, t.Add(-48*time.Hour), horizon.Add(48*time.Hour)) {
			if p.start.After(t) && !p.start.After(horizon) {
				candidates = append(candidates, p.start)
			}
			// Each date whose window start may fall in this period.
			from, to := p.start, p.end
			if from.IsZero() || from.Before(t) {
				from = t
			}
			if to.IsZero() || to.After(horizon) {
				to = horizon
			}
			if to.Before(from) {
				continue
			}
			off := time.Duration(p.offset) * time.Second
			first := from.Add(off).UTC()
			d := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC)
			last := to.Add(off).UTC()
			for ; !d.After(last); d = d.AddDate(0, 0, 1) {
				u := d.Add(time.Duration(r.window.Start) * time.Minute).Add(-off)
				if p.contains(u) && !u.Before(t) && !u.After(horizon) {
					candidates = append(candidates, u)
				}
			}
		}
	}
	slices.SortFunc(candidates, func(a, b time.Time) int { return a.Compare(b) })
	for _, u := range candidates {
		if allowedAt(u, rules) {
			return u
		}
	}
	return time.Time{}
}

// period is a stretch of time in which a zone keeps one UTC offset. A zero
// start or end means unbounded.
type period struct {
	start, end time.Time
	offset     int // seconds east of UTC
}

func (p period) contains(u time.Time) bool {
	return (p.start.IsZero() || !u.Before(p.start)) && (p.end.IsZero() || u.Before(p.end))
}

// zonePeriods returns loc's offset periods that overlap [from, to], in order.
func zonePeriods(loc *time.Location, from, to time.Time) []period {
	var out []period
	u := from
	for range 1000 { // a zone changes offset a few times a year; the bound only guards against a loop
		local := u.In(loc)
		_, off := local.Zone()
		start, end := local.ZoneBounds()
		out = append(out, period{start: start, end: end, offset: off})
		if end.IsZero() || end.After(to) {
			break
		}
		u = end
	}
	return out
}

// resolveLocal returns the instant a local wall-clock date and time means in
// loc: its first occurrence when the clock passes it twice (fall-back
// overlap), the first instant after the jump when the clock skips it
// (spring-forward gap) — in both cases the earliest instant whose local time
// is at or past wall. wall carries the local date and time in its UTC
// fields.
func resolveLocal(wall time.Time, loc *time.Location) time.Time {
	var best time.Time
	periods := zonePeriods(loc, wall.Add(-48*time.Hour), wall.Add(48*time.Hour))
	for i, p := range periods {
		if u := wall.Add(-time.Duration(p.offset) * time.Second); p.contains(u) {
			if best.IsZero() || u.Before(best) {
				best = u
			}
		}
		if i == 0 {
			continue
		}
		// A forward jump at p.start skips the wall times
		// [start+previous offset, start+offset).
		prev := periods[i-1].offset
		skippedFrom := p.start.Add(time.Duration(prev) * time.Second)
		skippedTo := p.start.Add(time.Duration(p.offset) * time.Second)
		if prev < p.offset && !wall.Before(skippedFrom) && wall.Before(skippedTo) {
			if best.IsZero() || p.start.Before(best) {
				best = p.start
			}
		}
	}
	return best.In(loc)
}

// NextLocal returns the next instant strictly after t at which the wall clock
// in loc reads hhmm ("10:00"), for `wait: {until_local}` and segment entries
// with `local: true`. A time skipped by a spring-forward change resolves to
// the first instant after the jump (02:30 on 2026-03-08 in New York is 03:00
// EDT); a time passed twice by a fall-back change resolves to its first
// occurrence only. Strictly after, so that a timer firing at 10:00 and asking
// again gets tomorrow. nil loc is UTC. It returns the zero time when hhmm is
// not a valid time of day: validate it with ParseTimeOfDay first.
func NextLocal(t time.Time, hhmm string, loc *time.Location) time.Time {
	tod, err := ParseTimeOfDay(hhmm)
	if err != nil {
		return time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	for i := -1; i <= 3; i++ {
		wall := time.Date(y, m, d+i, 0, 0, 0, 0, time.UTC).Add(time.Duration(tod) * time.Minute)
		if u := resolveLocal(wall, loc); u.After(t) {
			return u
		}
	}
	return time.Time{} // not reached: some day among five has the time after t
}

// LocalZoneFor picks the zone in which a contact's local wall-clock times
// (`until_local`, local audience entries) are read: the explicit
// zone when it is set and known, otherwise the latest of the candidates —
// the one whose offset from UTC at `at` is smallest, where a given wall-clock
// time happens last — so the moment is not early in any of them. Ties go to
// the earlier candidate; unknown names are passed over. "" when nothing
// usable is left.
func LocalZoneFor(explicit string, candidates []string, at time.Time) string {
	if explicit != "" {
		if _, err := LoadZone(explicit); err == nil {
			return explicit
		}
	}
	best, bestOffset := "", 0
	for _, name := range candidates {
		loc, err := LoadZone(name)
		if err != nil {
			continue
		}
		if _, off := at.In(loc).Zone(); best == "" || off < bestOffset {
			best, bestOffset = name, off
		}
	}
	return best
}

// zoneCache holds every zone loaded so far; there are a few hundred names at
// most, since only names that load are kept.
var zoneCache sync.Map // string → *time.Location

// maxZoneName bounds the names LoadZone tries; the longest IANA name is
// about 30 bytes.
const maxZoneName = 64

// LoadZone returns the IANA zone of that name ("America/New_York", "UTC"),
// loaded once and cached; the zone data is embedded in the binary
// (time/tzdata), so results do not depend on the host. "", "Local" and
// unknown names are an *smsflow.Error with code EINVALID: a recipient's zone
// is never the server's.
func LoadZone(name string) (*time.Location, error) {
	if v, ok := zoneCache.Load(name); ok {
		return v.(*time.Location), nil
	}
	if name == "" || name == "Local" || len(name) > maxZoneName || !utf8.ValidString(name) {
		return nil, smsflow.Errorf(smsflow.EINVALID, "%s is not a time zone; use an IANA name like America/New_York", quoted(name))
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, smsflow.Errorf(smsflow.EINVALID, "%s is not a known time zone (%v); use an IANA name like America/New_York", quoted(name), err)
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

// quoted quotes s for an error message, cut to 40 runes so a huge input does
// not end up in a response or a log.
func quoted(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) <= limit {
		return strconv.Quote(s)
	}
	return strconv.Quote(string([]rune(s)[:limit])) + "…"
}

// AllowedUntil returns, for an instant t at which a send is allowed, the
// instant its allowed window closes in the strictest of the recipient's
// zones: the earliest local end of the (state-narrowed) window on t's local
// date. A message queued at t carries it as send_before. Zero when zones
// are unusable (Check fails closed there first).
func (q QuietHours) AllowedUntil(t time.Time, zones []string, state string) time.Time {
	rules, ok := q.zoneRules(zones, state)
	if !ok {
		return time.Time{}
	}
	var until time.Time
	for _, r := range rules {
		y, m, d := t.In(r.loc).Date()
		wall := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.window.End) * time.Minute)
		end := resolveLocal(wall, r.loc)
		if !end.After(t) { // t is past today's window end here (another day's window): give it a day
			end = resolveLocal(wall.AddDate(0, 0, 1), r.loc)
		}
		if until.IsZero() || end.Before(until) {
			until = end
		}
	}
	return until
}
