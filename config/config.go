// Package config loads smsflow's settings: defaults, then the YAML file
// (--config, default ./smsflow.yaml if present), then SMSFLOW_* environment
// variables, then command-line flags — each later source overriding the
// earlier. Every key of the file can be set from the environment: the key's
// path in upper case joined by underscores (twilio.auth_token →
// SMSFLOW_TWILIO_AUTH_TOKEN).
package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
)

// Config is the whole configuration; docs/configuration.md lists every key.
type Config struct {
	Addr          string `yaml:"addr"`           // listen address of serve
	DB            string `yaml:"db"`             // sqlite:PATH or postgres://…
	WriteKey      string `yaml:"write_key"`      // ingestion key (may be public)
	ServerKey     string `yaml:"server_key"`     // secret ingestion key of back ends (trusted events)
	AdminKey      string `yaml:"admin_key"`      // every other /v1 route
	DefaultRegion string `yaml:"default_region"` // region for numbers without +country
	PublicURL     string `yaml:"public_url"`     // base of links and webhook URLs
	Provider      string `yaml:"provider"`       // console | twilio | smpp | http
	Flows         string `yaml:"flows"`          // directory of flow files; "" is DefaultFlows if present
	LogLevel      string `yaml:"log_level"`      // debug | info | warn | error
	LogFormat     string `yaml:"log_format"`     // text | json

	Brand   Brand   `yaml:"brand"`
	Console Console `yaml:"console"`
	Twilio  Twilio  `yaml:"twilio"`
	SMPP    SMPP    `yaml:"smpp"`
	HTTP    HTTPGW  `yaml:"http"`
	Shopify struct {
		Secret string `yaml:"secret"`
	} `yaml:"shopify"`

	QuietHours    QuietHours `yaml:"quiet_hours"`
	Caps          []Cap      `yaml:"caps"`
	OnCap         string     `yaml:"on_cap"`
	SmartSending  string     `yaml:"smart_sending"`
	SmartEncoding bool       `yaml:"smart_encoding"`
	MaxDeferral   string     `yaml:"max_deferral"`
	TriggerMaxAge string     `yaml:"trigger_max_age"`
	DoubleOptIn   bool       `yaml:"double_opt_in"`
	Keywords      Keywords   `yaml:"keywords"`
	Links         Links      `yaml:"links"`
	Limits        Limits     `yaml:"limits"`
	// SegmentPrice is the price of one SMS segment (e.g. "0.0079"), for the
	// cost column of reports; empty means 0.
	SegmentPrice string `yaml:"segment_price"`
	// NodeTTL is how long after a node's last heartbeat the other nodes
	// take back its claimed, never-called sends (a duration; "" the
	// default, 2m). Nodes heartbeat at an eighth of it.
	NodeTTL string `yaml:"node_ttl"`
	// EngineWorkers is how many engine loops serve runs (0: 2 on PostgreSQL,
	// where transactions run in parallel; 1 on SQLite, which has one writer).
	EngineWorkers int `yaml:"engine_workers"`

	// src is where the keys were set (file positions, environment
	// variables): to tell a key left at its default from one written
	// (Senders) and to place problems (Locate).
	src *origin
}

