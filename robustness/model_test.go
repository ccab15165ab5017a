package robustness

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The model and the checks on small hand-made histories: what each is
// meant to accept and to catch.
func TestModel(t *testing.T) {
	const end = 1 << 62
	reg, lock := registerKey(0), lockKey(0)
	cases := []struct {
		name string
		ops  []*Op
		want porcupine.CheckResult
	}{
		{"put then read", []*Op{
			{Client: 0, Kind: Put, Key: reg, Value: "a", Call: 0, Return: 10},
			{Client: 1, Kind: Get, Key: reg, Found: true, Got: "a", Call: 20, Return: 30},
		}, porcupine.Ok},
		{"stale read", []*Op{
			{Client: 0, Kind: Put, Key: reg, Value: "a", Call: 0, Return: 10},
			{Client: 0, Kind: Put, Key: reg, Value: "b", Call: 11, Return: 15},
			{Client: 1, Kind: Get, Key: reg, Found: true, Got: "a", Call: 20, Return: 30},
		}, porcupine.Illegal},
		{"an overwritten put comes back", []*Op{
			{Client: 0, Kind: Put, Key: reg, Value: "a", Call: 0, Return: 10},
			{Client: 1, Kind: Get, Key: reg, Found: true, Got: "a", Index: 5, GotIndex: 5, Call: 11, Return: 12},
			{Client: 1, Kind: CAS, Key: reg, Expect: "a", Index: 5, Value: "b", Result: true, Call: 13, Return: 14},
			{Client: 2, Kind: Get, Key: reg, Found: true, Got: "a", Call: 20, Return: 30},
		}, porcupine.Illegal},
		{"an unknown put may land late", []*Op{
			{Client: 0, Kind: Put, Key: reg, Value: "a", Call: 0, Return: end, Outcome: Unknown},
			{Client: 1, Kind: Put, Key: reg, Value: "b", Call: 5, Return: 10},
			{Client: 1, Kind: Get, Key: reg, Found: true, Got: "a", Call: 20, Return: 30},
		}, porcupine.Ok},
		{"a refused put lands", []*Op{
			{Client: 0, Kind: Put, Key: reg, Value: "a", Call: 0, Return: 3, Outcome: Refused},
			{Client: 1, Kind: Put, Key: reg, Value: "b", Call: 5, Return: 10},
			{Client: 1, Kind: Get, Key: reg, Found: true, Got: "a", Call: 20, Return: 30},
		}, porcupine.Illegal},
		{"a CAS false on the value it expects", []*Op{
			{Client: 0, Kind: Put, Key: reg, Value: "a", Call: 0, Return: 10},
			{Client: 1, Kind: CAS, Key: reg, Expect: "a", Value: "b", Result: false, Call: 20, Return: 30},
			{Client: 2, Kind: Get, Key: reg, Found: true, Got: "a", Call: 40, Return: 50},
		}, porcupine.Illegal},
		{"two holders", []*Op{
			{Client: 0, Kind: Acquire, Key: lock, Value: "s1", Result: true, Call: 0, Return: 10},
			{Client: 1, Kind: Acquire, Key: lock, Value: "s2", Result: true, Call: 20, Return: 30},
		}, porcupine.Illegal},
		{"a release answered false frees the lock", []*Op{
			{Client: 0, Kind: Acquire, Key: lock, Value: "s1", Result: true, Call: 0, Return: 10},
			{Client: 0, Kind: Release, Key: lock, Value: "s1", Result: false, Call: 20, Return: 30},
			{Client: 1, Kind: Acquire, Key: lock, Value: "s2", Result: true, Call: 20, Return: 30},
		}, porcupine.Illegal},
		{"hand-over", []*Op{
			{Client: 0, Kind: Acquire, Key: lock, Value: "s1", Result: true, Call: 0, Return: 10},
			{Client: 1, Kind: Acquire, Key: lock, Value: "s2", Result: false, Call: 11, Return: 12},
			{Client: 0, Kind: Release, Key: lock, Value: "s1", Result: true, Call: 20, Return: 30},
			{Client: 1, Kind: Acquire, Key: lock, Value: "s2", Result: true, Call: 25, Return: 35},
			{Client: 2, Kind: Get, Key: lock, Found: true, Got: "s2", Call: 40, Return: 50},
		}, porcupine.Ok},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := CheckLinearizable(tc.ops, 10*time.Second, t.TempDir(), "history")
			if err != nil {
				t.Fatal(err)
			}
			if v.Result != tc.want {
				t.Fatalf("%s, want %s\n%s", v.Result, tc.want, summarize(tc.ops, 10))
			}
		})
	}
}

func TestCheckLocks(t *testing.T) {
	lock := lockKey(0)
	ops := []*Op{
		{Client: 0, Kind: Acquire, Key: lock, Value: "s1", Result: true, Call: 0, Return: 10},
		{Client: 2, Kind: Get, Key: lock, Found: true, Got: "s2", Call: 12, Return: 14},
		{Client: 1, Kind: Acquire, Key: lock, Value: "s2", Result: true, Call: 15, Return: 18},
		{Client: 0, Kind: Release, Key: lock, Value: "s1", Result: true, Call: 20, Return: 30},
		{Client: 1, Kind: Release, Key: lock, Value: "s2", Result: true, Call: 40, Return: 50},
	}
	if got := CheckLocks(ops); len(got) != 2 {
		t.Fatalf("%d overlaps, want 2 (the read and the second acquire): %v", len(got), got)
	}
	if got := CheckLocks(append(ops[:1:1], ops[3:]...)); len(got) != 0 {
		t.Fatalf("overlaps in a hand-over: %v", got)
	}
}

func TestPrune(t *testing.T) {
	reg := registerKey(0)
	ops := []*Op{
		{Kind: Put, Key: reg, Value: "lost", Outcome: Unknown, Call: 0},
		{Kind: Put, Key: reg, Value: "seen", Outcome: Unknown, Call: 1},
		{Kind: Get, Key: reg, Found: true, Got: "seen", Call: 5, Return: 6},
		{Kind: Put, Key: reg, Value: "refused", Outcome: Refused, Call: 7, Return: 8},
	}
	kept, st := prune(ops)
	if len(kept) != 2 || st.Dropped != 1 || st.Refused != 1 {
		t.Fatalf("kept %d, %s", len(kept), st)
	}
	// A CAS answering false after an unread unknown put may be its only
	// trace: the put stays.
	ops = append(ops, &Op{Kind: CAS, Key: reg, Expect: "seen", Value: "x", Call: 9, Return: 10})
	if kept, _ := prune(ops); len(kept) != 4 {
		t.Fatalf("kept %d of 5", len(kept))
	}
}
