package smpp

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/sms/segments"
)

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// connect makes a provider for the server on port and connects it.
func connect(t *testing.T, port int, ev provider.Events, mod func(*Config)) *SMPP {
	t.Helper()
	cfg := Config{
		Addr:          fmt.Sprintf("127.0.0.1:%d", port),
		SystemID:      testSystemID,
		Password:      testPassword,
		SourceAddr:    "12345",
		SubmitTimeout: 5 * time.Second,
		ReconnectMin:  20 * time.Millisecond,
		ReconnectMax:  200 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Connect(context.Background(), ev); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func send(t *testing.T, p *SMPP, id int64, to, body string) provider.Result {
	t.Helper()
	res, err := p.Send(context.Background(), &smsflow.Message{ID: id, Phone: to, Body: body})
	if err != nil {
		t.Fatalf("Send(%q): %v", clip(body, 30), err)
	}
	if res.Status != smsflow.MessageSent || res.ProviderID == "" {
		t.Fatalf("Send result %+v, want status sent and a provider id", res)
	}
	return res
}

func text(e smscEvent) string {
	if e.Text == nil {
		return ""
	}
	return *e.Text
}

func TestSendGSM7Single(t *testing.T) {
	srv := startSMSC(t, 0)
	rec := newRecorder()
	p := connect(t, srv.Port, rec, nil)

	body := "Hi Ana: 20% off {today} only, €5 [code] ~ ^_^ | back\\slash. Reply STOP to opt out"
	if info := segments.Measure(body); info.Encoding != segments.GSM7 || info.Segments != 1 {
		t.Fatalf("test body should be one GSM-7 segment, is %+v", info)
	}
	res := send(t, p, 7, "+15550000001", body)

	sub := srv.waitFor("submit_sm", submitsTo("15550000001"), 1)
	if len(sub) != 1 {
		t.Fatalf("%d submit_sm, want 1", len(sub))
	}
	e := sub[0]
	if e.DataCoding != 0 || e.EsmClass != 0 || e.RegisteredDelivery != 1 || len(e.UDH) != 0 {
		t.Errorf("submit_sm data_coding=%d esm_class=%#x registered_delivery=%d udh=%v; want 0, 0, 1, none",
			e.DataCoding, e.EsmClass, e.RegisteredDelivery, e.UDH)
	}
	if text(e) != body { // the npm package decodes the septets with its own GSM 03.38 table
		t.Errorf("SMSC read %q, want %q", text(e), body)
	}
	if e.SourceAddr != "12345" || e.SourceTON != int(TONNetwork) || e.DestTON != 1 || e.DestNPI != 1 {
		t.Errorf("addresses: source %q TON %d, dest TON %d NPI %d; want 12345 TON 3, dest 1/1", e.SourceAddr, e.SourceTON, e.DestTON, e.DestNPI)
	}
	// Extension characters go as escape + code, one septet per byte.
	if raw, _ := hex.DecodeString(e.MessageHex); len(raw) != segments.Measure(body).Characters {
		t.Errorf("short_message is %d bytes, want one per septet (%d)", len(raw), segments.Measure(body).Characters)
	}
	if want := NormalizeID(e.MessageID); res.ProviderID != want {
		t.Errorf("ProviderID %q, want the normalized submit_sm_resp id %q", res.ProviderID, want)
	}
}

// checkConcat checks the parts of one concatenated message and returns
// their texts joined.
func checkConcat(t *testing.T, parts []smscEvent, ref byte, coding int) string {
	t.Helper()
	var joined strings.Builder
	for i, e := range parts {
		want := hex.EncodeToString([]byte{0x00, 0x03, ref, byte(len(parts)), byte(i + 1)})
		if len(e.UDH) != 1 || e.UDH[0] != want {
			t.Errorf("part %d UDH %v, want [%s] (IEI 0, ref, total, part)", i+1, e.UDH, want)
		}
		if e.EsmClass&0x40 == 0 {
			t.Errorf("part %d esm_class %#x lacks UDHI 0x40", i+1, e.EsmClass)
		}
		if e.DataCoding != coding || e.RegisteredDelivery != 1 {
			t.Errorf("part %d data_coding %d registered_delivery %d, want %d and 1", i+1, e.DataCoding, e.RegisteredDelivery, coding)
		}
		joined.WriteString(text(e))
	}
	return joined.String()
}

func TestSendGSM7Long(t *testing.T) {
	srv := startSMSC(t, 0)
	p := connect(t, srv.Port, newRecorder(), nil)

	// 152 plain characters then "€": the escape pair must not be cut at 153.
	body := strings.Repeat("a", 152) + "€" + strings.Repeat("Long GSM text. ", 15)
	info := segments.Measure(body)
	if info.Encoding != segments.GSM7 || info.Segments != 3 {
		t.Fatalf("test body should be 3 GSM-7 segments, is %+v", info)
	}
	const id = 0x1234 // ref is the low byte of the message id
	res := send(t, p, id, "+15550000002", body)

	parts := srv.waitFor("submit_sm", submitsTo("15550000002"), 3)
	if len(parts) != 3 {
		t.Fatalf("%d submit_sm, want 3", len(parts))
	}
	if got := checkConcat(t, parts, 0x34, 0); got != body {
		t.Errorf("joined parts %q, want the body", got)
	}
	for i, e := range parts {
		if n := len(e.MessageHex) / 2; n > 153 {
			t.Errorf("part %d carries %d septets, more than 153", i+1, n)
		}
	}
	if !strings.HasSuffix(text(parts[0]), "a") || !strings.HasPrefix(text(parts[1]), "€") {
		t.Errorf("the € escape pair was cut: part 1 ends %q, part 2 starts %q", text(parts[0])[140:], clip(text(parts[1]), 5))
	}
	if want := NormalizeID(parts[0].MessageID); res.ProviderID != want {
		t.Errorf("ProviderID %q, want the first part's id %q", res.ProviderID, want)
	}
}

func TestSendUCS2Long(t *testing.T) {
	srv := startSMSC(t, 0)
	p := connect(t, srv.Port, newRecorder(), nil)

	body := "Привет! Ваш заказ готов 🎉👍🏽 — заберите его до пятницы. " + strings.Repeat("Спасибо 😊 ", 8)
	info := segments.Measure(body)
	if info.Encoding != segments.UCS2 || info.Segments < 2 {
		t.Fatalf("test body should be several UCS-2 segments, is %+v", info)
	}
	res := send(t, p, 0x77, "+15550000003", body)

	parts := srv.waitFor("submit_sm", submitsTo("15550000003"), info.Segments)
	if len(parts) != info.Segments {
		t.Fatalf("%d submit_sm, want %d", len(parts), info.Segments)
	}
	if got := checkConcat(t, parts, 0x77, 8); got != body {
		t.Errorf("joined parts %q, want %q", got, body)
	}
	for i, e := range parts {
		if n := len(e.MessageHex) / 2; n > 134 || n%2 != 0 {
			t.Errorf("part %d is %d bytes of UTF-16, want an even number up to 134", i+1, n)
		}
	}
	if want := NormalizeID(parts[0].MessageID); res.ProviderID != want {
		t.Errorf("ProviderID %q, want %q", res.ProviderID, want)
	}
}

func TestReceipts(t *testing.T) {
	srv := startSMSC(t, 0, "--stat", "15550000011=UNDELIV:012,15550000012=REJECTD:004,15550000013=EXPIRED:000")
	rec := newRecorder()
	p := connect(t, srv.Port, rec, nil)

	t.Run("decimal id in the receipt matches the hex submit_sm_resp id", func(t *testing.T) {
		res := send(t, p, 1, "+15550000010", "Your order shipped")
		e := srv.waitFor("submit_sm", submitsTo("15550000010"), 1)[0]
		if e.ReceiptID == strings.ToLower(e.MessageID) {
			t.Fatalf("server gave the same id in both forms (%s); the test needs hex vs decimal", e.MessageID)
		}
		r := rec.waitReceipt(t, res.ProviderID)
		if r.Status != smsflow.MessageDelivered || r.ErrorCode != "" {
			t.Errorf("receipt %+v, want delivered with no error code", r)
		}
	})
	for _, c := range []struct {
		to, status, code string
	}{
		{"+15550000011", smsflow.MessageUndelivered, "012"},
		{"+15550000012", smsflow.MessageFailed, "004"},
		{"+15550000013", smsflow.MessageFailed, ""},
	} {
		t.Run(c.to, func(t *testing.T) {
			res := send(t, p, 2, c.to, "Hello")
			r := rec.waitReceipt(t, res.ProviderID)
			if r.Status != c.status || r.ErrorCode != c.code {
				t.Errorf("receipt %+v, want status %s code %q", r, c.status, c.code)
			}
		})
	}
	t.Run("a concatenated message gets one receipt, under the first part's id", func(t *testing.T) {
		res := send(t, p, 3, "+15550000014", strings.Repeat("two parts ", 20))
		parts := srv.waitFor("submit_sm", submitsTo("15550000014"), 2)
		if len(parts) != 2 {
			t.Fatalf("%d parts, want 2", len(parts))
		}
		srv.waitFor("answers to both parts' receipts", func(e smscEvent) bool {
			return e.Event == "deliver_sm_resp" && e.Kind == "receipt" && e.SourceAddr == "15550000014"
		}, 2)
		// Both receipts answered; exactly one reached Events for this message.
		if got := rec.receiptsFor(res.ProviderID); len(got) != 1 || got[0].Status != smsflow.MessageDelivered {
			t.Errorf("receipts for %s: %+v, want one delivered", res.ProviderID, got)
		}
	})
	t.Run("receipted_message_id TLV and an id in another form", func(t *testing.T) {
		res := send(t, p, 4, "+15550000015", "TLV")
		e := srv.waitFor("submit_sm", submitsTo("15550000015"), 1)[0]
		srv.send(map[string]any{"cmd": "deliver", "esm_class": 4, "kind": "tlv",
			"text":                 "id:garbage sub:001 dlvrd:000 submit date:2501011200 done date:2501011201 stat:EXPIRED err:005 text:TLV",
			"receipted_message_id": "000" + e.MessageID})
		// Both the server's own DELIVRD receipt and ours come in.
		var expired bool
		rec.wait(t, "EXPIRED and DELIVRD receipts", func() bool {
			n := 0
			for _, r := range rec.receipts {
				if r.ProviderID == res.ProviderID {
					n++
					expired = expired || r.Status == smsflow.MessageFailed && r.ErrorCode == "005"
				}
			}
			return n == 2
		})
		if !expired {
			t.Errorf("receipts %+v, want one failed with code 005", rec.receiptsFor(res.ProviderID))
		}
	})
	t.Run("Events error asks the SMSC to deliver again", func(t *testing.T) {
		rec.setFailNext(1)
		res := send(t, p, 5, "+15550000016", "retry me")
		rec.waitReceipt(t, res.ProviderID)
		answers := srv.waitFor("the temporary error answer", func(e smscEvent) bool {
			return e.Event == "deliver_sm_resp" && e.Kind == "receipt" && e.SourceAddr == "15550000016" &&
				e.CommandStatus != nil && *e.CommandStatus == 0x64
		}, 1)
		if a := answers[0]; a.Attempt != 1 {
			t.Errorf("the temporary error answered attempt %d, want 1", a.Attempt)
		}
		if got := rec.receiptsFor(res.ProviderID); len(got) != 1 {
			t.Errorf("%d receipts stored, want 1 (the redelivery)", len(got))
		}
	})
	t.Run("malformed receipt is acknowledged and dropped", func(t *testing.T) {
		before := len(srv.matching(func(e smscEvent) bool { return e.Kind == "bad" }))
		srv.send(map[string]any{"cmd": "deliver", "esm_class": 4, "kind": "bad", "text": "this is not a receipt"})
		got := srv.waitFor("answer to the malformed receipt", func(e smscEvent) bool { return e.Kind == "bad" }, before+1)
		if st := got[len(got)-1].CommandStatus; st == nil || *st != 0 {
			t.Errorf("malformed receipt answered %v, want 0 (no point in redelivery)", st)
		}
	})
}

func TestInbound(t *testing.T) {
	srv := startSMSC(t, 0)
	rec := newRecorder()
	connect(t, srv.Port, rec, nil)

	t.Run("GSM-7", func(t *testing.T) {
		srv.send(map[string]any{"cmd": "mo", "from": "15551230001", "to": "12345", "text": "STOP {now} €", "data_coding": 0})
		m := rec.waitInbound(t, "+15551230001")
		if m.Body != "STOP {now} €" || m.To != "12345" {
			t.Errorf("inbound %+v, want body %q to 12345", m, "STOP {now} €")
		}
	})
	t.Run("UCS-2 in two parts, out of order", func(t *testing.T) {
		srv.send(map[string]any{"cmd": "mo", "from": "15551230002", "to": "12345", "data_coding": 8, "udh": "050003ab0202", "text": "вторая часть 🎉"})
		srv.send(map[string]any{"cmd": "mo", "from": "15551230002", "to": "12345", "data_coding": 8, "udh": "050003ab0201", "text": "Первая часть, "})
		m := rec.waitInbound(t, "+15551230002")
		if want := "Первая часть, вторая часть 🎉"; m.Body != want {
			t.Errorf("inbound body %q, want %q", m.Body, want)
		}
	})
	t.Run("Events error: temporary answer, then the redelivery is taken", func(t *testing.T) {
		rec.setFailNext(1)
		srv.send(map[string]any{"cmd": "mo", "from": "15551230003", "to": "12345", "text": "YES"})
		m := rec.waitInbound(t, "+15551230003")
		if m.Body != "YES" {
			t.Errorf("inbound %+v", m)
		}
		srv.waitFor("temporary error answer", func(e smscEvent) bool {
			return e.Event == "deliver_sm_resp" && e.Kind == "mo" && e.CommandStatus != nil && *e.CommandStatus == 0x64
		}, 1)
	})
}

func TestSendErrors(t *testing.T) {
	srv := startSMSC(t, 0, "--throttle", "15550000021,15550000024@2", "--invalid", "15550000022", "--silent", "15550000023")
	p := connect(t, srv.Port, newRecorder(), func(c *Config) { c.SubmitTimeout = 300 * time.Millisecond })

	for _, c := range []struct {
		to   string
		kind provider.ErrorKind
		code string
	}{
		{"+15550000021", provider.Transient, "0x58"},
		{"+15550000022", provider.InvalidNumber, "0x0B"},
		{"+15550000023", provider.Unknown, ""}, // written, never answered
		{"not a number", provider.InvalidNumber, ""},
	} {
		t.Run(c.to, func(t *testing.T) {
			_, err := p.Send(context.Background(), &smsflow.Message{ID: 9, Phone: c.to, Body: "hello"})
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Send error %v, want a *provider.Error", err)
			}
			if pe.Kind != c.kind || pe.Code != c.code {
				t.Errorf("error %v: kind %s code %q, want %s %q", pe, pe.Kind, pe.Code, c.kind, c.code)
			}
			if c.kind == provider.Transient && pe.Retry <= 0 {
				t.Errorf("throttled: Retry %s, want a pause", pe.Retry)
			}
		})
	}
	t.Run("throttled on the second part", func(t *testing.T) {
		_, err := p.Send(context.Background(), &smsflow.Message{ID: 10, Phone: "+15550000024", Body: strings.Repeat("x", 200)})
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Kind != provider.Transient || pe.Code != "0x58" ||
			!strings.Contains(pe.Message, "part 2/2") || !strings.Contains(pe.Message, "1 earlier part") {
			t.Errorf("error %v, want Transient 0x58 naming part 2/2 and the accepted first part", err)
		}
		if got := srv.waitFor("submit_sm", submitsTo("15550000024"), 2); len(got) != 2 {
			t.Errorf("%d submit_sm, want 2 (the first accepted, the second throttled)", len(got))
		}
	})
}

func TestNotBound(t *testing.T) {
	p, err := New(Config{Addr: "127.0.0.1:1", SystemID: "x", SourceAddr: "Shop"}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(context.Background(), &smsflow.Message{ID: 1, Phone: "+15550000001", Body: "hi"})
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Kind != provider.Transient {
		t.Fatalf("Send before Connect: %v, want Transient", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBindRefused(t *testing.T) {
	srv := startSMSC(t, 0)
	p, err := New(Config{Addr: fmt.Sprintf("127.0.0.1:%d", srv.Port), SystemID: testSystemID, Password: "wrong", SourceAddr: "12345"}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	err = p.Connect(context.Background(), newRecorder())
	if err == nil || !strings.Contains(err.Error(), "smpp.password") {
		t.Fatalf("Connect with a wrong password: %v, want an error pointing at smpp.password", err)
	}
	_ = p.Close()
}

func TestReconnect(t *testing.T) {
	srv := startSMSC(t, 0)
	port := srv.Port
	rec := newRecorder()
	p := connect(t, port, rec, nil)
	send(t, p, 1, "+15550000031", "before")

	srv.stop()
	// Until a new server is up, Send says Transient (nothing was written).
	deadline := time.Now().Add(waitLimit)
	for {
		_, err := p.Send(context.Background(), &smsflow.Message{ID: 2, Phone: "+15550000031", Body: "during"})
		var pe *provider.Error
		if errors.As(err, &pe) && pe.Kind == provider.Transient {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Send with the server gone: %v, want Transient", err)
		}
		time.Sleep(20 * time.Millisecond) // polling a real condition
	}

	srv2 := startSMSC(t, port)
	var res provider.Result
	for {
		var err error
		res, err = p.Send(context.Background(), &smsflow.Message{ID: 3, Phone: "+15550000031", Body: "after"})
		if err == nil {
			break
		}
		if time.Now().After(deadline.Add(waitLimit)) {
			t.Fatalf("Send after the server came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv2.waitFor("bind on the new server", func(e smscEvent) bool { return e.Event == "bind" && e.OK }, 1)
	if got := srv2.waitFor("submit_sm", submitsTo("15550000031"), 1); text(got[0]) != "after" {
		t.Errorf("new server got %q, want %q", text(got[0]), "after")
	}
	rec.waitReceipt(t, res.ProviderID) // receipts flow on the new bind too
}

func TestEnquireLink(t *testing.T) {
	srv := startSMSC(t, 0)
	connect(t, srv.Port, newRecorder(), func(c *Config) { c.EnquireLink = 100 * time.Millisecond })

	srv.waitFor("our enquire_link keep-alives", func(e smscEvent) bool { return e.Event == "enquire_link" }, 2)
	srv.send(map[string]any{"cmd": "enquire_link"})
	got := srv.waitFor("enquire_link_resp", func(e smscEvent) bool { return e.Event == "enquire_link_resp" }, 1)
	if st := got[0].CommandStatus; st == nil || *st != 0 {
		t.Errorf("enquire_link_resp status %v, want 0", st)
	}
}

func TestSMSCDropsConnection(t *testing.T) {
	srv := startSMSC(t, 0)
	p := connect(t, srv.Port, newRecorder(), nil)
	send(t, p, 1, "+15550000041", "one")
	srv.send(map[string]any{"cmd": "drop"})
	srv.waitFor("close", func(e smscEvent) bool { return e.Event == "close" }, 1)
	srv.waitFor("second bind", func(e smscEvent) bool { return e.Event == "bind" && e.OK }, 2)
	deadline := time.Now().Add(waitLimit)
	for {
		if _, err := p.Send(context.Background(), &smsflow.Message{ID: 2, Phone: "+15550000041", Body: "two"}); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("Send after the rebind: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A deliver_sm gosmpp cannot parse (UDH flag set, header longer than the
// message) is answered and dropped; the bind stays up.
func TestUnreadableDeliverSM(t *testing.T) {
	srv := startSMSC(t, 0)
	rec := newRecorder()
	connect(t, srv.Port, rec, nil)

	srv.send(map[string]any{"cmd": "deliver", "esm_class": 0x40, "kind": "broken", "hex": "0a0003"})
	got := srv.waitFor("answer to the broken deliver_sm", func(e smscEvent) bool { return e.Kind == "broken" }, 1)
	if st := got[0].CommandStatus; st == nil || *st != 0 {
		t.Errorf("broken deliver_sm answered %v, want 0", st)
	}
	srv.send(map[string]any{"cmd": "mo", "from": "15551239999", "to": "12345", "text": "still here"})
	if m := rec.waitInbound(t, "+15551239999"); m.Body != "still here" {
		t.Errorf("inbound %+v", m)
	}
	if binds := srv.matching(func(e smscEvent) bool { return e.Event == "bind" }); len(binds) != 1 {
		t.Errorf("%d binds, want 1: the connection should have stayed up", len(binds))
	}
}

// One 48-byte query_sm with an optional parameter made gosmpp's parser
// panic and ended the process (issue 16 item 6). Now it is answered
// generic_nack, and the same bind goes on carrying inbound texts.
func TestQuerySMPanicKeepsTheBind(t *testing.T) {
	srv := startSMSC(t, 0)
	rec := newRecorder()
	connect(t, srv.Port, rec, nil)
	srv.waitFor("bind", func(e smscEvent) bool { return e.Event == "bind" && e.OK }, 1)

	srv.send(map[string]any{"cmd": "raw", "hex": "000000300000000300000000000010923132333435363738393000010131323334353637383930000204000400010203"})
	got := srv.waitFor("generic_nack", func(e smscEvent) bool { return e.Event == "generic_nack" }, 1)
	if got[0].SequenceNumber != 0x1092 || got[0].CommandStatus == nil || *got[0].CommandStatus != 0x03 {
		t.Errorf("generic_nack %+v, want sequence 4242 and ESME_RINVCMDID", got[0])
	}
	srv.send(map[string]any{"cmd": "mo", "from": "15551239998", "to": "12345", "text": "after the query_sm"})
	if m := rec.waitInbound(t, "+15551239998"); m.Body != "after the query_sm" {
		t.Errorf("inbound %+v", m)
	}
	if binds := srv.matching(func(e smscEvent) bool { return e.Event == "bind" }); len(binds) != 1 {
		t.Errorf("%d binds, want 1: the connection should have stayed up", len(binds))
	}
}
