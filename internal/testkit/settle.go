package testkit

import (
	"context"
	"testing"
)

// Settle runs steps (the engine's RunOnce, a sender's round …) in turn
// until a pass in which none did anything, failing the test when one fails
// or after passes passes that all did something.
func Settle(t testing.TB, passes int, steps ...func(context.Context) (int, error)) {
	t.Helper()
	for range passes {
		done := 0
		for _, step := range steps {
			n, err := step(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			done += n
		}
		if done == 0 {
			return
		}
	}
	t.Fatalf("still working after %d passes: the engine (and sender) did not settle", passes)
}
