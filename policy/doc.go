// Package policy is the analysis part of the loop: the one check every send
// goes through (Decide), consent classes, and quiet hours by time zone and US
// state with their data tables (states.go, holidays.go). Everything here is a
// pure function of the facts and the clock.
package policy
