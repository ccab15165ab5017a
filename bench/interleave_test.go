package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInterleaveOrder(t *testing.T) {
	for _, c := range []struct {
		iv   Interleave
		want string
	}{
		{Interleave{Duration: 4 * time.Second, Rounds: 2, Warmup: time.Second}, "w0 m0 w1 m1 w2 m2 m2 m1 m0"},
		{Interleave{Duration: 4 * time.Second, Rounds: 2, Shift: 1}, "m2 m1 m0 m0 m1 m2"},
		{Interleave{Duration: 3 * time.Second, Rounds: 3}, "m0 m1 m2 m2 m1 m0 m0 m1 m2"},
	} {
		var got []string
		res, err := c.iv.Run(context.Background(), 3, func(_ context.Context, i int, d time.Duration, warmup bool) (Result, error) {
			if warmup {
				if d != c.iv.Warmup {
					t.Errorf("warm-up of %v, want %v", d, c.iv.Warmup)
				}
				got = append(got, fmt.Sprint("w", i))
				return Result{Ops: 1000}, nil // dropped
			}
			if want := c.iv.Duration / time.Duration(c.iv.Rounds); d != want {
				t.Errorf("slice of %v, want %v", d, want)
			}
			got = append(got, fmt.Sprint("m", i))
			h := NewHistogram()
			h.Record(time.Duration(i+1) * time.Millisecond)
			return Result{Ops: uint64(10 * (i + 1)), Elapsed: d, hist: h}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%+v: order %s, want %s", c.iv, g, c.want)
		}
		for i, r := range res {
			if r.Ops != uint64(10*(i+1)*c.iv.Rounds) || r.Elapsed != c.iv.Duration || r.P50 < time.Duration(i+1)*time.Millisecond {
				t.Errorf("target %d combined: ops %d elapsed %v p50 %v", i, r.Ops, r.Elapsed, r.P50)
			}
		}
	}
}

func TestInterleaveStops(t *testing.T) {
	boom := errors.New("server exited")
	var calls []int
	_, err := Interleave{Duration: time.Second, Rounds: 2}.Run(context.Background(), 2, func(_ context.Context, i int, _ time.Duration, _ bool) (Result, error) {
		calls = append(calls, i)
		if len(calls) == 3 {
			return Result{}, boom
		}
		return Result{}, nil
	})
	if !errors.Is(err, boom) || !slices.Equal(calls, []int{0, 1, 1}) {
		t.Errorf("err %v after calls %v; want the measure's error after 0 1 1", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Interleave{Duration: time.Second, Rounds: 2}.Run(ctx, 2, func(context.Context, int, time.Duration, bool) (Result, error) {
		cancel()
		return Result{}, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}
