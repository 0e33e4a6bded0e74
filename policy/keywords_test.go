package policy

import (
	"strings"
	"testing"
	"time"
)

// The carrier and CTIA keyword lists, written out here independently of
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
				if got.Kind != kind || got.Keyword != w || got.Flagged || got.Folded {
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
	if got := Classify(strings.Repeat("stop ", 40)+"texting me", DefaultKeywordConfig(), false); got.Kind != KeywordRevocation {
		t.Errorf("a repeated stop before \"texting me\" revokes, got %+v", got)
	}
	if got := Classify(strings.Repeat("x", MaxRevocationRunes)+" STOP", DefaultKeywordConfig(), false); got.Kind != KeywordNone {
		t.Errorf("a text longer than MaxRevocationRunes is not read, got %+v", got)
	}
	if got := Classify("Baja. Gracias", kw, false); got.Kind != KeywordNone {
		t.Errorf("custom patterns replace the defaults (the opt-out word rule too), got %+v", got)
	}
	withWords := KeywordConfig{OptOut: []string{"Arrêt", "baja"}}
	for _, body := range []string{"Baja. Gracias", "baja baja", "Número equivocado. BAJA", "Merci, arrêt!"} {
		if got := Classify(body, withWords, false); got.Kind != KeywordRevocation || got.Keyword != "optout-word" {
			t.Errorf("Classify(%q) with extra opt-out words = %+v, want the optout-word revocation", body, got)
		}
	}
}

// TestClassifyRevocationInSentences is issue 15 item 5: an opt-out word
// standing as its own sentence or clause, repeated, or addressed to the
// texts revokes (FCC 24-24: a revocation "by any reasonable means"); the
// same words inside a sentence about something else do not. Real replies,
// both ways.
func TestClassifyRevocationInSentences(t *testing.T) {
	revoke := []string{
		// An opt-out word as its own sentence or clause.
		"Wrong number. STOP",
		"wrong number, stop",
		"Who is this? Stop.",
		"STOP!!! I never signed up for this",
		"I never signed up for this. Stop",
		"Stop, I'm not interested",
		"Not interested. Unsubscribe",
		"ok thanks. cancel",
		"Got it - STOP",
		"STOP (wrong number)",
		"Thanks but stop",
		"I already bought one, please stop",
		"Hi, this is not Ana anymore. Stop texting this number",
		"END.",
		"Quit. Now.",
		"This is so annoying. STOP NOW",
		"Unsubscribe me please, I moved",
		"I've told you 5 times. Stop!",
		"Please remove my number. Thanks",
		// Repeated.
		"stop stop stop",
		"STOP STOP",
		"Stop. Stop. Stop.",
		"stop stop texting me",
		"cancel cancel",
		"STOP unsubscribe",
		// Addressed to the texts.
		"cancel texts",
		"Cancel all texts",
		"cancel my text alerts",
		"end these messages",
		"End the texts please",
		"stop the deals",
		"Stop sending me promos",
		"quit texting me",
		"no more texts!",
		"No more.",
		"I don't want these messages anymore",
		"How do I unsubscribe?",
		"how do i stop these texts",
		"I'm trying to unsubscribe from this list",
		"I'd like to opt out",
		"Please take me off your list",
		"Leave me alone",
		"You have the wrong number",
		"wrong person",
		"Stop it. Seriously",
		"don't text me",
		"Do not send me any more texts",
		"STOP 🛑🛑",
		"Stop\nThanks",
	}
	keep := []string{
		"When does the sale end?",
		"Can I cancel my order?",
		"don't stop the deals",
		"I can't stop buying your serums",
		"Is this the end of the sale?",
		"How do I cancel my order?",
		"I want to cancel my order",
		"Cancel my order please",
		"cancel it please",
		"Please don't stop texting me, I love these",
		"Can't stop, won't stop",
		"Will the sale end soon?",
		"Non-stop deals, love it!",
		"Stop by the store later?",
		"Where's the nearest bus stop to your shop?",
		"Quit playing, is this deal real?",
		"The end of season sale is great",
		"What time do you close? I'll stop by",
		"No more sizes left?",
		"Yes please",
		"Thanks!",
		"Where is my order",
		"Can I change my delivery address",
		"I stopped getting the tracking link, can you resend it",
		"Do you ship to Canada",
		"Love this, send me more deals",
		"Never stop texting me these deals",
		"Don't end the sale yet!",
		"I can't cancel my subscription box online, help",
		"Is the promo code still valid? It ended yesterday I think",
		"Does the offer end today",
		"Can you send the link again",
		"my order number is 12345",
		"", "   ", "?!",
	}
	kw := DefaultKeywordConfig()
	for _, body := range revoke {
		if got := Classify(body, kw, false); !got.OptOut() {
			t.Errorf("Classify(%q) = %+v: a reasonable person reads it as stop, want an opt-out", body, got)
		}
	}
	for _, body := range keep {
		if got := Classify(body, kw, false); got.Kind != KeywordNone {
			t.Errorf("Classify(%q) = %+v: not a revocation, want none", body, got)
		}
	}
	if n := len(revoke) + len(keep); n < 40 {
		t.Fatalf("only %d replies in the table", n)
	}
}

