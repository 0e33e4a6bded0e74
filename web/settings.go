package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/api"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/policy"
)

// The settings page (D94) shows the configuration the server runs with —
// governance as the policy checks it (config.Policy), the provider, its
// senders and the webhook URLs to paste into its console — and the API
// keys. Everything is read-only but a key that is stored rather than
// configured, which can be rotated here (api.Keyring.Rotate).

type settingsData struct {
	Quiet        policy.QuietHours
	States       []policy.StateRule
	StateCap     string // the state marketing cap, in words
	Caps         []capRow
	OnCap        string
	SmartSending string
	MaxDeferral  string
	ServiceLimit string
	Categories   []categoryRow
	Flows        []flowPriority
	PolicyError  string

	Provider    string
	Senders     []senderRow
	SendersNote string
	Webhooks    []string
	PublicURL   string

	Keys    []keyRow
	Rotated *rotated
}

type capRow struct {
	Name, Per  string
	Max        int
	Categories string
}

type categoryRow struct {
	Category string
	Priority int
}

type flowPriority struct {
	ID, Category string
	Priority     int
}

type senderRow struct {
	Key, Address, Rate, DailyCap string
	Default                      bool
}

// keyRow is one API key as the page shows it.
type keyRow struct {
	Name, Label, Use string
	Masked, Full     string
	// ConfiguredIn says where the key is set when the configuration or
	// environment sets it ("" when it is stored and can be rotated).
	ConfiguredIn string
	CanRotate    bool
	Grace        string // the old write key still works until … ("" none)
}

// rotated is what a rotation just did.
type rotated struct {
	Name, Key, Note string
	LoggedOut       bool
}

func (u *UI) settings(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "settings", page{Title: "Settings", Nav: "settings", Flash: flash(r), Data: u.settingsData(r.Context())})
}

func (u *UI) settingsData(ctx context.Context) settingsData {
	var d settingsData
	cfg := u.Config
	pol, err := cfg.Policy()
	if err != nil {
		d.PolicyError = "The governance settings could not be read: " + smsflow.ErrorMessage(err)
	}
	d.Quiet = pol.Quiet
	if pol.Quiet.StateRules {
		d.States = policy.States()
		d.StateCap = strconv.Itoa(policy.StateMarketingCap.Max) + " marketing messages per " + duration(policy.StateMarketingCap.Per) + " to a number in " + strings.Join(policy.StateMarketingCap.States, ", ")
	}
	for _, c := range pol.Caps {
		d.Caps = append(d.Caps, capRow{Name: c.Name, Max: c.Max, Per: duration(c.Per), Categories: strings.Join(c.Categories, ", ")})
	}
	d.OnCap = pol.OnCap
	if d.OnCap == "" {
		d.OnCap = policy.OnCapSkip
	}
	d.SmartSending = "off"
	if pol.SmartSending > 0 {
		d.SmartSending = "at most one marketing message per " + duration(pol.SmartSending)
	}
	d.MaxDeferral = duration(pol.MaxDeferral)
	if pol.ServicePerNumber.Max > 0 {
		d.ServiceLimit = strconv.Itoa(pol.ServicePerNumber.Max) + " per " + duration(pol.ServicePerNumber.Per)
	} else {
		d.ServiceLimit = "off"
	}
	for _, c := range flow.Categories {
		d.Categories = append(d.Categories, categoryRow{Category: string(c), Priority: c.DefaultPriority()})
	}
	if u.Catalog != nil {
		for _, h := range u.Catalog.Heads() {
			if h.Status == engine.FlowArchived {
				continue
			}
			if comp, err := u.Catalog.Version(ctx, h.ID, h.Version); err == nil {
				d.Flows = append(d.Flows, flowPriority{ID: h.ID, Category: string(comp.Category), Priority: comp.Priority})
			}
		}
		slices.SortStableFunc(d.Flows, func(a, b flowPriority) int { return b.Priority - a.Priority })
	}

	d.Provider = cfg.Provider
	if d.Provider == "" {
		d.Provider = "console"
	}
	if s, err := cfg.Senders(); err != nil {
		d.SendersNote = "The senders could not be read: " + smsflow.ErrorMessage(err)
	} else {
		if s.Open {
			d.SendersNote = "Any from: is accepted (console without console.senders): messages go from the one sender."
		}
		for i, x := range s.List {
			row := senderRow{Key: x.Key, Address: x.Address, Rate: "no limit", DailyCap: "none", Default: i == 0}
			if row.Address == "" {
				row.Address = "(the section's default)"
			}
			if !x.Pacing.Rate.IsZero() {
				row.Rate = x.Pacing.Rate.String() + " segments"
			}
			if x.Pacing.DailyCap > 0 {
				row.DailyCap = num(int64(x.Pacing.DailyCap)) + " segments per UTC day"
			}
			d.Senders = append(d.Senders, row)
		}
	}
	d.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	for _, p := range u.Webhooks {
		d.Webhooks = append(d.Webhooks, d.PublicURL+p)
	}
	d.Keys = u.keyRows()
	return d
}

