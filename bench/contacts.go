package bench

import (
	"fmt"
	"strconv"
)

// The contacts the benchmarks make: valid, distinct numbers (libphonenumber
// classes them fixed_line_or_mobile, which may be texted) with their zones,
// and ids that sort in the order they were made.

// benchPhone is the i-th benchmark number: valid US numbers +1 415 2xx xxxx
// (libphonenumber classes them fixed_line_or_mobile, which may be texted).
func benchPhone(i int) string { return fmt.Sprintf("+1415%07d", 2_000_000+i) }

// broadcastArea is an area code the benchmark's numbers use, with the zone
// libphonenumber gives its numbers.
type broadcastArea struct {
	code int
	zone string
}

var broadcastAreas = []broadcastArea{
	{415, "America/Los_Angeles"}, {206, "America/Los_Angeles"},
	{212, "America/New_York"}, {617, "America/New_York"},
	{312, "America/Chicago"}, {512, "America/Chicago"},
	{303, "America/Denver"}, {602, "America/Phoenix"},
}

// broadcastExchanges are the central-office codes (the 3 digits after the
// area code) the benchmark uses: 200–999 without N11 service codes and 555.
var broadcastExchanges = func() []int {
	var out []int
	for x := 200; x <= 999; x++ {
		if x%100 == 11 || x == 555 {
			continue
		}
		out = append(out, x)
	}
	return out
}()

// broadcastCapacity is how many distinct numbers Phone can make.
var broadcastCapacity = len(broadcastAreas) * len(broadcastExchanges) * 10_000

// Phone is the i-th benchmark contact's number (E.164) and its zone: valid,
// distinct US numbers (up to broadcastCapacity) spread round robin over a
// few area codes and zones.
func Phone(i int) (string, string) {
	a := broadcastAreas[i%len(broadcastAreas)]
	k := i / len(broadcastAreas)
	return fmt.Sprintf("+1%03d%03d%04d", a.code, broadcastExchanges[k/10_000], k%10_000), a.zone
}

// broadcastContactID is the i-th contact's id: fixed width, so the ids sort
// in the order they were made (a segment scan walks contacts by id).
func broadcastContactID(i, n int) string {
	w := max(7, len(strconv.Itoa(n)))
	return fmt.Sprintf("c%0*d", w, i+1)
}

var broadcastNames = []string{"Ana", "Bea", "Cal", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo"}
