package web

// The admin key may change while serving (a rotation on the settings page
// or any node, `smsflow keys --rotate admin`): sessions are checked
// against the key in force, so a new admin key ends every session.

// signedBy caches the session keys derived from one admin key.
type signedBy struct {
	admin string
	keys  sessionKeys
}

// adminKey is the admin key in force.
func (u *UI) adminKey() string {
	if u.Keys != nil {
		return u.Keys.Keys().Admin
	}
	return u.AdminKey
}

// sessionKeys signs and checks sessions with the admin key in force.
func (u *UI) sessionKeys() sessionKeys {
	if u.Keys == nil {
		return u.sessions
	}
	admin := u.Keys.Keys().Admin
	if c := u.signed.Load(); c != nil && c.admin == admin {
		return c.keys
	}
	c := &signedBy{admin: admin, keys: newSessionKeys(admin)}
	u.signed.Store(c)
	return c.keys
}
