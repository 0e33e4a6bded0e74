// Package phone turns phone numbers as people and systems write them into
// E.164, with the facts the engine needs to text them: the number type
// (landlines cannot receive SMS), the region and the candidate IANA time
// zones used for quiet hours. It wraps github.com/nyaruka/phonenumbers (a
// port of Google's libphonenumber) so that the rest of smsflow never touches
// the library directly.
//
// It also masks numbers for logs (Mask) and checks IANA zone names
// (ValidTimezone). The package embeds the IANA time zone database
// (time/tzdata), so zone names work on machines without /usr/share/zoneinfo.
package phone
