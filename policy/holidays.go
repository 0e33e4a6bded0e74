package policy

import (
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
)

// date is the civil date y-m-d: a holiday is a whole local day, read in
// each of the recipient's zones.
func date(y int, m time.Month, d int) smsflow.Date { return smsflow.Date{Year: y, Month: m, Day: d} }

// Holiday is one dated day on which a state with NoHolidays forbids
// marketing texts. State "US" rows are federal holidays and apply to every
// such state.
type Holiday struct {
	State  string       // "AL", "LA", or "US" for federal
	Date   smsflow.Date // the local calendar day
	Name   string       // as the source names it
	Source string       // the statute or list the date comes from
}

// Where the table comes from. It needs yearly upkeep: add the next year's
// rows each autumn (CheckHolidayTable, called at start-up, says when it is
// due), and add any holiday a governor declares by proclamation (Louisiana
// did for 2023-07-03) as it is announced.
const (
	srcFederal             = "5 U.S.C. §6103(a); dates as listed by OPM (opm.gov federal holidays)"
	srcFederalObserved     = "5 U.S.C. §6103(b) and Executive Order 11582: Saturday holidays observed the Friday before, Sunday holidays the Monday after (OPM)"
	srcAlabama             = "Code of Ala. 1975 §1-3-8 (Robert E. Lee's and Thomas Jefferson's birthdays fall on the federal MLK and Washington days)"
	srcLouisiana           = "La. R.S. 1:55(A)(1), legis.la.gov (Inauguration Day in Baton Rouge only and parish-level Saturdays left out)"
	srcLouisianaJuneteenth = "La. R.S. 1:55 as amended 2021: Juneteenth Day is the third Saturday in June (AP, 2021-06-18); federal June 19 is listed too"
	srcLouisianaElection   = "general election day in even-numbered years, La. R.S. 1:55 (state employees; FindLaw summary)"
)