// NodeLease is node_ttl: how long after a node's last heartbeat its claims
// are taken back by another node (1s to 1h; "" the default, 2m).
func (c Config) NodeLease() (time.Duration, error) {
	v := strings.TrimSpace(c.NodeTTL)
	if v == "" {
		return 2 * time.Minute, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d > time.Hour {
		return 0, fmt.Errorf("node_ttl is %q: write a duration between 1s and 1h, e.g. 2m (how long after a node's last heartbeat the other nodes take back its claimed sends)", v)
	}
	return d, nil
}

// Workers is the number of engine loops for the configured database.
func (c Config) Workers() (int, error) {
	switch {
	case c.EngineWorkers < 0 || c.EngineWorkers > 64:
		return 0, fmt.Errorf("engine_workers: %d is out of range; use 1 to 64, or 0 for the default (2 on PostgreSQL, 1 on SQLite)", c.EngineWorkers)
	case c.EngineWorkers > 0:
		return c.EngineWorkers, nil
	case store.Scheme(c.DB) == "postgres":
		return 2, nil
	}
	return 1, nil
}

// Brand is how messages name the sender.
type Brand struct {
	Name string `yaml:"name"`
	Help string `yaml:"help"`
	// Footer is the opt-out language appended to the first marketing
	// message of a subscription when its body has none; "" turns it off.
	Footer string `yaml:"footer"`
}

// Twilio holds the Twilio provider's account settings.
type Twilio struct {
	AccountSID          string `yaml:"account_sid"`
	AuthToken           string `yaml:"auth_token"`
	From                string `yaml:"from"`
	MessagingServiceSID string `yaml:"messaging_service_sid"`
	APIBase             string `yaml:"api_base"`
	Rate                string `yaml:"rate"`      // segments per second, minute or hour ("1/s"); see ParseRate
	DailyCap            int    `yaml:"daily_cap"` // segments per UTC day, 0 = no cap
	OptOutReplies       string `yaml:"opt_out_replies"`
	// ReconcileAfter is how long a message whose call a crash interrupted,
	// and that Twilio has no record of, waits before it is sent again.
	ReconcileAfter string `yaml:"reconcile_after"`
	// Senders are the numbers and Messaging Services to send as, each
	// with its pace, the first the default; instead of from,
	// messaging_service_sid, rate and daily_cap (see Config.Senders).
	Senders []TwilioSender `yaml:"senders"`
}

// SMPP holds the SMPP provider's bind settings.
type SMPP struct {
	Addr       string `yaml:"addr"`
	SystemID   string `yaml:"system_id"`
	Password   string `yaml:"password"`
	SourceAddr string `yaml:"source_addr"`
	Rate       string `yaml:"rate"`      // segments per second, minute or hour ("30/s")
	DailyCap   int    `yaml:"daily_cap"` // segments per UTC day, 0 = no cap
	// OnUnknown is what becomes of a message whose submit a crash
	// interrupted (SMPP cannot be asked): "hold" or "resend".
	OnUnknown string `yaml:"on_unknown"`
	// Senders are the source addresses to send as, the first the default;
	// instead of source_addr, rate and daily_cap.
	Senders []SMPPSender `yaml:"senders"`
}

// HTTPGW holds the generic HTTP gateway provider's settings.
type HTTPGW struct {
	URL      string `yaml:"url"`
	Secret   string `yaml:"secret"`
	Rate     string `yaml:"rate"`      // segments per second, minute or hour ("50/s")
	DailyCap int    `yaml:"daily_cap"` // segments per UTC day, 0 = no cap
	// Idempotent says the gateway dedupes on the message id: a message
	// whose call a crash interrupted is sent again (same id), not held.
	Idempotent bool `yaml:"idempotent"`
	// Senders are the from addresses to send as (the gateway gets "from"),
	// the first the default; instead of rate and daily_cap.
	Senders []HTTPSender `yaml:"senders"`
}

// Console holds the console provider's settings: no pacing unless a rate
// or a daily cap is given (to watch pacing work without a real account).
type Console struct {
	Rate     string `yaml:"rate"`
	DailyCap int    `yaml:"daily_cap"`
	// Senders, when set, are the only from: values flows may name, as with
	// a real provider; unset, any from: is accepted (development).
	Senders []ConsoleSender `yaml:"senders"`
}

// QuietHours is the quiet-hours policy.
type QuietHours struct {
	Allowed    string   `yaml:"allowed"`
	StateRules bool     `yaml:"state_rules"`
	Exempt     []string `yaml:"exempt"`
	OnQuiet    string   `yaml:"on_quiet"`
}

// Cap is one named frequency cap.
type Cap struct {
	Name       string   `yaml:"name"`
	Max        int      `yaml:"max"`
	Per        string   `yaml:"per"`
	Categories []string `yaml:"categories"`
}

// Keywords extends the built-in keyword sets.
type Keywords struct {
	Join []string `yaml:"join"`
	// OptOut adds opt-out words (other languages, markets) to the standard set.
	OptOut []string `yaml:"opt_out"`
	// Revocation turns on the rule that treats clear non-keyword
	// revocations ("please stop texting me") as opt-outs.
	Revocation bool `yaml:"revocation"`
}

// Links configures tracked links.
type Links struct {
	UTM map[string]string `yaml:"utm"`
	// AllowedDomains are the hosts a link that came from the public write
	// key may point at, besides public_url's host and the hosts written in
	// the flows: "shop.example" is that host exactly, ".shop.example" it
	// and every subdomain.
	AllowedDomains []string `yaml:"allowed_domains"`
}

// Limits bound what one number and one source can cause.
type Limits struct {
	// ServicePerNumber is at most Max service messages from flows per Per
	// to one number (max 0: off).
	ServicePerNumber ServiceLimit `yaml:"service_per_number"`
	// IngestPerIP and IngestPerKey are ingestion rates in events ("200/s",
	// "1000/m"; "" for none): per client address for the write key, and
	// per key for each key. The server and admin keys are exempt from the
	// per-address limit.
	IngestPerIP  string `yaml:"ingest_per_ip"`
	IngestPerKey string `yaml:"ingest_per_key"`
}

// ServiceLimit is limits.service_per_number.
type ServiceLimit struct {
	Max int    `yaml:"max"`
	Per string `yaml:"per"`
}

// Default returns the built-in defaults.
func Default() Config {
	return Config{
		Addr:          "127.0.0.1:8080",
		DB:            "sqlite:./smsflow.db",
		DefaultRegion: "US",
		Provider:      "console",
		LogLevel:      "info",
		LogFormat:     "text",
		Brand:         Brand{Name: "smsflow", Footer: policy.DefaultFooter},
		QuietHours:    QuietHours{Allowed: "08:00-21:00", StateRules: true, Exempt: []string{"service"}, OnQuiet: "defer"},
		OnCap:         "skip",
		NodeTTL:       "2m",
		SmartSending:  "0h",
		MaxDeferral:   "24h",
		TriggerMaxAge: "6h",
		Keywords:      Keywords{Join: []string{"JOIN"}, Revocation: true},
		Limits: Limits{ServicePerNumber: ServiceLimit{Max: policy.DefaultServicePerNumber.Max, Per: "24h"},
			IngestPerIP: "200/s", IngestPerKey: "20000/s"},
		Twilio: Twilio{APIBase: "https://api.twilio.com", Rate: "1/s", OptOutReplies: "twilio", ReconcileAfter: "10m"},
	}
}

// DefaultFile is read when --config is not given and the file exists.
const DefaultFile = "smsflow.yaml"

// DefaultFlows is the flows directory serve loads when none is given
// (flows:, SMSFLOW_FLOWS, --flows) and it exists. A directory that is given
// must exist; this one may be absent (then the bundled examples load with
// the console provider).
const DefaultFlows = "./flows"

// Load builds the configuration from defaults, the file at path (if path is
// "" the default file, when present) and the environment. A file that does
// not fit Config — an unknown key, a list where a section belongs — and a
// variable that does not parse are Problems, each at its file, line and
// column or naming its variable. Load checks the shape only; Check checks
// the values.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	explicit := path != ""
	if !explicit {
		path = DefaultFile
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := decode(path, b, &cfg); err != nil {
			return cfg, err
		}
	case errors.Is(err, os.ErrNotExist) && !explicit:
	default:
		why := err
		if pe, ok := err.(*os.PathError); ok {
			why = pe.Err // the path is the problem's file
		}
		return cfg, Problems{{File: path, Message: fmt.Sprintf("cannot read the configuration file: %v", why)}}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// applyEnv sets fields from SMSFLOW_* variables. Lists take comma-separated
// values. Unknown SMSFLOW_ variables are ignored (some belong to tests).
func applyEnv(cfg *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "SMSFLOW_") {
			env[k] = v
		}
	}
	return walk(reflect.ValueOf(cfg).Elem(), "SMSFLOW", "", func(name, key string, f reflect.Value) error {
		v, ok := env[name]
		if !ok {
			return nil
		}
		cfg.source().env[key] = name
		bad := func(format string, args ...any) error {
			return Problems{{Env: name, Key: key, Message: fmt.Sprintf(format, args...)}}
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString(v)
		case reflect.Bool:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return bad("%s is %q: write true or false", key, v)
			}
			f.SetBool(b)
		case reflect.Int:
			n, err := strconv.Atoi(v)
			if err != nil {
				return bad("%s is %q: write a whole number", key, v)
			}
			f.SetInt(int64(n))
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.String {
				parts := strings.Split(v, ",")
				for i := range parts {
					parts[i] = strings.TrimSpace(parts[i])
				}
				f.Set(reflect.ValueOf(parts))
			} else if key == "twilio.senders" || key == "smpp.senders" || key == "http.senders" || key == "console.senders" {
				return bad("a list of senders is written in the configuration file (%s: [{…}, …]); the environment sets the single-sender keys (%s_FROM, %s_RATE, …)",
					key, strings.TrimSuffix(name, "_SENDERS"), strings.TrimSuffix(name, "_SENDERS"))
			} else {
				return bad("%s is a list of settings, written in the configuration file (%s: [{…}, …]); the environment cannot set it", key, key)
			}
		case reflect.Map:
			return bad("%s holds several settings, written in the configuration file (%s: {…}); the environment cannot set it", key, key)
		}
		return nil
	})
}

// walk visits every settable leaf field with its environment variable name
// and its key ("twilio.auth_token").
func walk(v reflect.Value, prefix, path string, fn func(name, key string, f reflect.Value) error) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		name, key := prefix+"_"+strings.ToUpper(tag), tag
		if path != "" {
			key = path + "." + tag
		}
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			if err := walk(f, name, key, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(name, key, f); err != nil {
			return err
		}
	}
	return nil
}
