package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/smsflow/smsflow/internal/browsertest"
)

func TestMain(m *testing.M) { browsertest.Main(m) }

// TestBrowserLoginNavLogout logs in with the admin key, sees every nav
// entry, and logs out, in Chromium against the real binary.
func TestBrowserLoginNavLogout(t *testing.T) {
	browsertest.Each(t, func(t *testing.T, ui *browsertest.UI) {
		ui.Open(t, "/flows")
		if got := ui.Location(t); got != "/login?next=%2Fflows" {
			t.Fatalf("a logged-out browser at /flows is at %s, want the login with next=/flows", got)
		}
		ui.Screenshot(t, "login")
		ui.Axe(t)

		ui.Login(t)
		if got := ui.Location(t); got != "/flows" {
			t.Fatalf("after logging in the browser is at %s, want /flows", got)
		}
		nav := ui.Text(t, `nav[aria-label="Main"]`)
		for _, entry := range []string{"Flows", "Contacts", "Messages", "Inbox", "Program", "Settings", "Log out"} {
			if !strings.Contains(nav, entry) {
				t.Errorf("the nav %q has no %q", nav, entry)
			}
		}
		current := browsertest.Eval[string](t, ui, `document.querySelector('nav a[aria-current="page"]').textContent`)
		if current != "Flows" {
			t.Errorf("the nav marks %q as the current page, want Flows", current)
		}
		ui.Axe(t)
		ui.NoConsoleErrors(t)

		ui.Follow(t, chromedp.Click(chromedp.CSS(`nav button[type="submit"]`)))
		ui.Do(t, chromedp.WaitVisible(chromedp.ID("key")))
		if got := ui.Location(t); got != "/login" {
			t.Fatalf("after logging out the browser is at %s, want /login", got)
		}
		ui.Open(t, "/contacts")
		if got := ui.Location(t); !strings.HasPrefix(got, "/login") {
			t.Fatalf("after logging out /contacts opened (%s), want the login", got)
		}
	})
}
