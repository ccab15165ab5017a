package bench

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestFanoutBook(t *testing.T) {
	b := newFanoutBook(4)
	change := time.Now()
	if !b.end(0, change.Add(-time.Millisecond), nil) || // early
		!b.end(1, change.Add(10*time.Millisecond), nil) ||
		!b.end(2, change.Add(30*time.Millisecond), nil) {
		t.Fatal("a first end not recorded")
	}
	// Only the first end of a waiter counts.
	if b.end(1, change.Add(time.Hour), errors.New("late")) {
		t.Error("a second end recorded")
	}
	select {
	case <-b.all:
		t.Fatal("all ended with one open")
	default:
	}
	// Giving up ends the rest, from racing goroutines too.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); b.end(3, change.Add(time.Second), errors.New("racer")) }()
	}
	b.endAll(errNoAnswer)
	wg.Wait()
	if b.finished.Load() != 4 {
		t.Fatalf("finished %d", b.finished.Load())
	}
	var res FanoutResult
	b.summarize(&res, change)
	if res.Early != 1 || res.Woken != 2 || res.Errors != 1 || res.FirstError == "" {
		t.Errorf("early %d woken %d errors %d (%q)", res.Early, res.Woken, res.Errors, res.FirstError)
	}
	if res.P50 < 9*time.Millisecond || res.P50 > 11*time.Millisecond || res.Max != 30*time.Millisecond {
		t.Errorf("p50 %v max %v, want 10ms and 30ms", res.P50, res.Max)
	}
}
