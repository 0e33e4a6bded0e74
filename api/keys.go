package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsflow/smsflow"
)

// The API keys live in a Keyring (D94): one value that every request reads
// and a rotation replaces at once. A key set in the configuration or the
// environment is fixed — that file or variable is its source of truth —
// and the others are stored in the settings table, where a rotation on any
// node writes them and every node picks them up by polling (KeyringPoll).

// Which keys there are, by the names rotation and the settings use.
const (
	KeyWrite  = "write"
	KeyServer = "server"
	KeyAdmin  = "admin"
)

// KeyNames are the keys in the order pages and commands list them.
var KeyNames = []string{KeyWrite, KeyServer, KeyAdmin}

// Settings that hold the keys that are not configured, and the write keys
// rotations replaced that are still in their grace ("KEY|UNTIL,KEY|UNTIL",
// newest first, UNTIL in Unix microseconds; one "KEY|UNTIL" before D100).
const (
	settingWriteKey      = "write_key"
	settingServerKey     = "server_key"
	settingAdminKey      = "admin_key"
	settingWritePrevious = "write_key_previous"
)

// WriteKeyGrace is how long a rotated write key keeps working: it sits in
// web pages, and cached pages must not lose their events the moment it
// changes.
const WriteKeyGrace = 24 * time.Hour

// MaxPreviousWriteKeys bounds the replaced write keys in their grace: each
// is compared on every public request, so a rotation that would keep more
// is refused (the message says when the next one is possible) rather than
// ending the oldest one's grace early (D100).
const MaxPreviousWriteKeys = 5

// KeyringPoll is how often a keyring rereads the stored keys, so a
// rotation on one node reaches the others.
const KeyringPoll = 5 * time.Second

// KeyStore is what a keyring needs of the database. *store.DB implements
// it.
type KeyStore interface {
	SettingOrInit(ctx context.Context, key string, init func() string) (value string, created bool, err error)
	Settings(ctx context.Context, keys ...string) (map[string]string, error)
	SetSettings(ctx context.Context, values map[string]string) error
}

