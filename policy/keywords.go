package policy

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// KeywordKind is what an inbound text means to the consent machinery.
type KeywordKind string

// Keyword kinds. KeywordNone is an ordinary reply.
const (
	KeywordNone       KeywordKind = ""
	KeywordStop       KeywordKind = "stop"       // opt-out set: unsubscribe
	KeywordHelp       KeywordKind = "help"       // reply with the brand's help text
	KeywordStart      KeywordKind = "start"      // resubscribe
	KeywordJoin       KeywordKind = "join"       // configurable opt-in words
	KeywordConfirm    KeywordKind = "confirm"    // Y/YES while double opt-in is pending
	KeywordRevocation KeywordKind = "revocation" // not a keyword, but clearly asks to stop
)

// KeywordSet is one row of the keyword table: the words of one kind and
// where they come from.
type KeywordSet struct {
	Kind   KeywordKind
	Words  []string // upper case; a body matches when, normalized, it equals one
	Source string   // where the words come from (carrier rules, CTIA, FCC)
}

// keywordTable is the carrier and CTIA keyword lists as data. The standard sets are always on;
// JOIN words come from the configuration (KeywordConfig.Join) and extra
// opt-out words for other markets from KeywordConfig.OptOut. Order matters
// only for documentation: the sets are disjoint.
var keywordTable = []KeywordSet{
	{Kind: KeywordStop, Words: []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"},
		Source: "opt-out | Twilio Advanced Opt-Out docs; FCC 24-24 names stop, quit, end, revoke, opt out, cancel, unsubscribe"},
	{Kind: KeywordStop, Words: []string{"ARRET"},
		Source: "opt-out (other markets) | ARRET (FR-CA), plus per-language lists configurable | AWS End User Messaging keyword docs"},
	{Kind: KeywordStart, Words: []string{"START", "UNSTOP"},
		Source: "opt-in / resubscribe | START, UNSTOP | Twilio error 23002 page"},
	{Kind: KeywordConfirm, Words: []string{"Y", "YES"},
		Source: "opt-in / resubscribe | (YES when confirming double opt-in) | Twilio error 23002 page; Y as in the issue"},
	{Kind: KeywordHelp, Words: []string{"HELP", "INFO"},
		Source: "help | HELP, INFO | Twilio error 23002 page"},
}

// DefaultJoin is the JOIN word list when the configuration names none
// (config keywords.join).
var DefaultJoin = []string{"JOIN"}

// RevocationPattern is one rule of the fuzzy revocation check: a regular
// expression over one normalized clause of the text (lower case, accents and
// compatibility forms folded, letters and digits only, apostrophes dropped,
// single spaces). It must match the whole clause, after politeness words
// ("please", "can you", "thanks", …) are taken off either end, so "don't
// stop texting me" never matches "stop texting me". {optout} in a pattern
// stands for every opt-out word: the STOP set of the keyword table and the
// configured extra opt-out words (keywords.opt_out).
type RevocationPattern struct {
	Name    string
	Pattern string
}

// revocationList is the tail of "remove me from …" and friends.
const revocationList = `(?: (?:from|off|off of|out of)(?: (?:this|the|your|these|all|all your|all these|all of your|all of these|my))?(?: (?:mailing|sms|text|texting|marketing|message|contact|promo|promotional))? (?:list|lists|texts|messages|msgs|sms|alerts|service|program|thing|number))?`

// revocationTexts are the things a person asks to stop: the texts
// themselves, never an order or a sale ("cancel my order" is no revocation).
const revocationTexts = `(?:texts|text messages|txts|messages|msgs|sms|sms messages|alerts|text alerts|sms alerts|spam|texting|marketing|marketing texts|marketing messages|promos|promotions|promo texts|promotional texts|promotional messages|offers|deals|ads|notifications|reminders|updates|text updates|subscription to texts|text subscription|sms subscription|texts subscription)`

// revocationDeterminer may stand between a verb and revocationTexts.
const revocationDeterminer = `(?:(?:the|these|those|all|your|all these|all the|all your|all of these|all of your|all of the|this|my|any|any more|anymore|any of these|any of your|any of the|these stupid|all these stupid) )?`

