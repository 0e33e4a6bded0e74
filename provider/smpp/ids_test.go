package smpp

import "testing"

func TestNormalizeID(t *testing.T) {
	for in, want := range map[string]string{
		"2A00000F":     "2a00000f",
		"002a00000f":   "2a00000f",
		" 0001234\x00": "1234",
		"0000":         "0",
		"":             "",
		"msg-ABC-01":   "msg-ABC-01", // not hex: opaque, case kept
		"Zebra":        "Zebra",
	} {
		if got := NormalizeID(in); got != want {
			t.Errorf("NormalizeID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIDBookResolve(t *testing.T) {
	b := newIDBook(100)
	// submit_sm_resp gave hex ids; part 2 of the first message too.
	b.add(NormalizeID("2A00000F"), idEntry{first: "2a00000f"})
	b.add(NormalizeID("2A000010"), idEntry{first: "2a00000f", part: 1})

	for _, c := range []struct {
		raw, want string
		known     bool
		part      int
	}{
		{"2a00000f", "2a00000f", true, 0},    // same form
		{"704643087", "2a00000f", true, 0},   // decimal of 0x2A00000F
		{"0704643088", "2a000010", true, 1},  // decimal, zero-padded, second part
		{"704643089", "2a000011", false, 0},  // unknown, but the SMSC was seen reporting decimal
		{"not-an-id", "not-an-id", false, 0}, // opaque
	} {
		id, e, known := b.resolve(c.raw)
		if id != c.want || known != c.known || (known && e.part != c.part) {
			t.Errorf("resolve(%q) = %q, %+v, %v; want %q part %d known %v", c.raw, id, e, known, c.want, c.part, c.known)
		}
	}

	// The other way round: decimal submit_sm_resp ids, hex receipts.
	d := newIDBook(100)
	d.add("704643087", idEntry{first: "704643087"})
	if id, _, known := d.resolve("2A00000F"); !known || id != "704643087" {
		t.Errorf("hex receipt for a decimal id: %q known=%v", id, known)
	}
}

func TestIDBookForgetsOldest(t *testing.T) {
	b := newIDBook(2)
	for _, id := range []string{"a1", "a2", "a3"} {
		b.add(id, idEntry{first: id})
	}
	if _, _, known := b.resolve("a1"); known {
		t.Error("a1 still known past the book's size")
	}
	if _, _, known := b.resolve("a3"); !known {
		t.Error("a3 forgotten")
	}
}

func FuzzNormalizeID(f *testing.F) {
	for _, s := range []string{"2A00000F", "0000", "704643087", "x-1", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeID(s)
		if NormalizeID(n) != n {
			t.Errorf("NormalizeID is not idempotent: %q -> %q -> %q", s, n, NormalizeID(n))
		}
		b := newIDBook(4)
		b.add(n, idEntry{first: n})
		if id, _, known := b.resolve(s); n != "" && (!known || id != n) {
			t.Errorf("resolve(%q) = %q known=%v, want %q", s, id, known, n)
		}
	})
}
