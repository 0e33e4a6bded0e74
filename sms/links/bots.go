package links

import (
	"net/http"
	"slices"
	"strings"
)

// PreviewAgent is one link-preview bot or crawler, recognised by a token in
// its User-Agent header (compared case-insensitively).
type PreviewAgent struct {
	// Name says whose agent it is, for documentation and tests.
	Name string
	// Token is looked for in the lower-cased User-Agent, as Match says.
	Token string
	// Match is how Token is looked for.
	Match Match
}

// Match is how a PreviewAgent's token is found in a User-Agent.
type Match int

const (
	// MatchContains: anywhere in the User-Agent.
	MatchContains Match = iota
	// MatchPrefix: at its start (for tokens that in-app browsers carry further
	// inside their User-Agent, like "[Pinterest/iOS]").
	MatchPrefix
	// MatchWord: as a whole word, a run of letters and digits standing alone
	// ("compatible; bot; …"), so "Cubot" (a phone brand) or "robotics" do
	// not match "bot".
	MatchWord
)

// PreviewAgents is the data table of link-preview bots, unfurlers, crawlers
// and URL scanners: a request from one of them is redirected like any other
// but records no click. Keep new entries here and nowhere else; tokens are
// lower case.
var PreviewAgents = []PreviewAgent{
	// iMessage previews fetch with a Safari UA that ends in
	// "facebookexternalhit/1.1 Facebot Twitterbot/1.0".
	{Name: "iMessage, Facebook, Instagram, Messenger", Token: "facebookexternalhit"},
	{Name: "Facebook", Token: "facebot"},
	{Name: "Facebook catalog", Token: "facebookcatalog"},
	{Name: "Meta crawler", Token: "meta-externalagent"},
	{Name: "WhatsApp", Token: "whatsapp/", Match: MatchPrefix},
	{Name: "Twitter/X, iMessage", Token: "twitterbot"},
	{Name: "Slack", Token: "slackbot"},
	{Name: "Slack", Token: "slack-imgproxy"},
	{Name: "Telegram", Token: "telegrambot"},
	{Name: "Discord", Token: "discordbot"},
	{Name: "LinkedIn", Token: "linkedinbot"},
	{Name: "Skype, Microsoft Teams", Token: "skypeuripreview"},
	{Name: "Outlook, Bing", Token: "bingpreview"},
	{Name: "Google", Token: "googlebot"},
	{Name: "Google", Token: "google-pagerenderer"},
	{Name: "Google", Token: "google-inspectiontool"},
	{Name: "Google Ads", Token: "adsbot-google"},
	{Name: "Gmail image proxy", Token: "googleimageproxy"},
	{Name: "Bing", Token: "bingbot"},
	{Name: "Apple", Token: "applebot"},
	{Name: "Bitly", Token: "bitlybot"},
	{Name: "Embedly", Token: "embedly"},
	{Name: "Iframely", Token: "iframely"},
	{Name: "Reddit", Token: "redditbot"},
	{Name: "Pinterest", Token: "pinterestbot"},
	// Pinterest's in-app browser says "[Pinterest/iOS]"; its crawler
	// starts "Pinterest/0.2".
	{Name: "Pinterest", Token: "pinterest/0.", Match: MatchPrefix},
	{Name: "VK", Token: "vkshare"},
	{Name: "W3C validator", Token: "w3c_validator"},
	{Name: "Snapchat", Token: "snap url preview"},
	{Name: "Yahoo", Token: "yahoo! slurp"},
	{Name: "DuckDuckGo", Token: "duckduckbot"},
	{Name: "Yandex", Token: "yandexbot"},
	{Name: "Baidu", Token: "baiduspider"},
	{Name: "Ahrefs", Token: "ahrefsbot"},
	{Name: "Semrush", Token: "semrushbot"},
	{Name: "Petal Search", Token: "petalbot"},
	{Name: "Mastodon", Token: "mastodon/"},

	// Generic words of automated agents.
	{Name: "any bot", Token: "bot", Match: MatchWord},
	{Name: "any bot", Token: "bots", Match: MatchWord},
	{Name: "any robot", Token: "robot", Match: MatchWord},
	{Name: "any crawler", Token: "crawler", Match: MatchWord},
	{Name: "any spider", Token: "spider", Match: MatchWord},
	{Name: "any preview service", Token: "preview", Match: MatchWord},
	{Name: "any preview service", Token: "linkpreview", Match: MatchWord},
	{Name: "any prefetcher", Token: "prefetch", Match: MatchWord},
	{Name: "any unfurler", Token: "unfurler", Match: MatchWord},
}

// IsPreviewBot reports whether userAgent is a link-preview bot, crawler or
// URL scanner listed in PreviewAgents. An empty User-Agent is not treated
// as a bot.
func IsPreviewBot(userAgent string) bool {
	ua := strings.ToLower(userAgent)
	if ua == "" {
		return false
	}
	var words []string // split on first use
	for _, a := range PreviewAgents {
		switch a.Match {
		case MatchContains:
			if strings.Contains(ua, a.Token) {
				return true
			}
		case MatchPrefix:
			if strings.HasPrefix(ua, a.Token) {
				return true
			}
		case MatchWord:
			if words == nil {
				words = uaWords(ua)
			}
			if slices.Contains(words, a.Token) {
				return true
			}
		}
	}
	return false
}

// uaWords splits a lower-cased User-Agent into runs of letters and digits.
func uaWords(ua string) []string {
	return strings.FieldsFunc(ua, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

// prefetchHeaders are the request headers with which browsers and apps mark
// a speculative fetch, and the values (tokens, compared case-insensitively)
// that mean "not a person's click".
var prefetchHeaders = []struct {
	Header string
	Values []string
}{
	{"Sec-Purpose", []string{"prefetch", "prerender"}}, // Chrome speculation rules: "prefetch" or "prefetch;prerender"
	{"Purpose", []string{"prefetch", "prerender"}},     // older Chrome, Safari
	{"X-Purpose", []string{"preview", "prefetch"}},     // Safari Top Sites previews
	{"X-Moz", []string{"prefetch"}},                    // Firefox link prefetching
}

// IsPrefetch reports whether a request is not a person following the link:
// a link-preview bot by its User-Agent (IsPreviewBot), or a browser
// prefetch, prerender or preview by its Purpose, Sec-Purpose, X-Purpose or
// X-Moz header.
func IsPrefetch(h http.Header, userAgent string) bool {
	if IsPreviewBot(userAgent) {
		return true
	}
	for _, ph := range prefetchHeaders {
		for _, v := range h.Values(ph.Header) {
			for _, tok := range strings.FieldsFunc(strings.ToLower(v), func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '\t' }) {
				for _, want := range ph.Values {
					if tok == want {
						return true
					}
				}
			}
		}
	}
	return false
}