// DefaultRevocations are the built-in revocations in words (the FCC lets
// consumers revoke "by any reasonable means", FCC 24-24).
// The text is split into clauses (at . ! ? ; , : line breaks and spaced
// dashes) and revokes when the whole text or any one clause matches a
// pattern. So an opt-out word standing as its own sentence or clause
// ("Wrong number. STOP"), repeated ("stop stop stop") or addressed to the
// texts ("cancel texts", "end these messages") revokes, while the same word
// inside a sentence about something else does not ("When does the sale
// end?", "Can I cancel my order?", "don't stop the deals"). Where a clause's
// only clear intent is to stop, it revokes: a wrongly kept subscriber is the
// costly error, and a wrongly removed one is told how to come back (the STOP
// confirmation says "Reply START"). "cancel it please" is not one (it may
// be about an order); "stop it please" is.
var DefaultRevocations = []RevocationPattern{
	{Name: "optout-word", Pattern: `{optout}(?: {optout})*`},
	{Name: "stop-polite", Pattern: `(?:stop|stopall|stop all|quit)(?: (?:it|this|that|these|them|everything|all|all of this|all of it|now|it all|it now|this now))+`},
	{Name: "stop-texting", Pattern: `(?:stop|quit|cease|end|halt) (?:texting|txting|messaging|msging|contacting|spamming|sending|sending me|texting me|messaging me|contacting me|spamming me|emailing me)(?: me| us| this number| my number| to this number| to me)?(?: ` + revocationDeterminer + revocationTexts + `| these| this| stuff| things| any more| anymore| every day| all the time)?`},
	{Name: "stop-these", Pattern: `(?:stop|quit|end|cancel|cease|halt|stopall) ` + revocationDeterminer + revocationTexts},
	{Name: "unsubscribe-me", Pattern: `(?:unsubscribe|unsub|opt out|optout|opt me out|sign me out|sign me off)(?: me| this number| my number| us)?` + revocationList},
	{Name: "remove-me", Pattern: `(?:remove|delete|unlist|drop) (?:me|this number|my number|us|my phone number|my phone)` + revocationList},
	{Name: "take-me-off", Pattern: `(?:take|get) (?:me|this number|my number|us) (?:off|out)(?: of)?(?: (?:this|the|your|these|all|all your))?(?: (?:mailing|sms|text|texting|marketing|message|contact))?(?: (?:list|lists|texts|messages|sms|alerts|program))?`},
	{Name: "no-more-texts", Pattern: `no more(?: ` + revocationDeterminer + revocationTexts + `)?`},
	{Name: "dont-text-me", Pattern: `(?:dont|do not|never) (?:text|txt|message|msg|contact|sms|spam)(?: (?:me|this number|my number|us))?(?: again| anymore| any more| ever again)?`},
	{Name: "dont-send", Pattern: `(?:dont|do not|never) send (?:me |this number |my number |us )?(?:any ?more |any |more |these |those |your |any of these |any of your )?` + revocationTexts + `(?: again| anymore| any more| ever again)?`},
	{Name: "i-want-out", Pattern: `(?:(?:i|i really) (?:want|would like|wish|need|wanna|would love)|id like|id love|i am trying|im trying|i have tried|ive tried|i tried) to (?:unsubscribe|unsub|opt out|optout|be removed|be taken off|stop (?:receiving|getting) ` + revocationDeterminer + revocationTexts + `|stop ` + revocationDeterminer + revocationTexts + `|cancel ` + revocationDeterminer + revocationTexts + `)` + revocationList + `|i want out`},
	{Name: "dont-want", Pattern: `i (?:dont|do not) (?:want|need) ` + revocationDeterminer + revocationTexts + `(?: anymore| any more)?`},
	{Name: "how-to-stop", Pattern: `how (?:do|can|would) i (?:unsubscribe|unsub|opt out|optout|stop (?:receiving |getting )?` + revocationDeterminer + revocationTexts + `|cancel ` + revocationDeterminer + revocationTexts + `|get off (?:this|the|your) list)`},
	{Name: "leave-me-alone", Pattern: `leave me alone`},
	{Name: "wrong-number", Pattern: `(?:(?:you have|youve|you got|you have got|this is|its|this is a|thats|that is|sorry|sorry this is|sorry wrong) )?(?:the |a )?wrong (?:number|person|phone number|nbr|#)`},
}

