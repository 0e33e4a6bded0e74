package config

import "path/filepath"

// SetIn says where a key was set: "SMSFLOW_ADMIN_KEY" for the
// environment, the file's name ("smsflow.yaml") for the file, "" when it
// was neither (a default). The web UI's settings page says it when it
// refuses to rotate a configured key.
func (c Config) SetIn(key string) string {
	if c.src == nil {
		return ""
	}
	if v := c.src.env[key]; v != "" {
		return "the environment (" + v + ")"
	}
	if _, ok := c.src.keys[key]; ok {
		return filepath.Base(c.src.file)
	}
	return ""
}
