package policy

import (
	"strings"
	"testing"
	"time"
)

// The keyword lists of compliance.md §1, written out here independently of
// the table in keywords.go.
var (
	complianceOptOut = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT", "ARRET"}
	complianceStart  = []string{"START", "UNSTOP"}
	complianceHelp   = []string{"HELP", "INFO"}
)

func TestClassifyComplianceLists(t *testing.T) {
	kw := DefaultKeywordConfig()
	for kind, words := range map[KeywordKind][]string{KeywordStop: complianceOptOut, KeywordStart: complianceStart, KeywordHelp: complianceHelp} {
		for _, w := range words {
			for _, body := range []string{w, strings.ToLower(w), " " + w + " ", "\t" + strings.ToLower(w) + "!\n", w + ".", w + "?!"} {
				got := Classify(body, kw, false)
				if got.Kind != kind || got.Keyword != w || got.Flagged {
					t.Errorf("Classify(%q) = %+v, want kind %s keyword %s", body, got, kind, w)
				}
			}
		}
	}
}

func TestClassify(t *testing.T) {
	kw := DefaultKeywordConfig()
	kw.Join = []string{"JOIN", "GLOW"}
	tests := []struct {
		body    string
		pending bool
		kind    KeywordKind
		flagged bool
	}{
		{"STOP", false, KeywordStop, false},
		{" Stop ", false, KeywordStop, false},
		{"opt   out", false, KeywordStop, false},
		{"Opt-Out", false, KeywordRevocation, true}, // not the keyword, but clearly a revocation
		{"join", false, KeywordJoin, false},
		{"Glow!", false, KeywordJoin, false},
		{"yes", false, KeywordNone, false},
		{"YES", true, KeywordConfirm, false},
		{"y", true, KeywordConfirm, false},
		{"Yes please", true, KeywordNone, false}, // whole body only
		{"stop please", false, KeywordRevocation, true},
		{"stop it please", false, KeywordRevocation, true},
		{"please stop texting me", false, KeywordRevocation, true},
		{"Please STOP texting me!!", false, KeywordRevocation, true},
		{"unsubscribe me", false, KeywordRevocation, true},
		{"stop texting", false, KeywordRevocation, true},
		{"remove me from this list", false, KeywordRevocation, true},
		{"Remove me from your list, thanks", false, KeywordRevocation, true},
		{"no more texts", false, KeywordRevocation, true},
		{"Don't text me again", false, KeywordRevocation, true},
		{"can you stop sending me these texts please", false, KeywordRevocation, true},
		{"take me off this list", false, KeywordRevocation, true},
		{"I want to unsubscribe", false, KeywordRevocation, true},
		{"STOP 🛑", false, KeywordRevocation, true},
		// Not revocations: negations, other topics, keywords inside sentences.
		{"don't stop texting me", false, KeywordNone, false},
		{"I will never stop texting you", false, KeywordNone, false},
		{"cancel my order please", false, KeywordNone, false},
		{"cancel it please", false, KeywordNone, false},
		{"where is my order", false, KeywordNone, false},
		{"no more sizes left?", false, KeywordNone, false},
		{"take me to the store", false, KeywordNone, false},
		{"help me find my size", false, KeywordNone, false},
		{"the bus stop is near", false, KeywordNone, false},
		{"", false, KeywordNone, false},
		{"   ", false, KeywordNone, false},
	}
	for _, tt := range tests {
		got := Classify(tt.body, kw, tt.pending)
		if got.Kind != tt.kind || got.Flagged != tt.flagged {
			t.Errorf("Classify(%q, pending=%v) = %+v, want kind %q flagged %v", tt.body, tt.pending, got, tt.kind, tt.flagged)
		}
	}
}

func TestClassifyConfigurable(t *testing.T) {
	kw := KeywordConfig{OptOut: []string{"Arrêt", "baja"}, Revocations: []RevocationPattern{{Name: "leave", Pattern: `leave me alone`}}}
	if got := Classify("BAJA", kw, false); got.Kind != KeywordStop {
		t.Errorf("extra opt-out word: %+v", got)
	}
	if got := Classify("arrêt", kw, false); got.Kind != KeywordStop {
		t.Errorf("extra opt-out word with accent: %+v", got)
	}
	if got := Classify("join", kw, false); got.Kind != KeywordNone {
		t.Errorf("join with no join words configured: %+v", got)
	}
	if got := Classify("please leave me alone!", kw, false); got.Kind != KeywordRevocation || got.Keyword != "leave" {
		t.Errorf("custom revocation pattern: %+v", got)
	}
	if got := Classify("please stop texting me", kw, false); got.Kind != KeywordNone {
		t.Errorf("custom patterns replace the defaults, got %+v", got)
	}
	kw.NoRevocation = true
	if got := Classify("please leave me alone", kw, false); got.Kind != KeywordNone {
		t.Errorf("revocation rule off, got %+v", got)
	}
	if got := Classify("STOP", kw, false); got.Kind != KeywordStop {
		t.Errorf("standard set is always on, got %+v", got)
	}
	if got := Classify(strings.Repeat("stop ", 40)+"texting me", DefaultKeywordConfig(), false); got.Kind != KeywordNone {
		t.Errorf("long text is not a clear revocation, got %+v", got)
	}
}