// Politeness around a revocation: taken off either end before a pattern is
// matched (the patterns stay readable and "please stop texting me" matches
// "stop texting me"). Opt-out words count as politeness in front ("stop
// stop texting me").
const (
	revocationPrefix = `(?:(?:{optout}|hi|hey|hello|ok|okay|yo|please|pls|plz|plse|kindly|just|seriously|again|i said|can you|could you|would you|will you|can u|could u|would u|pls just|please just|i want you to|i need you to|i would like you to|id like you to|i ask you to|i am asking you to|im asking you to|for the last time|one more time|omg|ugh|sorry|thanks|thank you|but|so|and) )*`
	revocationSuffix = `(?: (?:please|pls|plz|plse|thanks|thank you|thank u|thx|ty|now|right now|asap|immediately|already|for good|forever|permanently|today|again|ok|okay|sorry|at once))*`
)

// MaxRevocationRunes bounds the texts the revocation rule looks at (an SMS
// body is at most 1,600 characters): every clause of a text up to this
// length is read, so a long reply that ends with "STOP" still revokes.
const MaxRevocationRunes = 1600

// KeywordConfig is the configurable part of keyword matching. The standard
// STOP/START/HELP sets are always on.
type KeywordConfig struct {
	// Join lists the opt-in words (config keywords.join); none when empty.
	Join []string
	// OptOut adds opt-out words for other markets to the standard set.
	OptOut []string
	// Revocations replaces DefaultRevocations when not nil.
	Revocations []RevocationPattern
	// NoRevocation turns the fuzzy revocation rule off.
	NoRevocation bool
}

// DefaultKeywordConfig is the configuration's default: JOIN opts in, the
// built-in revocation rule is on.
func DefaultKeywordConfig() KeywordConfig {
	return KeywordConfig{Join: append([]string(nil), DefaultJoin...)}
}

// Validate checks the configurable words and patterns, naming the one that
// is wrong: a JOIN or extra opt-out word that is empty or already a standard
// keyword of another kind, or a pattern that does not compile.
func (k KeywordConfig) Validate() error {
	std := map[string]KeywordKind{}
	for _, set := range keywordTable {
		for _, w := range set.Words {
			std[w] = set.Kind
		}
	}
	check := func(field string, kind KeywordKind, words []string) error {
		for i, w := range words {
			n := normalizeKeyword(w)
			if n == "" {
				return fmt.Errorf("keywords.%s[%d] is empty: give a word such as %q", field, i, "JOIN")
			}
			if k, ok := std[n]; ok && k != kind {
				return fmt.Errorf("keywords.%s[%d] %q is already a standard %s keyword: pick another word", field, i, w, k)
			}
		}
		return nil
	}
	if err := check("join", KeywordJoin, k.Join); err != nil {
		return err
	}
	if err := check("opt_out", KeywordStop, k.OptOut); err != nil {
		return err
	}
	for i, p := range k.Revocations {
		if _, err := compileRevocation(p.Pattern, optOutAlternation(k.OptOut)); err != nil {
			return fmt.Errorf("keywords.revocations[%d] (%s): %w", i, p.Name, err)
		}
	}
	return nil
}

// Match is what Classify found in a body.
type Match struct {
	Kind KeywordKind `json:"kind,omitempty"`
	// Keyword is the matched word in its table form ("STOP", "OPT OUT"),
	// or the revocation pattern's name.
	Keyword string `json:"keyword,omitempty"`
	// Flagged marks a revocation: treated as an opt-out, shown for review.
	Flagged bool `json:"flagged,omitempty"`
	// Folded marks a keyword that matched only once Unicode forms were
	// folded ("ＳＴＯＰ", "arrêt"): a provider that answers keywords itself
	// (Twilio Advanced Opt-Out) compares the plain text and has not
	// answered it, so smsflow must.
	Folded bool `json:"folded,omitempty"`
}

