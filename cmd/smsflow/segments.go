package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"strings"

	"github.com/smsflow/smsflow/sms/segments"
)

// cmdSegments prints how an SMS body is encoded and how many segments it
// costs: `smsflow segments TEXT` or the text on standard input.
func cmdSegments(_ context.Context, args []string, stdout, stderr io.Writer, stdin io.Reader) error {
	fs := flag.NewFlagSet("segments", flag.ContinueOnError)
	smart := fs.Bool("smart", false, "apply smart encoding first (look-alike characters replaced when the whole text can then be GSM-7)")
	words, err := parseArgs(fs, args, stderr) // --smart before or after the text; "--" ends the flags
	if err != nil {
		return err
	}
	var body string
	if len(words) > 0 {
		body = strings.Join(words, " ")
	} else {
		b, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
		if err != nil {
			return err
		}
		body = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	out := struct {
		segments.Info
		SmartEncoded bool `json:"smart_encoded,omitempty"`
	}{}
	if *smart {
		body, out.SmartEncoded = segments.SmartEncode(body)
	}
	out.Info = segments.Measure(body)
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

var stdin io.Reader = os.Stdin
