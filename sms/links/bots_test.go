package links

import (
	"net/http"
	"strings"
	"testing"
)

// Real User-Agent strings of people's browsers: none may lose a click.
var browserAgents = map[string]string{
	"Safari iOS":                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
	"Safari iPad":               "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
	"Chrome Android":            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
	"Chrome iOS":                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
	"Samsung Internet":          "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
	"Firefox Android":           "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
	"Firefox iOS":               "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15",
	"Firefox desktop":           "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
	"Edge desktop":              "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
	"Cubot phone (Chrome)":      "Mozilla/5.0 (Linux; Android 11; CUBOT_P50) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
	"Pinterest in-app browser":  "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]",
	"Facebook in-app browser":   "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/450.0.0.38.108;FBBV/564431005;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.3.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
	"Instagram in-app browser":  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 320.0.2.30.97 (iPhone14,5; iOS 17_3; en_US; en; scale=3.00; 1170x2532; 561151215)",
	"LinkedIn in-app browser":   "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.5760",
	"Android WebView":           "Mozilla/5.0 (Linux; Android 12; SM-A525F Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/123.0.6312.118 Mobile Safari/537.36",
	"Go HTTP client (e2e test)": "Go-http-client/1.1",
}

// Real User-Agent strings of preview bots, crawlers and scanners.
var botAgents = map[string]string{
	"iMessage":                    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
	"WhatsApp Android":            "WhatsApp/2.23.20.0 A",
	"WhatsApp iOS":                "WhatsApp/2.21.12.21 i",
	"facebookexternalhit":         "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
	"Facebot":                     "Facebot",
	"Twitterbot":                  "Twitterbot/1.0",
	"Slackbot":                    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
	"Slack-ImgProxy":              "Slack-ImgProxy (+https://api.slack.com/robots)",
	"TelegramBot":                 "TelegramBot (like TwitterBot)",
	"Discordbot":                  "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
	"LinkedInBot":                 "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
	"SkypeUriPreview":             "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
	"Googlebot smartphone":        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	"bingbot":                     "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
	"Applebot":                    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1 (Applebot/0.1; +http://www.apple.com/go/applebot)",
	"bitlybot":                    "bitlybot/3.0 (+http://bit.ly/)",
	"Embedly":                     "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)",
	"redditbot":                   "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)",
	"Pinterest":                   "Pinterest/0.2 (+https://www.pinterest.com/bot.html)",
	"Pinterestbot":                "Mozilla/5.0 (compatible; Pinterestbot/1.0; +https://www.pinterest.com/bot.html)",
	"vkShare":                     "Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)",
	"W3C_Validator":               "W3C_Validator/1.3 http://validator.w3.org/services",
	"Snapchat (generic bot word)": "Mozilla/5.0 (compatible; Snap URL Preview Service; bot; snapchat; https://developers.snap.com/robots)",
	"generic crawler word":        "AcmeSearch Crawler/2.1 (+https://acme.example/crawler)",
	"generic spider word":         "Mozilla/5.0 (compatible; tiny-spider/0.3)",
	"generic preview word":        "Mozilla/5.0 (compatible; Link Preview; +https://example.com)",
	"generic BOT, upper case":     "SOME-BOT/1.0",
}

func TestIsPreviewBot(t *testing.T) {
	for name, ua := range browserAgents {
		if IsPreviewBot(ua) {
			t.Errorf("%s is a person's browser but was taken for a bot: %s", name, ua)
		}
	}
	for name, ua := range botAgents {
		if !IsPreviewBot(ua) {
			t.Errorf("%s was not recognised as a preview bot: %s", name, ua)
		}
	}
	if IsPreviewBot("") {
		t.Error("an empty User-Agent is not a bot")
	}
}

// TestPreviewAgentsTable keeps the data table usable: tokens are lower case
// (IsPreviewBot lower-cases the User-Agent), not empty, listed once, word
// tokens are single words, and each entry matches its own token in any case.
func TestPreviewAgentsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range PreviewAgents {
		if a.Token == "" || a.Name == "" {
			t.Errorf("entry %+v needs a name and a token", a)
			continue
		}
		if a.Token != strings.ToLower(a.Token) {
			t.Errorf("token %q must be lower case or it never matches", a.Token)
		}
		if seen[a.Token] {
			t.Errorf("token %q is listed twice", a.Token)
		}
		seen[a.Token] = true
		if !IsPreviewBot(strings.ToUpper(a.Token) + "/1.0") {
			t.Errorf("token %q does not match an upper-case User-Agent", a.Token)
		}
		if a.Match == MatchWord && strings.ContainsFunc(a.Token, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
			t.Errorf("word token %q must be only letters and digits or it never matches", a.Token)
		}
	}
}

// Words match whole: a brand or word that merely contains "bot" is not a
// bot; the generic word on its own is.
func TestIsPreviewBotWholeWords(t *testing.T) {
	for ua, want := range map[string]bool{
		"Cubot/1.0":             false,
		"Robotics App/2.0":      false,
		"Spiderman Browser/1.0": false,
		"PreviewerApp/3":        false,
		"x bot y":               true,
		"x;Bot;y":               true,
		"x_crawler":             true,
		"(spider)":              true,
	} {
		if got := IsPreviewBot(ua); got != want {
			t.Errorf("IsPreviewBot(%q) = %v, want %v", ua, got, want)
		}
	}
}

func TestIsPrefetch(t *testing.T) {
	human := browserAgents["Safari iOS"]
	for _, c := range []struct {
		name   string
		header http.Header
		ua     string
		want   bool
	}{
		{"plain click", http.Header{}, human, false},
		{"Purpose: prefetch", http.Header{"Purpose": {"prefetch"}}, human, true},
		{"Sec-Purpose: prefetch", http.Header{"Sec-Purpose": {"prefetch"}}, human, true},
		{"Sec-Purpose: prefetch;prerender", http.Header{"Sec-Purpose": {"prefetch;prerender"}}, human, true},
		{"Sec-Purpose upper case", http.Header{"Sec-Purpose": {"Prefetch"}}, human, true},
		{"X-Purpose: preview", http.Header{"X-Purpose": {"preview"}}, human, true},
		{"X-Moz: prefetch", http.Header{"X-Moz": {"prefetch"}}, human, true},
		{"unrelated purpose", http.Header{"Purpose": {"navigate"}}, human, false},
		{"X-Purpose substring only", http.Header{"X-Purpose": {"previewed-by-user"}}, human, false},
		{"bot without headers", http.Header{}, botAgents["WhatsApp Android"], true},
	} {
		if got := IsPrefetch(c.header, c.ua); got != c.want {
			t.Errorf("%s: IsPrefetch = %v, want %v", c.name, got, c.want)
		}
	}
}
