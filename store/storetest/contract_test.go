package storetest_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// noContract are the exported methods without a contract case, each with
// why: none reads or writes the database.
var noContract = map[string]string{
	"DB.Dialect":         "returns the driver's dialect; every case runs on one",
	"DB.SetScanPool":     "driver wiring: store/sqlite gives the reports their own pool (ReadQuery's cases run through it)",
	"DB.QueryRowForTest": "a test hook: the cases use it to look at raw rows",
	"Tx.Context":         "returns the context WriteTx was given",
}

// Every exported method of store.DB and store.Tx has a contract case, or a
// reason above to have none; and every name here and in the suite is a
// method that exists.
func TestContractCoversEveryMethod(t *testing.T) {
	var methods []string
	for _, typ := range []reflect.Type{reflect.TypeFor[*store.DB](), reflect.TypeFor[*store.Tx]()} {
		for m := range typ.Methods() {
			methods = append(methods, typ.Elem().Name()+"."+m.Name)
		}
	}
	covered := storetest.Covered()
	for _, m := range methods {
		_, excused := noContract[m]
		has := slices.Contains(covered, m)
		switch {
		case has && excused:
			t.Errorf("%s has a contract case and an entry in noContract: drop the entry", m)
		case !has && !excused:
			t.Errorf("%s has no contract case in storetest (add one in the contract_*.go of its table)", m)
		}
	}
	for _, name := range covered {
		if !slices.Contains(methods, name) {
			t.Errorf("contract case %s names no exported method", name)
		}
	}
	for name := range noContract {
		if !slices.Contains(methods, name) {
			t.Errorf("noContract names %s, which is no exported method", name)
		}
	}
}
