package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// within reports whether got is at or above want and at most 1% above it:
// the histogram reports the top of a bucket, never less than the truth.
func within(got, want time.Duration) bool {
	return got >= want && float64(got) <= float64(want)*1.01
}

func TestHistogramEmpty(t *testing.T) {
	h := NewHistogram()
	if h.Count() != 0 || h.Quantile(0.5) != 0 || h.Max() != 0 || h.Min() != 0 || h.Mean() != 0 {
		t.Fatalf("empty histogram: count %d p50 %v max %v min %v mean %v",
			h.Count(), h.Quantile(0.5), h.Max(), h.Min(), h.Mean())
	}
}

func TestHistogramUniform(t *testing.T) {
	h := NewHistogram()
	// 1µs..100ms in 1µs steps, shuffled so order cannot matter.
	vals := make([]time.Duration, 100000)
	for i := range vals {
		vals[i] = time.Duration(i+1) * time.Microsecond
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	for _, v := range vals {
		h.Record(v)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{
		{0.50, 50 * time.Millisecond},
		{0.90, 90 * time.Millisecond},
		{0.99, 99 * time.Millisecond},
		{0.999, 99900 * time.Microsecond},
		{0.00001, 1 * time.Microsecond},
	} {
		if got := h.Quantile(c.q); !within(got, c.want) {
			t.Errorf("p%v = %v, want %v (+1%%)", c.q*100, got, c.want)
		}
	}
	if h.Max() != 100*time.Millisecond || h.Quantile(1) != 100*time.Millisecond {
		t.Errorf("max %v, p100 %v, want exactly 100ms", h.Max(), h.Quantile(1))
	}
	if h.Min() != time.Microsecond {
		t.Errorf("min %v, want 1µs", h.Min())
	}
	if want := 50000500 * time.Nanosecond; h.Mean() != want {
		t.Errorf("mean %v, want %v", h.Mean(), want)
	}
	if h.Count() != 100000 {
		t.Errorf("count %d", h.Count())
	}
}

// TestHistogramMatchesSort checks percentiles on a skewed sample, like real
// latencies (mostly fast, a long tail), against the exact sorted answer.
func TestHistogramMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h := NewHistogram()
	var vals []time.Duration
	for range 50000 {
		v := time.Duration(rng.ExpFloat64() * float64(300*time.Microsecond))
		if rng.IntN(100) == 0 {
			v += time.Duration(rng.IntN(50)) * time.Millisecond
		}
		vals = append(vals, v)
		h.Record(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		rank := int(q*float64(len(vals))+0.999999) - 1 // nearest rank, 0-based
		want := vals[rank]
		if got := h.Quantile(q); !within(got, want) {
			t.Errorf("p%v = %v, sorted sample says %v", q*100, got, want)
		}
	}
	if h.Max() != vals[len(vals)-1] {
		t.Errorf("max %v, want %v", h.Max(), vals[len(vals)-1])
	}
}

func TestHistogramConstantAndExtremes(t *testing.T) {
	h := NewHistogram()
	for range 10 {
		h.Record(1234567 * time.Nanosecond)
	}
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if got := h.Quantile(q); got != 1234567*time.Nanosecond {
			t.Errorf("constant sample: p%v = %v, want the value itself", q*100, got)
		}
	}
	// Zero, negative and the largest duration must not panic or wrap.
	h = NewHistogram()
	h.Record(-5)
	h.Record(0)
	h.Record(time.Duration(1<<63 - 1))
	if h.Min() != 0 || h.Max() != time.Duration(1<<63-1) || h.Quantile(0.5) != 0 {
		t.Errorf("extremes: min %v max %v p50 %v", h.Min(), h.Max(), h.Quantile(0.5))
	}
}

// TestBucketsContiguous checks the index arithmetic: every bucket's range
// starts right after the previous one's, so no value is lost or doubled.
func TestBucketsContiguous(t *testing.T) {
	prev := uint64(0)
	for i := 1; i < numBuckets; i++ {
		top := bucketTop(i)
		if top <= prev {
			t.Fatalf("bucket %d top %d not above bucket %d top %d", i, top, i-1, prev)
		}
		if bucketOf(prev+1) != i || bucketOf(top) != i {
			t.Fatalf("bucket %d covers [%d,%d] but bucketOf gives %d,%d",
				i, prev+1, top, bucketOf(prev+1), bucketOf(top))
		}
		prev = top
	}
	if prev != 1<<64-1 {
		t.Fatalf("last bucket tops at %d, want max uint64", prev)
	}
}

func TestHistogramMerge(t *testing.T) {
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := range 1000 {
		d := time.Duration(i*i) * time.Nanosecond
		all.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(b)
	a.Merge(NewHistogram()) // an empty one must not reset min
	if a.Count() != all.Count() || a.Min() != all.Min() || a.Max() != all.Max() || a.Mean() != all.Mean() {
		t.Fatalf("merged count/min/max/mean %d/%v/%v/%v, want %d/%v/%v/%v",
			a.Count(), a.Min(), a.Max(), a.Mean(), all.Count(), all.Min(), all.Max(), all.Mean())
	}
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("p%v merged %v, direct %v", q*100, a.Quantile(q), all.Quantile(q))
		}
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i&0xfffff) * time.Microsecond)
	}
}