// Keyring holds the current API keys, safe to read from every request and
// to replace by a rotation or a reload.
type Keyring struct {
	db    KeyStore // nil: static keys (tests)
	clock smsflow.Clock
	log   *slog.Logger
	fixed Keys              // the keys set in the configuration or environment
	from  map[string]string // key name → where it is set ("SMSFLOW_ADMIN_KEY", "smsflow.yaml")
	cur   atomic.Pointer[Keys]

	rotateMu sync.Mutex
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// StaticKeyring is a keyring of fixed keys with no database: nothing can
// be rotated.
func StaticKeyring(k Keys) *Keyring {
	r := &Keyring{fixed: k, from: map[string]string{}, clock: smsflow.WallClock{}, log: slog.New(slog.DiscardHandler)}
	r.cur.Store(&k)
	return r
}

// KeyringOptions say where the configured keys come from.
type KeyringOptions struct {
	// Fixed are the keys set in the configuration or environment ("" for
	// a key that is not): they are used as given and never rotated here.
	Fixed Keys
	// FixedFrom names where each fixed key is set (key name → e.g.
	// "SMSFLOW_WRITE_KEY"), for the message that refuses a rotation.
	FixedFrom map[string]string
	Clock     smsflow.Clock
	Log       *slog.Logger
}

// OpenKeyring loads the keys: the fixed ones as given, the others from
// the settings, generating and storing each that is missing (created
// names the settings made now).
func OpenKeyring(ctx context.Context, db KeyStore, o KeyringOptions) (r *Keyring, created []string, err error) {
	if o.Clock == nil {
		o.Clock = smsflow.WallClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.FixedFrom == nil {
		o.FixedFrom = map[string]string{}
	}
	r = &Keyring{db: db, clock: o.Clock, log: o.Log, fixed: o.Fixed, from: o.FixedFrom}
	for _, name := range KeyNames {
		if fixedOf(o.Fixed, name) != "" {
			continue
		}
		_, made, err := db.SettingOrInit(ctx, settingOf(name), func() string { return NewKey(name) })
		if err != nil {
			return nil, nil, fmt.Errorf("%s key: %w", name, err)
		}
		if made {
			created = append(created, settingOf(name))
		}
	}
	if err := r.Reload(ctx); err != nil {
		return nil, nil, err
	}
	return r, created, nil
}

// NewKey returns a random key of the named kind, with its readable prefix
// (wk_, sk_, ak_).
func NewKey(name string) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return name[:1] + "k_" + hex.EncodeToString(b)
}

func settingOf(name string) string { return name + "_key" }

func fixedOf(k Keys, name string) string {
	switch name {
	case KeyWrite:
		return k.Write
	case KeyServer:
		return k.Server
	case KeyAdmin:
		return k.Admin
	}
	return ""
}

// Keys returns the current keys.
func (r *Keyring) Keys() Keys { return *r.cur.Load() }

// Configured says where a key is set when it is set in the configuration
// or the environment ("" when it is stored, and so can be rotated here).
func (r *Keyring) Configured(name string) string {
	if fixedOf(r.fixed, name) == "" {
		return ""
	}
	if from := r.from[name]; from != "" {
		return from
	}
	return "the configuration"
}

// Reload rereads the stored keys: a rotation on another node takes effect
// here.
func (r *Keyring) Reload(ctx context.Context) error {
	if r.db == nil {
		return nil
	}
	got, err := r.db.Settings(ctx, settingWriteKey, settingServerKey, settingAdminKey, settingWritePrevious)
	if err != nil {
		return fmt.Errorf("read the API keys: %w", err)
	}
	k := r.fixed
	for _, name := range KeyNames {
		if fixedOf(k, name) != "" {
			continue
		}
		v := got[settingOf(name)]
		switch name {
		case KeyWrite:
			k.Write = v
		case KeyServer:
			k.Server = v
		case KeyAdmin:
			k.Admin = v
		}
	}
	if r.fixed.Write == "" {
		k.PreviousWrite = parsePrevious(got[settingWritePrevious])
	}
	r.cur.Store(&k)
	return nil
}

// parsePrevious reads the write_key_previous setting: the entries it
// understands, in its order (an entry that is not KEY|UNTIL is skipped).
func parsePrevious(v string) []PreviousKey {
	var out []PreviousKey
	for _, e := range strings.Split(v, ",") {
		key, until, ok := strings.Cut(e, "|")
		if !ok || key == "" {
			continue
		}
		us, err := strconv.ParseInt(until, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, PreviousKey{Key: key, Until: time.UnixMicro(us).UTC()})
	}
	return out
}

// formatPrevious is the write_key_previous setting of keys.
func formatPrevious(keys []PreviousKey) string {
	parts := make([]string, len(keys))
	for i, p := range keys {
		parts[i] = p.Key + "|" + strconv.FormatInt(p.Until.UnixMicro(), 10)
	}
	return strings.Join(parts, ",")
}

// works says whether a replaced write key still works at now. A grace never
// lasts longer than WriteKeyGrace from now: an end further out (a node whose
// clock ran ahead, a hand-edited setting) is not honoured.
func (p PreviousKey) works(now time.Time) bool {
	return now.Before(p.Until) && !p.Until.After(now.Add(WriteKeyGrace))
}

// InGrace are the replaced write keys that still work at now, newest first.
func (k Keys) InGrace(now time.Time) []PreviousKey {
	var out []PreviousKey
	for _, p := range k.PreviousWrite {
		if p.works(now) {
			out = append(out, p)
		}
	}
	return out
}

// Rotate replaces a stored key with a new random one and returns the keys
// now in force. The write key's old value keeps working for WriteKeyGrace
// (it is in web pages); the server and admin keys change at once (and a
// new admin key ends every web UI session). A key set in the configuration
// or environment cannot be rotated here: the error says where it is set.
func (r *Keyring) Rotate(ctx context.Context, name string) (Keys, error) {
	if !slices.Contains(KeyNames, name) {
		return Keys{}, smsflow.FieldErrorf(smsflow.EINVALID, "key", "there is no %q key; rotate write, server or admin", name)
	}
	if from := r.Configured(name); from != "" {
		return Keys{}, smsflow.FieldErrorf(smsflow.ECONFLICT, "key", "the %s key is set in %s, so it cannot be rotated here: change it there and restart", name, from)
	}
	if r.db == nil {
		return Keys{}, smsflow.Errorf(smsflow.ECONFLICT, "these keys are not stored in a database; nothing can be rotated")
	}
	r.rotateMu.Lock()
	defer r.rotateMu.Unlock()
	if err := r.Reload(ctx); err != nil { // rotate what is in force now, on any node
		return Keys{}, err
	}
	old := r.Keys()
	values := map[string]string{settingOf(name): NewKey(name)}
	if name == KeyWrite {
		// Every replaced key keeps its own 24 hours: a second rotation
		// within a day adds to the list and ends no earlier key's grace.
		now := r.clock.Now()
		keep := old.InGrace(now)
		if len(keep) >= MaxPreviousWriteKeys {
			next := keep[0].Until
			for _, p := range keep[1:] {
				next = minTime(next, p.Until)
			}
			return Keys{}, smsflow.FieldErrorf(smsflow.ECONFLICT, "key",
				"the write key was rotated %d times in the last 24 hours and each old key still works for 24 hours after its rotation; rotate again after %s UTC, when the oldest one's grace ends",
				len(keep), next.UTC().Format("2006-01-02 15:04"))
		}
		prev := append([]PreviousKey{{Key: old.Write, Until: now.Add(WriteKeyGrace)}}, keep...)
		values[settingWritePrevious] = formatPrevious(prev)
	}
	if err := r.db.SetSettings(ctx, values); err != nil {
		return Keys{}, fmt.Errorf("store the new %s key: %w", name, err)
	}
	if err := r.Reload(ctx); err != nil {
		return Keys{}, err
	}
	r.log.Info("API key rotated", "key", name)
	return r.Keys(), nil
}

// Start rereads the stored keys every KeyringPoll until Stop; a keyring
// without a database does nothing.
func (r *Keyring) Start() {
	if r.db == nil || r.stop != nil {
		return
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(KeyringPoll)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), KeyringPoll)
				if err := r.Reload(ctx); err != nil {
					r.log.Warn("could not reload the API keys; the ones loaded before stay in force", "err", err)
				}
				cancel()
			}
		}
	}()
}

// Stop ends the polling Start began; safe to call twice, or without Start.
func (r *Keyring) Stop() {
	if r.stop == nil {
		return
	}
	r.stopOnce.Do(func() { close(r.stop); <-r.done })
}

// writeKeyOK says whether key is the write key, or a write key a rotation
// replaced less than WriteKeyGrace before now.
func (k Keys) writeKeyOK(key string, now time.Time) bool {
	if keyEqual(key, k.Write) {
		return true
	}
	for _, p := range k.PreviousWrite {
		if p.works(now) && keyEqual(key, p.Key) {
			return true
		}
	}
	return false
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
