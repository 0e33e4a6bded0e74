package main

import (
	"io"
	"log/slog"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/phone"
)

// newLogger builds the structured logger. Every phone-shaped value in every
// line — the message, string attributes, groups, errors — is masked, at
// every level (phone.MaskAttr).
func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: phone.MaskAttr}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