// holidays is the dated holiday table for the states whose rule has
// NoHolidays (AL, LA), years 2026–2028. Every date is written out, not
// computed, so a reviewer can check each against its source; a test checks
// each against its rule (nth weekday, Easter) to catch typos. A federal
// holiday and its observed day are both listed: being silent one day too
// many is safe, one too few is not.
var holidays = []Holiday{
	// Federal holidays, applied to AL and LA alike whether or not the
	// state's own statute lists each one (the stricter reading).
	// 2026
	{"US", date(2026, time.January, 1), "New Year's Day", srcFederal},                       // Thu
	{"US", date(2026, time.January, 19), "Birthday of Martin Luther King, Jr.", srcFederal}, // Mon
	{"US", date(2026, time.February, 16), "Washington's Birthday", srcFederal},              // Mon
	{"US", date(2026, time.May, 25), "Memorial Day", srcFederal},                            // Mon
	{"US", date(2026, time.June, 19), "Juneteenth National Independence Day", srcFederal},   // Fri
	{"US", date(2026, time.July, 4), "Independence Day", srcFederal},                        // Sat
	{"US", date(2026, time.July, 3), "Independence Day (observed)", srcFederalObserved},     // Fri
	{"US", date(2026, time.September, 7), "Labor Day", srcFederal},                          // Mon
	{"US", date(2026, time.October, 12), "Columbus Day", srcFederal},                        // Mon
	{"US", date(2026, time.November, 11), "Veterans Day", srcFederal},                       // Wed
	{"US", date(2026, time.November, 26), "Thanksgiving Day", srcFederal},                   // Thu
	{"US", date(2026, time.December, 25), "Christmas Day", srcFederal},                      // Fri
	// 2027
	{"US", date(2027, time.January, 1), "New Year's Day", srcFederal},                                        // Fri
	{"US", date(2027, time.January, 18), "Birthday of Martin Luther King, Jr.", srcFederal},                  // Mon
	{"US", date(2027, time.February, 15), "Washington's Birthday", srcFederal},                               // Mon
	{"US", date(2027, time.May, 31), "Memorial Day", srcFederal},                                             // Mon
	{"US", date(2027, time.June, 19), "Juneteenth National Independence Day", srcFederal},                    // Sat
	{"US", date(2027, time.June, 18), "Juneteenth National Independence Day (observed)", srcFederalObserved}, // Fri
	{"US", date(2027, time.July, 4), "Independence Day", srcFederal},                                         // Sun
	{"US", date(2027, time.July, 5), "Independence Day (observed)", srcFederalObserved},                      // Mon
	{"US", date(2027, time.September, 6), "Labor Day", srcFederal},                                           // Mon
	{"US", date(2027, time.October, 11), "Columbus Day", srcFederal},                                         // Mon
	{"US", date(2027, time.November, 11), "Veterans Day", srcFederal},                                        // Thu
	{"US", date(2027, time.November, 25), "Thanksgiving Day", srcFederal},                                    // Thu
	{"US", date(2027, time.December, 25), "Christmas Day", srcFederal},                                       // Sat
	{"US", date(2027, time.December, 24), "Christmas Day (observed)", srcFederalObserved},                    // Fri
	// 2028
	{"US", date(2028, time.January, 1), "New Year's Day", srcFederal},                       // Sat
	{"US", date(2027, time.December, 31), "New Year's Day (observed)", srcFederalObserved},  // Fri
	{"US", date(2028, time.January, 17), "Birthday of Martin Luther King, Jr.", srcFederal}, // Mon
	{"US", date(2028, time.February, 21), "Washington's Birthday", srcFederal},              // Mon
	{"US", date(2028, time.May, 29), "Memorial Day", srcFederal},                            // Mon
	{"US", date(2028, time.June, 19), "Juneteenth National Independence Day", srcFederal},   // Mon
	{"US", date(2028, time.July, 4), "Independence Day", srcFederal},                        // Tue
	{"US", date(2028, time.September, 4), "Labor Day", srcFederal},                          // Mon
	{"US", date(2028, time.October, 9), "Columbus Day", srcFederal},                         // Mon
	{"US", date(2028, time.November, 11), "Veterans Day", srcFederal},                       // Sat
	{"US", date(2028, time.November, 10), "Veterans Day (observed)", srcFederalObserved},    // Fri
	{"US", date(2028, time.November, 23), "Thanksgiving Day", srcFederal},                   // Thu
	{"US", date(2028, time.December, 25), "Christmas Day", srcFederal},                      // Mon

	// Alabama
	// 2026
	{"AL", date(2026, time.February, 17), "Mardi Gras (Mobile and Baldwin counties; applied statewide)", srcAlabama}, // Tue
	{"AL", date(2026, time.April, 27), "Confederate Memorial Day", srcAlabama},                                       // Mon
	{"AL", date(2026, time.June, 1), "Jefferson Davis' Birthday", srcAlabama},                                        // Mon
	// 2027
	{"AL", date(2027, time.February, 9), "Mardi Gras (Mobile and Baldwin counties; applied statewide)", srcAlabama}, // Tue
	{"AL", date(2027, time.April, 26), "Confederate Memorial Day", srcAlabama},                                      // Mon
	{"AL", date(2027, time.June, 7), "Jefferson Davis' Birthday", srcAlabama},                                       // Mon
	// 2028
	{"AL", date(2028, time.February, 29), "Mardi Gras (Mobile and Baldwin counties; applied statewide)", srcAlabama}, // Tue
	{"AL", date(2028, time.April, 24), "Confederate Memorial Day", srcAlabama},                                       // Mon
	{"AL", date(2028, time.June, 5), "Jefferson Davis' Birthday", srcAlabama},                                        // Mon

	// Louisiana (Sundays are days of public rest too; NoSunday covers them)
	// 2026
	{"LA", date(2026, time.January, 8), "Battle of New Orleans", srcLouisiana},         // Thu
	{"LA", date(2026, time.February, 17), "Mardi Gras", srcLouisiana},                  // Tue
	{"LA", date(2026, time.April, 3), "Good Friday", srcLouisiana},                     // Fri
	{"LA", date(2026, time.June, 20), "Juneteenth Day", srcLouisianaJuneteenth},        // Sat
	{"LA", date(2026, time.August, 30), "Huey P. Long Day", srcLouisiana},              // Sun
	{"LA", date(2026, time.November, 1), "All Saints' Day", srcLouisiana},              // Sun
	{"LA", date(2026, time.November, 3), "General election day", srcLouisianaElection}, // Tue
	// 2027
	{"LA", date(2027, time.January, 8), "Battle of New Orleans", srcLouisiana},  // Fri
	{"LA", date(2027, time.February, 9), "Mardi Gras", srcLouisiana},            // Tue
	{"LA", date(2027, time.March, 26), "Good Friday", srcLouisiana},             // Fri
	{"LA", date(2027, time.June, 19), "Juneteenth Day", srcLouisianaJuneteenth}, // Sat
	{"LA", date(2027, time.August, 30), "Huey P. Long Day", srcLouisiana},       // Mon
	{"LA", date(2027, time.November, 1), "All Saints' Day", srcLouisiana},       // Mon
	// 2028
	{"LA", date(2028, time.January, 8), "Battle of New Orleans", srcLouisiana},         // Sat
	{"LA", date(2028, time.February, 29), "Mardi Gras", srcLouisiana},                  // Tue
	{"LA", date(2028, time.April, 14), "Good Friday", srcLouisiana},                    // Fri
	{"LA", date(2028, time.June, 17), "Juneteenth Day", srcLouisianaJuneteenth},        // Sat
	{"LA", date(2028, time.August, 30), "Huey P. Long Day", srcLouisiana},              // Wed
	{"LA", date(2028, time.November, 1), "All Saints' Day", srcLouisiana},              // Wed
	{"LA", date(2028, time.November, 7), "General election day", srcLouisianaElection}, // Tue
}