// OptOut reports whether the match unsubscribes the number.
func (m Match) OptOut() bool { return m.Kind == KeywordStop || m.Kind == KeywordRevocation }

// Classify matches an inbound body against the keyword sets: whitespace and trailing punctuation trimmed, runs of inner
// whitespace made one space, compared case-insensitively with the whole
// body. Y/YES is a keyword only while the number's double opt-in is pending.
// A body that is no keyword but clearly asks to stop ("please stop texting
// me") is a flagged revocation unless kw.NoRevocation. Any string is
// accepted; it never panics.
func Classify(body string, kw KeywordConfig, pending bool) Match {
	n := normalizeKeyword(body)
	if n != "" {
		for _, set := range keywordTable {
			if set.Kind == KeywordConfirm && !pending {
				continue
			}
			if containsWord(set.Words, n) {
				return Match{Kind: set.Kind, Keyword: n, Folded: folded(body, n)}
			}
		}
		if containsWord(upperAll(kw.OptOut), n) {
			return Match{Kind: KeywordStop, Keyword: n, Folded: folded(body, n)}
		}
		if containsWord(upperAll(kw.Join), n) {
			return Match{Kind: KeywordJoin, Keyword: n, Folded: folded(body, n)}
		}
	}
	if kw.NoRevocation {
		return Match{}
	}
	if name := matchRevocation(body, kw.Revocations, kw.OptOut); name != "" {
		return Match{Kind: KeywordRevocation, Keyword: name, Flagged: true}
	}
	return Match{}
}

// normalizeKeyword folds Unicode compatibility forms and accents
// (foldText: "ＳＴＯＰ" and "ARRÊT" read as STOP and ARRET), trims whitespace
// and trailing punctuation, collapses inner whitespace and upper-cases the
// rest.
func normalizeKeyword(s string) string {
	s = strings.TrimRightFunc(strings.TrimSpace(foldText(s)), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) || r == utf8.RuneError
	})
	return strings.ToUpper(strings.Join(strings.Fields(s), " "))
}

// folded reports whether body reads as the keyword n only after foldText.
func folded(body, n string) bool {
	s := strings.TrimRightFunc(strings.TrimSpace(body), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) || r == utf8.RuneError
	})
	return strings.ToUpper(strings.Join(strings.Fields(s), " ")) != n
}

// foldText maps the ways one word can be written to one form before a body
// is compared with the keyword lists: compatibility forms become their plain
// letters (full-width "ＳＴＯＰ", "ﬁ", the long s "ſ"), accents and other
// combining marks are dropped ("ARRÊT" → "ARRET", "arrêt" → "arret"), and
// invisible format characters (zero-width spaces and joiners, BOM, soft
// hyphen) are removed. Configured words go through the same fold, so a
// word is matched however its accents are typed. The fold is NFKD, then
// removal of the nonspacing marks (Mn) and format characters (Cf), then NFC.
func foldText(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	// A Chain keeps state: one per call.
	t := transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), runes.Remove(runes.In(unicode.Cf)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil { // invalid UTF-8 is carried through as U+FFFD; no error expected
		return s
	}
	return out
}

func containsWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

func upperAll(words []string) []string {
	out := make([]string, 0, len(words))
	for _, w := range words {
		if n := normalizeKeyword(w); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// normalizeRevocation lower-cases a (folded) clause, drops apostrophes
// ("don't" → "dont") and turns everything that is not a letter or digit
// into single spaces.
func normalizeRevocation(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == '\'' || r == '’' || r == '‘' || r == '`' || r == 'ʼ':
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		default:
			space = true
		}
	}
	return b.String()
}

