package segments

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// pieces a random body is made of: GSM-7, extension characters, non-GSM
// letters, emoji of every shape, combining marks, controls, replacements,
// and invalid UTF-8.
var pieces = [][]string{
	strings.Split("a b c x y z 0 9 @ $ _ £ é Ç Δ Ø ß ¿ . , ! ? \n \r \r\n", " "),
	strings.Split("€ [ ] { } ^ ~ \\ | \f", " "),
	strings.Split("ç á ` ı Ж 中 ÿ ő \ufffd ∞ 한", " "),
	strings.Split("😀 👍🏽 👨‍👩‍👧‍👦 ❤️ 🏳️‍🌈 🇮🇹 🇦 🧑‍🤝‍🧑 1️⃣ 🏴󠁧󠁢󠁳󠁣󠁴󠁿 🏽 ♀", " "),
	strings.Split("\u0301 \u200d \ufe0f \u200c \u20e3 \u0903 \u0600 \u1100 \u1161 \u11a8 \U000E0100", " "),
	strings.Split("“ ” ‘ ’ – — … • \u00a0 \u200b \ufeff \t \u2009 ＳＭＳ", " "),
	{"\xff", "\xe2\x80", "\xc0\xaf", "\xed\xa0\x80"},
}

func randomBody(rng *rand.Rand) string {
	weights := []int{60, 8, 6, 8, 8, 8, 2}
	mostlyGSM := rng.IntN(2) == 0
	n := rng.IntN(480)
	var b strings.Builder
	for range n {
		k := 0
		if !mostlyGSM || rng.IntN(20) == 0 {
			r := rng.IntN(100)
			for k = 0; r >= weights[k]; k++ {
				r -= weights[k]
			}
		}
		b.WriteString(pieces[k][rng.IntN(len(pieces[k]))])
	}
	return b.String()
}

func TestPropertiesRandomBodies(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	for range 5000 {
		body := randomBody(rng)
		checkParts(t, body)
		checkSmartEncode(t, body)
		if t.Failed() {
			t.Fatalf("failed on %+q", body)
		}
	}
}

// TestLongGraphemeIsLinear would not finish if a long cluster cost quadratic
// time (grapheme-splitter rescans the cluster at every code point).
func TestLongGraphemeIsLinear(t *testing.T) {
	body := "e" + strings.Repeat("\u0301", 200000)
	info := Measure(body)
	if got, want := info.Characters, 1; got != want {
		t.Errorf("Characters = %d, want %d", got, want)
	}
	if got, want := info.Segments, (200001+66)/67; got != want {
		t.Errorf("Segments = %d, want %d", got, want)
	}
	checkParts(t, body)
}

func BenchmarkMeasure(b *testing.B) {
	bodies := map[string]string{
		"gsm":   strings.Repeat("Your order #1234 has shipped! Track it at https://example.com/t/abc ", 4),
		"ucs2":  strings.Repeat("Tu pedido 🚚 ha salido — síguelo aquí 👉 https://example.com ", 4),
		"smart": strings.Repeat("“Thanks” – we’ll text you… ", 8),
	}
	for name, body := range bodies {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				Measure(body)
			}
		})
	}
}
