package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestEveryKeyIsDocumented fails when a key of the configuration — or the
// environment variable that sets it — is missing from
// docs/configuration.md, so the reference cannot fall behind the code.
func TestEveryKeyIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	var cfg Config
	err = walk(reflect.ValueOf(&cfg).Elem(), "SMSFLOW", "", func(name, key string, f reflect.Value) error {
		if !strings.Contains(text, "`"+key+"`") {
			t.Errorf("docs/configuration.md does not document `%s`", key)
		}
		envSettable := f.Kind() != reflect.Slice || f.Type().Elem().Kind() == reflect.String
		if envSettable && f.Kind() != reflect.Map && !strings.Contains(text, name) {
			t.Errorf("docs/configuration.md does not name %s (the environment variable of `%s`)", name, key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