// revocationClauses splits a folded text into its normalized clauses: at
// sentence and clause punctuation, line breaks, brackets and dashes that
// stand between words (a hyphen inside a word, as in "opt-out", does not
// split). Empty clauses are left out.
func revocationClauses(s string) []string {
	var out []string
	rs := []rune(s)
	start := 0
	cut := func(end int) {
		if c := normalizeRevocation(string(rs[start:end])); c != "" {
			out = append(out, c)
		}
		start = end + 1
	}
	for i, r := range rs {
		switch r {
		case '.', '!', '?', ';', ',', ':', '\n', '\r', '…', '¡', '¿', '(', ')', '[', ']', '—', '–', '/', '|', '•':
			cut(i)
		case '-':
			if i == 0 || i == len(rs)-1 || unicode.IsSpace(rs[i-1]) || unicode.IsSpace(rs[i+1]) {
				cut(i)
			}
		}
	}
	cut(len(rs))
	return out
}

// optOutAlternation is the regular expression {optout} stands for: the
// STOP set of the keyword table and the extra opt-out words, normalized as
// clauses are.
func optOutAlternation(extra []string) string {
	var words []string
	for _, set := range keywordTable {
		if set.Kind == KeywordStop {
			words = append(words, set.Words...)
		}
	}
	words = append(words, extra...)
	seen := map[string]bool{}
	var alts []string
	for _, w := range words {
		n := normalizeRevocation(foldText(w))
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		alts = append(alts, regexp.QuoteMeta(n))
	}
	sort.Strings(alts)
	return `(?:` + strings.Join(alts, "|") + `)`
}

var (
	revocationCache  sync.Map // optOut alternation + "\x00" + pattern → *regexp.Regexp or error
	defaultOptOutAlt = sync.OnceValue(func() string { return optOutAlternation(nil) })
)

// compileRevocation expands {optout} to optAlt, wraps a pattern with the
// politeness affixes, anchors it and compiles it once.
func compileRevocation(p, optAlt string) (*regexp.Regexp, error) {
	key := optAlt + "\x00" + p
	if v, ok := revocationCache.Load(key); ok {
		if re, ok := v.(*regexp.Regexp); ok {
			return re, nil
		}
		return nil, v.(error)
	}
	re, err := regexp.Compile(strings.ReplaceAll(`^`+revocationPrefix+`(?:`+p+`)`+revocationSuffix+`$`, "{optout}", optAlt))
	if err != nil {
		err = fmt.Errorf("pattern %q does not compile: %w", p, err)
		revocationCache.Store(key, err)
		return nil, err
	}
	revocationCache.Store(key, re)
	return re, nil
}

// matchRevocation returns the name of the first pattern that the whole text
// or one of its clauses matches, "" when none. extra are the configured
// opt-out words ({optout}). Patterns that do not compile are skipped
// (Validate reports them at start-up).
func matchRevocation(body string, patterns []RevocationPattern, extra []string) string {
	if patterns == nil {
		patterns = DefaultRevocations
	}
	if utf8.RuneCountInString(strings.TrimSpace(body)) > MaxRevocationRunes {
		return ""
	}
	folded := foldText(body)
	whole := normalizeRevocation(folded)
	if whole == "" {
		return ""
	}
	texts := append([]string{whole}, revocationClauses(folded)...)
	optAlt := defaultOptOutAlt()
	if len(extra) > 0 {
		optAlt = optOutAlternation(extra)
	}
	for _, p := range patterns {
		re, err := compileRevocation(p.Pattern, optAlt)
		if err != nil {
			continue
		}
		for _, t := range texts {
			if re.MatchString(t) {
				if p.Name == "" {
					return "revocation"
				}
				return p.Name
			}
		}
	}
	return ""
}

// Automatic replies: their step ids, limits and texts.

// AutoReplyStepPrefix starts the step id of every automatic reply
// ("keyword:stop"). Such messages have no run and flow id "": they are
// service messages and count toward no frequency cap.
const AutoReplyStepPrefix = "keyword:"

// AutoRepliesPerHour is the most automatic replies one number gets in any
// hour (opt-out confirmations excepted: they follow OptOutConfirmationEvery).
const AutoRepliesPerHour = 5

// OptOutConfirmationEvery is how often one number may get an opt-out
// confirmation: one per opt-out, at most one per 24 h, so a STOP loop
// cannot make smsflow text a number over and over.
const OptOutConfirmationEvery = 24 * time.Hour