func TestKeywordConfigValidate(t *testing.T) {
	if err := DefaultKeywordConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for _, kw := range []KeywordConfig{
		{Join: []string{"stop"}},
		{Join: []string{"  "}},
		{OptOut: []string{"help"}},
		{Revocations: []RevocationPattern{{Name: "bad", Pattern: `(unclosed`}}},
	} {
		if err := kw.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", kw)
		}
	}
	// An invalid pattern is skipped by Classify, never a panic.
	bad := KeywordConfig{Revocations: []RevocationPattern{{Pattern: `(unclosed`}, {Name: "ok", Pattern: `go away`}}}
	if got := Classify("go away", bad, false); got.Keyword != "ok" {
		t.Errorf("valid pattern after an invalid one: %+v", got)
	}
	for _, p := range DefaultRevocations {
		if _, err := compileRevocation(p.Pattern); err != nil {
			t.Errorf("default pattern %s: %v", p.Name, err)
		}
	}
}

func TestAllowAutoReply(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	stop, help := AutoReplyStep(KeywordStop), AutoReplyStep(KeywordHelp)
	if AutoReplyStep(KeywordRevocation) != stop {
		t.Fatalf("revocation shares the opt-out confirmation step")
	}
	if got := AllowAutoReply(stop, nil, now); got != "" {
		t.Errorf("first opt-out confirmation: %q", got)
	}
	if got := AllowAutoReply(stop, []AutoReplySent{{stop, now.Add(-23 * time.Hour)}}, now); got != ReplySkippedOptOutConfirmed {
		t.Errorf("second within 24 h: %q", got)
	}
	if got := AllowAutoReply(stop, []AutoReplySent{{stop, now.Add(-24 * time.Hour)}}, now); got != "" {
		t.Errorf("after 24 h: %q", got)
	}
	var recent []AutoReplySent
	for i := range AutoRepliesPerHour {
		if got := AllowAutoReply(help, recent, now); got != "" {
			t.Fatalf("reply %d refused: %q", i+1, got)
		}
		recent = append(recent, AutoReplySent{help, now.Add(-time.Duration(i) * time.Minute)})
	}
	if got := AllowAutoReply(help, recent, now); got != ReplySkippedRateLimited {
		t.Errorf("reply %d: %q, want rate limited", AutoRepliesPerHour+1, got)
	}
	if got := AllowAutoReply(stop, recent, now); got != "" {
		t.Errorf("the opt-out confirmation is not subject to the hourly limit: %q", got)
	}
	if got := AllowAutoReply(help, recent, now.Add(time.Hour)); got != "" {
		t.Errorf("an hour later: %q", got)
	}
}

func TestAutoReplyText(t *testing.T) {
	stop := AutoReplyText(KeywordStop, false, "Glow", "")
	if !strings.HasPrefix(stop, "Glow: ") || !strings.Contains(stop, "START") {
		t.Errorf("stop confirmation %q", stop)
	}
	if got := AutoReplyText(KeywordHelp, false, "Glow", "Glow: help at glow.example"); got != "Glow: help at glow.example" {
		t.Errorf("help uses the configured text: %q", got)
	}
	for _, kind := range []KeywordKind{KeywordStart, KeywordJoin, KeywordConfirm} {
		got := AutoReplyText(kind, false, "Glow", "")
		for _, want := range []string{"Glow", "Msg & data rates may apply", "HELP", "STOP", "recurring"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s confirmation %q lacks %q", kind, got, want)
			}
		}
	}
	if got := AutoReplyText(KeywordJoin, true, "Glow", ""); !strings.Contains(got, "Reply Y") {
		t.Errorf("pending prompt %q", got)
	}
	if got := AutoReplyText(KeywordNone, false, "Glow", ""); got != "" {
		t.Errorf("no reply to an ordinary text: %q", got)
	}
}
