package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunWorkloadCountsAndReleases(t *testing.T) {
	var calls, released atomic.Int64
	seqs := make([][]int, 3)
	w := Workload{Name: "w", Concurrency: 3, Count: 300,
		NewClient: func(client int) (func(context.Context, int) error, func(), error) {
			op := func(_ context.Context, seq int) error {
				seqs[client] = append(seqs[client], seq)
				if calls.Add(1)%10 == 0 {
					return errors.New("every tenth fails")
				}
				return nil
			}
			return op, func() { released.Add(1) }, nil
		}}
	res, err := RunWorkload(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != 270 || res.Errors != 30 || res.FirstError != "every tenth fails" {
		t.Errorf("ops %d errors %d first %q, want 270, 30, every tenth fails", res.Ops, res.Errors, res.FirstError)
	}
	if res.Op != "w" || res.Concurrency != 3 {
		t.Errorf("op %q concurrency %d", res.Op, res.Concurrency)
	}
	if released.Load() != 3 {
		t.Errorf("released %d clients, want 3", released.Load())
	}
	for c, s := range seqs {
		for i, v := range s {
			if v != i {
				t.Fatalf("client %d: operation %d got seq %d", c, i, v)
			}
		}
	}
}

func TestRunWorkloadSetupFailure(t *testing.T) {
	var released atomic.Int64
	ran := false
	w := Workload{Name: "w", Concurrency: 4, Count: 10,
		NewClient: func(client int) (func(context.Context, int) error, func(), error) {
			if client == 2 {
				return nil, nil, errors.New("no socket")
			}
			return func(context.Context, int) error { ran = true; return nil }, func() { released.Add(1) }, nil
		}}
	if _, err := RunWorkload(context.Background(), w); err == nil {
		t.Fatal("setup failure not reported")
	}
	if ran || released.Load() != 2 {
		t.Errorf("ran %v, released %d; want nothing run and the 2 clients set up released", ran, released.Load())
	}
}

func TestRunWorkloadDurationAndCancel(t *testing.T) {
	slow := func(int) (func(context.Context, int) error, func(), error) {
		return func(ctx context.Context, _ int) error {
			select {
			case <-time.After(time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, nil, nil
	}
	t0 := time.Now()
	res, _ := RunWorkload(context.Background(), Workload{Concurrency: 2, Duration: 100 * time.Millisecond, NewClient: slow})
	if el := time.Since(t0); el < 100*time.Millisecond || el > 30*time.Second { // ends near its duration; a busy machine is late
		t.Errorf("100ms run took %v", el)
	}
	if res.Ops == 0 || res.Errors != 0 || res.OpsPerSec <= 0 {
		t.Errorf("ops %d errors %d ops/s %.0f", res.Ops, res.Errors, res.OpsPerSec)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	t0 = time.Now()
	res, _ = RunWorkload(ctx, Workload{Concurrency: 2, Duration: time.Hour, NewClient: slow})
	if el := time.Since(t0); el > 30*time.Second { // long before its hour
		t.Errorf("cancelled run took %v", el)
	}
	if res.Errors != 0 {
		t.Errorf("cancellation counted as %d errors (%s)", res.Errors, res.FirstError)
	}
}