// AutoReplyTTL is how long a queued automatic reply may wait for the
// provider; after that it is stale and not sent.
const AutoReplyTTL = time.Hour

// AutoReplyStep is the step id of an automatic reply to a keyword kind.
// Revocations share the STOP confirmation ("keyword:stop").
func AutoReplyStep(kind KeywordKind) string {
	if kind == KeywordRevocation {
		kind = KeywordStop
	}
	return AutoReplyStepPrefix + string(kind)
}

// AutoReplySent is one automatic reply already queued to a number.
type AutoReplySent struct {
	StepID string
	At     time.Time
}

// Why an automatic reply was not queued.
const (
	ReplySkippedRateLimited     = "rate_limited"           // AutoRepliesPerHour reached
	ReplySkippedOptOutConfirmed = "opt_out_confirmed_24h"  // an opt-out confirmation went out in the last 24 h
	ReplySkippedProvider        = "provider_replies"       // the provider (Twilio Advanced Opt-Out) answers this keyword itself
	ReplySkippedNoChange        = "consent_change_refused" // the ledger refused the change, so nothing to confirm
)

// AllowAutoReply decides whether a number may get the automatic reply with
// step id step now, given the automatic replies it got in the last 24 h
// (any order). "" means yes; otherwise the reason it may not.
func AllowAutoReply(step string, recent []AutoReplySent, now time.Time) string {
	stop := AutoReplyStep(KeywordStop)
	if step == stop {
		for _, r := range recent {
			if r.StepID == stop && now.Sub(r.At) < OptOutConfirmationEvery {
				return ReplySkippedOptOutConfirmed
			}
		}
		return ""
	}
	n := 0
	for _, r := range recent {
		if now.Sub(r.At) < time.Hour {
			n++
		}
	}
	if n >= AutoRepliesPerHour {
		return ReplySkippedRateLimited
	}
	return ""
}

// AutoReplyText is what smsflow answers: brand is the brand name, help the
// configured help text (used as is for HELP; a default is built when it is
// empty). The texts carry no marketing content (CTIA: an answer to a
// keyword is not a marketing message).
// kind is the keyword kind; joinPending asks for the double opt-in "Reply Y".
func AutoReplyText(kind KeywordKind, joinPending bool, brand, help string) string {
	if strings.TrimSpace(brand) == "" {
		brand = "smsflow"
	}
	var t string
	switch {
	case kind == KeywordHelp && strings.TrimSpace(help) != "":
		return help
	case kind == KeywordHelp:
		t = autoReplyTexts["help"]
	case kind == KeywordStop || kind == KeywordRevocation:
		t = autoReplyTexts["stop"]
	case kind == KeywordStart:
		t = autoReplyTexts["start"]
	case kind == KeywordJoin && joinPending:
		t = autoReplyTexts["pending"]
	case kind == KeywordJoin || kind == KeywordConfirm:
		t = autoReplyTexts["subscribed"]
	default:
		return ""
	}
	return strings.ReplaceAll(t, "{brand}", brand)
}

// autoReplyTexts are the automatic replies, {brand} replaced by the brand
// name. Opt-in confirmations carry what CTIA asks for: brand, recurring
// disclosure, "Msg & data rates may apply", HELP and STOP instructions.
var autoReplyTexts = map[string]string{
	"stop":       "{brand}: You are unsubscribed and will receive no more messages. Reply START to resubscribe.",
	"start":      "{brand}: You are resubscribed to recurring messages. Msg frequency varies. Msg & data rates may apply. Reply HELP for help, STOP to unsubscribe.",
	"subscribed": "{brand}: You are subscribed to recurring messages. Msg frequency varies. Msg & data rates may apply. Reply HELP for help, STOP to unsubscribe.",
	"pending":    "{brand}: Reply Y to confirm your subscription to recurring messages. Msg frequency varies. Msg & data rates may apply. Reply HELP for help, STOP to cancel.",
	"help":       "{brand}: Msg frequency varies. Msg & data rates may apply. Reply STOP to unsubscribe, START to resubscribe.",
}