// holidayIndex maps state ("US" for federal) → date → holiday name.
var holidayIndex = func() map[string]map[smsflow.Date]string {
	idx := make(map[string]map[smsflow.Date]string)
	for _, h := range holidays {
		if idx[h.State] == nil {
			idx[h.State] = make(map[smsflow.Date]string)
		}
		idx[h.State][h.Date] = h.Name
	}
	return idx
}()

// holidayYears maps state ("US" for federal) → the years with rows.
var holidayYears = func() map[string]map[int]bool {
	years := make(map[string]map[int]bool)
	for _, h := range holidays {
		if years[h.State] == nil {
			years[h.State] = make(map[int]bool)
		}
		years[h.State][h.Date.Year] = true
	}
	return years
}()

// Holidays returns the dated holidays that apply to a state — the federal
// ones and its own — in table order; nil for a state without rows of its own.
func Holidays(state string) []Holiday {
	if len(holidayIndex[state]) == 0 || state == "US" {
		return nil
	}
	var out []Holiday
	for _, h := range holidays {
		if h.State == "US" || h.State == state {
			out = append(out, h)
		}
	}
	return out
}

// IsHoliday reports whether d is a holiday in state (a federal one or the
// state's own) and names it.
func IsHoliday(state string, d smsflow.Date) (name string, ok bool) {
	if name, ok := holidayIndex[state][d]; ok && state != "US" {
		return name, true
	}
	if name, ok := holidayIndex["US"][d]; ok {
		return name, true
	}
	return "", false
}

// HolidaysCover reports whether the table has been filled in for a state's
// year: both the federal rows and the state's own. Check treats every date
// of an uncovered year as a holiday, so a table left to expire stops
// marketing to AL and LA rather than break their law.
func HolidaysCover(state string, year int) bool {
	return holidayYears["US"][year] && holidayYears[state][year]
}

// CheckHolidayTable returns an error naming the states whose holidays are
// missing for today's year or the next one, so that the yearly upkeep is
// done before Check starts refusing their dates. today is passed in (the
// caller's clock); serve should call it at start-up and log the error.
func CheckHolidayTable(today time.Time) error {
	var missing []string
	for _, r := range stateRules {
		if !r.NoHolidays {
			continue
		}
		for _, y := range []int{today.Year(), today.Year() + 1} {
			if !HolidaysCover(r.State, y) {
				missing = append(missing, fmt.Sprintf("%s %d", r.State, y))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("policy: holiday table (policy/holidays.go) has no rows for %v; add them from the sources named there", missing)
	}
	return nil
}