// TestClassifyUnicodeForms is issue 16 item 11: full-width letters,
// accents and invisible characters do not hide an opt-out word.
func TestClassifyUnicodeForms(t *testing.T) {
	kw := DefaultKeywordConfig()
	for body, want := range map[string]string{
		"ＳＴＯＰ":        "STOP",
		"ｓｔｏｐ":        "STOP",
		"ＳＴＯＰ！":       "STOP",
		"ARRÊT":       "ARRET",
		"arrêt":       "ARRET",
		"Arrêt.":      "ARRET",
		"ARRE\u0302T": "ARRET", // decomposed: E + combining circumflex
		"S\u200bTOP":  "STOP",  // zero-width space inside
		"\ufeffSTOP":  "STOP",  // byte-order mark in front
		"ＵＮＳＵＢＳＣＲＩＢＥ": "UNSUBSCRIBE",
		"ＯＰＴ　ＯＵＴ":     "OPT OUT", // ideographic space
		"ＨＥＬＰ":        "HELP",
		"ｓｔａｒｔ":       "START",
	} {
		got := Classify(body, kw, false)
		if got.Keyword != want || got.Flagged || !got.Folded {
			t.Errorf("Classify(%q) = %+v, want keyword %s, folded", body, got, want)
		}
	}
	for _, body := range []string{"ｐｌｅａｓｅ ｓｔｏｐ ｔｅｘｔｉｎｇ ｍｅ", "Wrong number. ＳＴＯＰ", "Arrêt, merci", "stöp stöp"} {
		if got := Classify(body, kw, false); got.Kind != KeywordRevocation {
			t.Errorf("Classify(%q) = %+v, want a revocation", body, got)
		}
	}
	// Configured words fold the same way, whichever side carries the accent.
	if err := (KeywordConfig{Join: []string{"ＳＴＯＰ"}}).Validate(); err == nil {
		t.Errorf("a full-width STOP as a JOIN word: want an error (it is the standard opt-out keyword)")
	}
	if got := Classify("baja", KeywordConfig{OptOut: []string{"Bájà"}}, false); got.Kind != KeywordStop || got.Keyword != "BAJA" {
		t.Errorf("configured accented word vs plain reply: %+v", got)
	}
	if got := Classify("BÁJÀ", KeywordConfig{OptOut: []string{"baja"}}, false); got.Kind != KeywordStop || got.Keyword != "BAJA" {
		t.Errorf("configured plain word vs accented reply: %+v", got)
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
		if _, err := compileRevocation(p.Pattern, defaultOptOutAlt()); err != nil {
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
