package links

import (
	"errors"
	"strings"
	"testing"
)

func TestAddUTM(t *testing.T) {
	std := map[string]string{"source": "sms", "medium": "text", "campaign": "cart"}
	for _, c := range []struct {
		name, dest string
		utm        map[string]string
		want       string
	}{
		{"no query", "https://glow.example/cart", std,
			"https://glow.example/cart?utm_source=sms&utm_medium=text&utm_campaign=cart"},
		{"existing query kept in place", "https://glow.example/cart?id=42&b=1", std,
			"https://glow.example/cart?id=42&b=1&utm_source=sms&utm_medium=text&utm_campaign=cart"},
		{"fragment kept after the query", "https://glow.example/p?x=1#reviews", std,
			"https://glow.example/p?x=1&utm_source=sms&utm_medium=text&utm_campaign=cart#reviews"},
		{"fragment without query", "https://glow.example/p#top", std,
			"https://glow.example/p?utm_source=sms&utm_medium=text&utm_campaign=cart#top"},
		{"never overwrites", "https://glow.example/?utm_source=email&UTM_Medium=x", std,
			"https://glow.example/?utm_source=email&UTM_Medium=x&utm_campaign=cart"},
		{"escaped existing key counts", "https://glow.example/?utm%5Fcampaign=spring", std,
			"https://glow.example/?utm%5Fcampaign=spring&utm_source=sms&utm_medium=text"},
		{"empty query marker", "https://glow.example/?", std,
			"https://glow.example/?utm_source=sms&utm_medium=text&utm_campaign=cart"},
		{"trailing ampersand", "https://glow.example/?a=1&", std,
			"https://glow.example/?a=1&utm_source=sms&utm_medium=text&utm_campaign=cart"},
		{"all already there", "https://glow.example/?utm_source=a&utm_medium=b&utm_campaign=c", std,
			"https://glow.example/?utm_source=a&utm_medium=b&utm_campaign=c"},
		{"values are escaped", "https://glow.example/", map[string]string{"campaign": "spring sale & more", "term": "a=b"},
			"https://glow.example/?utm_campaign=spring+sale+%26+more&utm_term=a%3Db"},
		{"prefixed keys and fixed order", "https://glow.example/", map[string]string{"utm_term": "t", "CONTENT": "c", "source": "s"},
			"https://glow.example/?utm_source=s&utm_content=c&utm_term=t"},
		{"empty value skipped", "https://glow.example/", map[string]string{"source": "sms", "medium": "  "},
			"https://glow.example/?utm_source=sms"},
		{"no utm config", "https://glow.example/?a=1#f", nil, "https://glow.example/?a=1#f"},
		{"not http", "mailto:help@glow.example", std, "mailto:help@glow.example"},
		{"relative", "/cart", std, "/cart"},
	} {
		got, err := AddUTM(c.dest, c.utm, nil)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestAddUTMRendersValues(t *testing.T) {
	calls := 0
	render := func(src string) (string, error) {
		calls++
		return strings.ReplaceAll(src, "{{ flow.id }}", "cart-recovery"), nil
	}
	got, err := AddUTM("https://glow.example/c", map[string]string{"source": "sms", "campaign": "{{ flow.id }}"}, render)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://glow.example/c?utm_source=sms&utm_campaign=cart-recovery"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if calls != 2 {
		t.Errorf("render called %d times, want once per value", calls)
	}
	// A parameter the destination has is not rendered at all.
	calls = 0
	if _, err := AddUTM("https://glow.example/c?utm_campaign=x", map[string]string{"campaign": "{{ flow.id }}"}, render); err != nil || calls != 0 {
		t.Errorf("render called %d times for a parameter already present (err %v)", calls, err)
	}
}

func TestAddUTMErrorsKeepTheRest(t *testing.T) {
	boom := errors.New("missing variable contact.traits.segment")
	render := func(src string) (string, error) {
		if strings.Contains(src, "segment") {
			return "", boom
		}
		return src, nil
	}
	got, err := AddUTM("https://glow.example/c#x", map[string]string{"source": "sms", "content": "{{ contact.traits.segment }}", "bogus": "1"}, render)
	if want := "https://glow.example/c?utm_source=sms#x"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "utm.content") || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("error should name the failed value and the unknown key: %v", err)
	}

	bad := "https://glow.example/%zz"
	if got, err := AddUTM(bad, map[string]string{"source": "sms"}, nil); err == nil || got != bad {
		t.Errorf("unparsable destination: got %q, %v; want it unchanged with an error", got, err)
	}
}

func TestCheckUTM(t *testing.T) {
	if err := CheckUTM(map[string]string{"source": "sms", "utm_medium": "text", "Campaign": "{{ flow.id }}", "content": "", "term": "x"}); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
	if err := CheckUTM(nil); err != nil {
		t.Errorf("no config refused: %v", err)
	}
	err := CheckUTM(map[string]string{"source": "a", "utm_source": "b", "id": "c"})
	if err == nil || !strings.Contains(err.Error(), `"id"`) || !strings.Contains(err.Error(), "same parameter") {
		t.Errorf("want errors for the unknown key and the duplicate, got %v", err)
	}
}
