package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestMedianMax(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var out []time.Duration
		for _, x := range n {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, c := range []struct {
		in          []time.Duration
		median, max time.Duration
	}{
		{nil, 0, 0},
		{ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
		{ms(900, 100, 500), 500 * time.Millisecond, 900 * time.Millisecond},
		// An even count: the mean of the two middle values.
		{ms(4000, 1000, 2000, 1500), 1750 * time.Millisecond, 4000 * time.Millisecond},
		{ms(3, 3, 3, 3, 3, 3, 3, 3, 3, 12), 3 * time.Millisecond, 12 * time.Millisecond},
	} {
		in := append([]time.Duration(nil), c.in...)
		m, x := MedianMax(c.in)
		if m != c.median || x != c.max {
			t.Errorf("MedianMax(%v) = %v, %v; want %v, %v", in, m, x, c.median, c.max)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Fatalf("MedianMax reordered its argument: %v, was %v", c.in, in)
			}
		}
	}
}

func TestFirstWriteAfter(t *testing.T) {
	at := time.Unix(1000, 0)
	ms := func(n int) time.Time { return at.Add(time.Duration(n) * time.Millisecond) }
	boom := errors.New("no leader")
	log := []writeAttempt{
		{start: ms(-30), end: ms(-10)},             // before the kill: ignored
		{start: ms(-5), end: ms(500), err: boom},   // in flight at the kill: ignored
		{start: ms(510), end: ms(1010), err: boom}, // timed out
		{start: ms(1020), end: ms(1021), err: errors.New("500 No cluster leader")},
	}
	s, ok := firstWriteAfter(log, at)
	if ok || s.Failed != 2 || s.FirstError != "no leader" {
		t.Fatalf("no success yet: got %+v, %v; want 2 failed, first no leader", s, ok)
	}
	log = append(log, writeAttempt{start: ms(1031), end: ms(1400)}, writeAttempt{start: ms(1401), end: ms(1402)})
	s, ok = firstWriteAfter(log, at)
	if !ok || s.Took != 1400*time.Millisecond || s.Failed != 2 {
		t.Fatalf("got %+v, %v; want took 1.4s after 2 failed", s, ok)
	}
	// A write that succeeds at once after the kill (another server led).
	s, ok = firstWriteAfter([]writeAttempt{{start: ms(0), end: ms(3)}}, at)
	if !ok || s.Took != 3*time.Millisecond || s.Failed != 0 || s.FirstError != "" {
		t.Fatalf("got %+v, %v", s, ok)
	}
}

// flakyTarget fails every Put while down is set, else succeeds.
type flakyTarget struct {
	down atomic.Bool
	puts atomic.Int64
}

func (f *flakyTarget) Put(ctx context.Context, _ string, _ []byte) error {
	f.puts.Add(1)
	if f.down.Load() {
		<-ctx.Done() // a dead leader: the write times out
		return ctx.Err()
	}
	return nil
}

func (f *flakyTarget) Get(context.Context, string) error { return nil }

func TestFailoverWriter(t *testing.T) {
	f := &flakyTarget{}
	w := StartFailoverWriter(context.Background(), f, "k", 20*time.Millisecond, time.Millisecond)
	defer w.Close()

	// Down for 150ms: the first write after the failure comes after it.
	f.down.Store(true)
	w.Arm()
	at := time.Now()
	time.AfterFunc(150*time.Millisecond, func() { f.down.Store(false) })
	s, err := w.Wait(context.Background(), at, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.Took < 150*time.Millisecond || s.Took > 2*time.Second || s.Failed < 2 || s.FirstError == "" {
		t.Errorf("sample %+v: want took >= 150ms after several timed-out writes", s)
	}

	// Never back: Wait gives up at its limit and says how many failed.
	f.down.Store(true)
	w.Arm()
	_, err = w.Wait(context.Background(), time.Now(), 100*time.Millisecond)
	if err == nil {
		t.Fatal("Wait succeeded with the target down")
	}
	f.down.Store(false)

	// Closing stops the writing.
	w.Close()
	n := f.puts.Load()
	time.Sleep(20 * time.Millisecond)
	if f.puts.Load() != n {
		t.Error("writes go on after Close")
	}
}
