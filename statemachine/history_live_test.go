package statemachine

import (
	"errors"
	"fmt"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// The live replay agrees with the state the replica had at every index
// still in the history, and lists exactly the commands that changed a key,
// with its value before and after each.
func TestObjectHistoryOfAKeyOnALiveReplica(t *testing.T) {
	s := open(t, Config{RetainCommands: 10})
	now := time.Unix(1000, 0)
	expect := map[uint64]map[string]string{}
	for i := uint64(1); i <= 40; i++ {
		op := set(fmt.Sprintf("k%d", i%7), fmt.Sprint(i))
		if i%5 == 0 {
			op = command.KVOp{Verb: command.KVDeleteTree, Key: "k"}
		}
		if _, err := s.Update([]sm.Entry{entry(t, i, now, op)}); err != nil {
			t.Fatal(err)
		}
		expect[i] = liveKV(t, s)
	}
	for idx := uint64(30); idx <= 40; idx++ {
		for key := range 7 {
			name := fmt.Sprintf("k%d", key)
			got, err := s.ObjectAt(ObjectKV, name, idx)
			if err != nil {
				t.Fatalf("%s at %d: %v", name, idx, err)
			}
			e := got.(*event.KVEntry)
			want, ok := expect[idx][name]
			if (e == nil) != !ok || (e != nil && fmt.Sprintf("%s@%d/%d", e.Value, e.CreateIndex, e.ModifyIndex) != want) {
				t.Fatalf("%s at %d: %+v, want %q (present %v)", name, idx, e, want, ok)
			}
		}
	}
	var before *ErrOutsideHistory
	if _, err := s.ObjectAt(ObjectKV, "k1", 29); !errors.As(err, &before) || before.First != 31 {
		t.Fatalf("before the history: %v, want it to start at 31", err)
	}

	// k3 is set at 31 and 38, and deleted with the tree at 35 and 40.
	h, err := s.ObjectHistory(ObjectKV, "k3")
	if err != nil {
		t.Fatal(err)
	}
	if h.First != 31 || h.Applied != 40 {
		t.Fatalf("history bounds %d..%d, want 31..40", h.First, h.Applied)
	}
	var got []string
	for _, c := range h.Changes {
		b, a := c.Before.(*event.KVEntry), c.After.(*event.KVEntry)
		got = append(got, fmt.Sprintf("%d:%s>%s", c.Index, valueOf(b), valueOf(a)))
	}
	if want := "[31:->31 35:31>- 38:->38 40:38>-]"; fmt.Sprint(got) != want {
		t.Fatalf("changes of k3: %v, want %s", got, want)
	}
}

func valueOf(e *event.KVEntry) string {
	if e == nil {
		return "-"
	}
	return string(e.Value)
}
