package phone

import (
	"sync"
	"time"

	// The engine computes quiet hours in the recipient's zone, so zone names
	// must resolve on every machine, with or without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// maxZoneName bounds the names ValidTimezone looks up; the longest IANA name
// ("America/Argentina/ComodRivadavia") is 32 bytes.
const maxZoneName = 64

// validZones caches the names already found valid. Only valid names are
// kept, so its size is bounded by the IANA database (about 600 names) however
// many bad names arrive.
var validZones sync.Map // string → struct{}

// ValidTimezone reports whether name is an IANA time zone name
// ("America/New_York", "UTC") that time.LoadLocation accepts. It rejects ""
// and "Local", which LoadLocation accepts but which name no real zone (UTC
// and the server's own zone). Names are case-sensitive. time.LoadLocation
// reads the system's zoneinfo first and the embedded copy after, so a system
// database may add names (such as "posix/…") that the embedded one lacks.
func ValidTimezone(name string) bool {
	if name == "" || name == "Local" || len(name) > maxZoneName {
		return false
	}
	if _, ok := validZones.Load(name); ok {
		return true
	}
	if _, err := time.LoadLocation(name); err != nil {
		return false
	}
	validZones.Store(name, struct{}{})
	return true
}
