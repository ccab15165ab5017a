package bench

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram precision: each power-of-two range of values
// is split into 2^subBits equal buckets, so a bucket is at most 1/128 (0.8%)
// of the values it holds.
const (
	subBits  = 7
	subCount = 1 << subBits
	// Values below 2*subCount get a bucket each; above, 64-subBits-1
	// power-of-two ranges of subCount buckets cover every uint64.
	numBuckets = (64-subBits-1)*subCount + 2*subCount
)

// Histogram records durations in an HDR-style log-linear layout: a fixed
// array of counters indexed by a few bit operations, so Record never
// allocates, and percentiles are accurate to within 1% (reported values
// never under-state: each is the top of its bucket, capped at the maximum).
// It is not safe for concurrent use; give each client its own and Merge.
type Histogram struct {
	counts [numBuckets]uint64
	total  uint64
	sum    uint64
	min    uint64
	max    uint64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{min: math.MaxUint64}
}

// bucketOf maps a value to its bucket.
func bucketOf(v uint64) int {
	if v < 2*subCount {
		return int(v)
	}
	// shift keeps the subBits+1 leading bits of v, whose value m lies in
	// [subCount, 2*subCount); each shift step adds one row of subCount.
	shift := bits.Len64(v) - (subBits + 1)
	m := v >> uint(shift)
	return shift*subCount + int(m)
}

// bucketTop is the largest value that falls into bucket i.
func bucketTop(i int) uint64 {
	if i < 2*subCount {
		return uint64(i)
	}
	shift := i/subCount - 1
	m := uint64(i - shift*subCount)
	return (m+1)<<uint(shift) - 1
}

// Record adds one observation. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[bucketOf(v)]++
	h.total++
	h.sum += v
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Merge adds all of o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest observation, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min is the smallest observation, exactly; zero when empty.
func (h *Histogram) Min() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.min)
}

// Mean is the average observation, exactly.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / h.total)
}

// Quantile returns the value at or below which a fraction q (0..1) of the
// observations lie, e.g. 0.99 for p99; zero when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	// rank is the 1-based position of the wanted observation in sorted
	// order; nearest-rank, so p100 is the maximum and p0 the minimum.
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(max(min(bucketTop(i), h.max), h.min))
		}
	}
	return time.Duration(h.max)
}