// duration writes a policy duration the way the configuration does
// ("24h", "30m", "2d").
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "none"
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}

// keyRows are the API keys, masked, with where each is set.
func (u *UI) keyRows() []keyRow {
	var k api.Keys
	if u.Keys != nil {
		k = u.Keys.Keys()
	} else {
		k = api.Keys{Admin: u.AdminKey}
	}
	uses := map[string]string{
		api.KeyWrite:  "Ingestion from browsers and apps: public, it sits in web pages; its events are treated as public.",
		api.KeyServer: "Ingestion from your back ends: secret; its events are trusted.",
		api.KeyAdmin:  "Every other /v1 route, and this web UI's login.",
	}
	var out []keyRow
	for _, name := range api.KeyNames {
		v := map[string]string{api.KeyWrite: k.Write, api.KeyServer: k.Server, api.KeyAdmin: k.Admin}[name]
		row := keyRow{Name: name, Label: strings.ToUpper(name[:1]) + name[1:] + " key", Use: uses[name], Masked: mask(v), Full: v}
		if u.Keys != nil {
			row.ConfiguredIn = u.Keys.Configured(name)
			row.CanRotate = row.ConfiguredIn == ""
		}
		if name == api.KeyWrite {
			row.Grace = graceNote(k.InGrace(u.now()))
		}
		out = append(out, row)
	}
	return out
}

// graceNote says which replaced write keys still work, and until when.
func graceNote(keys []api.PreviousKey) string {
	if len(keys) == 0 {
		return ""
	}
	parts := make([]string, len(keys))
	for i, p := range keys {
		parts[i] = mask(p.Key) + " until " + p.Until.UTC().Format("2006-01-02 15:04 MST")
	}
	if len(keys) == 1 {
		return "The write key it replaced (" + parts[0] + ") keeps working."
	}
	return "The write keys it replaced keep working: " + strings.Join(parts, "; ") + "."
}

// mask shows a key's prefix and last four characters.
func mask(k string) string {
	if len(k) <= 10 {
		return strings.Repeat("•", len(k))
	}
	return k[:3] + strings.Repeat("•", 8) + k[len(k)-4:]
}

// rotateKey rotates a stored key and shows the new one once, with what
// becomes of the old one.
func (u *UI) rotateKey(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !slices.Contains(api.KeyNames, name) {
		u.fail(w, r, http.StatusNotFound, "There is no "+name+" key: the keys are write, server and admin.")
		return
	}
	if u.Keys == nil {
		u.fail(w, r, http.StatusConflict, "The keys cannot be rotated on this server.")
		return
	}
	k, err := u.Keys.Rotate(r.Context(), name)
	if err != nil {
		switch smsflow.ErrorCode(err) {
		case smsflow.ECONFLICT, smsflow.EINVALID:
			d := u.settingsData(r.Context())
			u.render(w, r, http.StatusConflict, "settings", page{Title: "Settings", Nav: "settings", Data: d,
				Flash: "Not rotated: " + smsflow.ErrorMessage(err)})
		default:
			u.Log.Error("web: rotate key", "key", name, "err", err)
			u.fail(w, r, http.StatusInternalServerError, "The key could not be rotated; the log says why.")
		}
		return
	}
	rot := &rotated{Name: name}
	switch name {
	case api.KeyWrite:
		rot.Key = k.Write
		until := u.now().Add(api.WriteKeyGrace)
		if g := k.InGrace(u.now()); len(g) > 0 {
			until = g[0].Until
		}
		rot.Note = "The old write key keeps working for 24 hours (until " + until.UTC().Format("2006-01-02 15:04 MST") + "), so pages that still carry it do not lose events: put the new one in your pages and apps before then."
		if g := k.InGrace(u.now()); len(g) > 1 {
			rot.Note += " The keys replaced before it keep their own 24 hours."
		}
	case api.KeyServer:
		rot.Key = k.Server
		rot.Note = "The old server key no longer works: put the new one in your back ends now."
	case api.KeyAdmin:
		rot.Key = k.Admin
		rot.Note = "The old admin key no longer works, and every web UI session has ended, this one too: copy the new key, then log in again with it."
		rot.LoggedOut = true
	}
	d := u.settingsData(r.Context())
	d.Rotated = rot
	if rot.LoggedOut {
		u.clearSession(w)
		r = r.WithContext(context.WithValue(r.Context(), sessionCtxKey{}, (*session)(nil)))
	}
	u.Log.Info("web: API key rotated", "key", name)
	u.render(w, r, http.StatusOK, "settings", page{Title: "Settings", Nav: "settings", Data: d})
}
