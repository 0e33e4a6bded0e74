package storetest

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

func contactCases() []contractCase {
	return []contractCase{
		{"Tx.InsertContact", func(t *testing.T, db *store.DB) {
			c := &smsflow.Contact{ID: "ana", Phone: "+14155550100", PhoneType: "mobile", Timezone: "America/Los_Angeles", TimezoneSource: "number",
				Timezones: []string{"America/Los_Angeles"}, Traits: map[string]any{"first_name": "Ana", "vip": true, "visits": 3.0},
				PublicTraits: []string{"first_name"}, PhonePublic: true, CreatedAt: t0, UpdatedAt: t0.Add(time.Second)}
			write(t, db, func(tx *store.Tx) error { return tx.InsertContact(c) })
			equal(t, "stored contact", must(db.Contact(bg, "ana"))(t), c)
			if err := db.WriteTx(bg, func(tx *store.Tx) error {
				return tx.InsertContact(&smsflow.Contact{ID: "ana", CreatedAt: t0, UpdatedAt: t0})
			}); err == nil {
				t.Error("a second contact with the same id was stored")
			}
			if err := db.WriteTx(bg, func(tx *store.Tx) error {
				return tx.InsertContact(&smsflow.Contact{ID: "bob", Phone: c.Phone, CreatedAt: t0, UpdatedAt: t0})
			}); err == nil {
				t.Error("a second contact with the same phone was stored")
			}
			equal(t, "contacts", must(db.CountContacts(bg))(t), int64(1))
		}},
		{"Tx.UpdateContact", func(t *testing.T, db *store.DB) {
			c := addContact(t, db, "ana", "+14155550100")
			c.Phone, c.PhoneVerified, c.Timezone, c.Traits = "+14155550199", true, "Europe/Paris", map[string]any{"plan": "pro"}
			c.UpdatedAt = t0.Add(time.Hour)
			write(t, db, func(tx *store.Tx) error {
				if err := tx.UpdateContact(c); err != nil {
					return err
				}
				equal(t, "read in the same transaction", must(tx.ContactByID("ana"))(t), c)
				return nil
			})
			equal(t, "updated contact", must(db.Contact(bg, "ana"))(t), c)
		}},
		{"Tx.ContactByID", func(t *testing.T, db *store.DB) {
			c := addContact(t, db, "ana", "+14155550100")
			write(t, db, func(tx *store.Tx) error {
				equal(t, "ana", must(tx.ContactByID("ana"))(t), c)
				equal(t, "a missing contact", must(tx.ContactByID("nobody"))(t), (*smsflow.Contact)(nil))
				return nil
			})
		}},
		{"Tx.ContactByPhone", func(t *testing.T, db *store.DB) {
			c := addContact(t, db, "ana", "+14155550100")
			write(t, db, func(tx *store.Tx) error {
				equal(t, "by phone", must(tx.ContactByPhone("+14155550100"))(t), c)
				equal(t, "a number nobody has", must(tx.ContactByPhone("+14155550111"))(t), (*smsflow.Contact)(nil))
				return nil
			})
		}},
		{"Tx.ContactForUpdate", func(t *testing.T, db *store.DB) {
			c := addContact(t, db, "ana", "+14155550100")
			addContact(t, db, "bob", "")
			write(t, db, func(tx *store.Tx) error {
				got, consent, err := tx.ContactForUpdate("ana")
				equal(t, "contact without consent", got, c)
				equal(t, "its consent", consent, smsflow.ConsentNone)
				return err
			})
			addConsent(t, db, c.Phone, smsflow.ConsentSubscribed, t0)
			addConsent(t, db, c.Phone, smsflow.ConsentUnsubscribed, t0.Add(time.Minute))
			write(t, db, func(tx *store.Tx) error {
				_, consent, err := tx.ContactForUpdate("ana")
				equal(t, "consent: the entry recorded last", consent, smsflow.ConsentUnsubscribed)
				if err != nil {
					return err
				}
				got, consent, err := tx.ContactForUpdate("nobody")
				equal(t, "a missing contact", got, (*smsflow.Contact)(nil))
				equal(t, "a missing contact's consent", consent, smsflow.ConsentNone)
				if err != nil {
					return err
				}
				_, consent, err = tx.ContactForUpdate("bob")
				equal(t, "consent of a contact without a phone", consent, smsflow.ConsentNone)
				return err
			})
		}},
		{"Tx.VerifyPhone", func(t *testing.T, db *store.DB) {
			c := &smsflow.Contact{ID: "ana", Phone: "+14155550100", PhonePublic: true, Timezones: []string{}, Traits: map[string]any{}, CreatedAt: t0, UpdatedAt: t0}
			write(t, db, func(tx *store.Tx) error { return tx.InsertContact(c) })
			write(t, db, func(tx *store.Tx) error {
				if err := tx.VerifyPhone("+14155550100"); err != nil {
					return err
				}
				return tx.VerifyPhone("+14155550111") // nobody's: nothing to do
			})
			got := must(db.Contact(bg, "ana"))(t)
			if !got.PhoneVerified || got.PhonePublic {
				t.Errorf("after VerifyPhone: verified %v, public %v; want verified only", got.PhoneVerified, got.PhonePublic)
			}
		}},
		{"Tx.MergeContact", func(t *testing.T, db *store.DB) {
			addContact(t, db, "anon-1", "")
			addContact(t, db, "ana", "+14155550100")
			e := newEvent("m1", "Viewed")
			e.ContactID = "anon-1"
			seq := addEvent(t, db, e)
			r := addRun(t, db, smsflow.Run{ContactID: "anon-1"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "hi", ContactID: "anon-1"})
			write(t, db, func(tx *store.Tx) error {
				if err := tx.AddInbox("anon-1", seq); err != nil {
					return err
				}
				return tx.SetAlias("cookie-1", "anon-1")
			})
			write(t, db, func(tx *store.Tx) error { return tx.MergeContact("anon-1", "ana") })
			for _, table := range []string{"events", "runs", "messages", "inbox"} {
				if n := count(t, db, `SELECT COUNT(*) FROM `+table+` WHERE contact_id = 'anon-1'`); n != 0 {
					t.Errorf("%s: %d rows still name the merged contact", table, n)
				}
				if n := count(t, db, `SELECT COUNT(*) FROM `+table+` WHERE contact_id = 'ana'`); n != 1 {
					t.Errorf("%s: %d rows of ana, want 1", table, n)
				}
			}
			equal(t, "contacts left", must(db.CountContacts(bg))(t), int64(1))
			write(t, db, func(tx *store.Tx) error {
				equal(t, "the merged id's alias", must(tx.AliasContact("anon-1"))(t), "ana")
				equal(t, "its own alias", must(tx.AliasContact("cookie-1"))(t), "ana")
				return nil
			})
			equal(t, "DB.Contact of the merged id", must(db.Contact(bg, "anon-1"))(t).ID, "ana")
		}},
		{"Tx.ContactIDsAfter", func(t *testing.T, db *store.DB) {
			for _, id := range []string{"c", "a", "d", "b"} {
				addContact(t, db, id, "")
			}
			write(t, db, func(tx *store.Tx) error {
				equal(t, "first page", must(tx.ContactIDsAfter("", 3))(t), []string{"a", "b", "c"})
				equal(t, "after the cursor", must(tx.ContactIDsAfter("c", 3))(t), []string{"d"})
				equal(t, "past the end", must(tx.ContactIDsAfter("d", 3))(t), []string(nil))
				return nil
			})
		}},
		{"Tx.MarkPhoneType", func(t *testing.T, db *store.DB) {
			addContact(t, db, "ana", "+14155550100")
			write(t, db, func(tx *store.Tx) error {
				return tx.MarkPhoneType("+14155550100", store.PhoneTypeInvalid, t0.Add(time.Hour))
			})
			got := must(db.Contact(bg, "ana"))(t)
			equal(t, "phone type", got.PhoneType, store.PhoneTypeInvalid)
			equal(t, "updated at", got.UpdatedAt, t0.Add(time.Hour))
		}},
		{"Tx.UnreachablePhones", func(t *testing.T, db *store.DB) {
			addContact(t, db, "ana", "+14155550100")
			addContact(t, db, "bob", "+14155550101")
			write(t, db, func(tx *store.Tx) error {
				if err := tx.MarkPhoneType("+14155550100", store.PhoneTypeInvalid, t0); err != nil {
					return err
				}
				if err := tx.MarkPhoneType("+14155550101", "mobile", t0); err != nil {
					return err
				}
				equal(t, "unreachable", must(tx.UnreachablePhones([]string{"+14155550100", "+14155550101", "+14155550199"}))(t),
					map[string]string{"+14155550100": store.PhoneTypeInvalid})
				equal(t, "none asked", must(tx.UnreachablePhones(nil))(t), map[string]string{})
				return nil
			})
		}},
		{"Tx.AliasContact", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				equal(t, "an unknown alias", must(tx.AliasContact("cookie-1"))(t), "")
				if err := tx.SetAlias("cookie-1", "ana"); err != nil {
					return err
				}
				equal(t, "a set alias", must(tx.AliasContact("cookie-1"))(t), "ana")
				return nil
			})
		}},
		{"Tx.SetAlias", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error { return tx.SetAlias("cookie-1", "ana") })
			write(t, db, func(tx *store.Tx) error { return tx.SetAlias("cookie-1", "bob") })
			write(t, db, func(tx *store.Tx) error {
				equal(t, "the alias points at the last contact set", must(tx.AliasContact("cookie-1"))(t), "bob")
				return nil
			})
		}},
		{"DB.Contact", func(t *testing.T, db *store.DB) {
			c := addContact(t, db, "ana", "+14155550100")
			equal(t, "ana", must(db.Contact(bg, "ana"))(t), c)
			write(t, db, func(tx *store.Tx) error { return tx.SetAlias("old-id", "ana") })
			equal(t, "through an alias", must(db.Contact(bg, "old-id"))(t), c)
			if _, err := db.Contact(bg, "nobody"); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
				t.Errorf("a missing contact: %v, want not_found", err)
			}
			write(t, db, func(tx *store.Tx) error { return tx.SetAlias("older-id", "old-id") })
			equal(t, "through a chain of aliases", must(db.Contact(bg, "older-id"))(t), c)
			// Aliases pointing at each other end in not found, not a loop.
			write(t, db, func(tx *store.Tx) error { return tx.SetAlias("loop-a", "loop-b") })
			write(t, db, func(tx *store.Tx) error { return tx.SetAlias("loop-b", "loop-a") })
			if _, err := db.Contact(bg, "loop-a"); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
				t.Errorf("aliases in a loop: %v, want not_found", err)
			}
		}},
		{"DB.ContactByPhone", func(t *testing.T, db *store.DB) {
			c := addContact(t, db, "ana", "+14155550100")
			equal(t, "by phone", must(db.ContactByPhone(bg, "+14155550100"))(t), c)
			if _, err := db.ContactByPhone(bg, "+14155550111"); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
				t.Errorf("a number nobody has: %v, want not_found", err)
			}
		}},
		{"DB.CountContacts", func(t *testing.T, db *store.DB) {
			equal(t, "empty", must(db.CountContacts(bg))(t), int64(0))
			addContact(t, db, "ana", "")
			addContact(t, db, "bob", "")
			equal(t, "two", must(db.CountContacts(bg))(t), int64(2))
		}},
	}
}
