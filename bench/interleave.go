package bench

import (
	"context"
	"time"
)

// Interleave splits the measurement of several targets under the same
// load into slices and lets the targets take turns, A B then B A, so that a
// burst of background load or a drift in CPU clock hits them alike.
type Interleave struct {
	// Duration is the measured time per target, cut into Rounds slices
	// (at least 1).
	Duration time.Duration
	Rounds   int
	// Warmup is unmeasured load each target gets before its first slice.
	Warmup time.Duration
	// Shift, when odd, starts the first round with the last target: a
	// command measuring several scenarios alternates who goes first.
	Shift int
}

// Run measures n targets. measure runs target i for d and returns what
// it measured; warmup says the run is the unmeasured one, whose result is
// dropped. Run returns every target's slices combined (Combine), or the
// first error of measure, or ctx's error once ctx is done.
func (iv Interleave) Run(ctx context.Context, n int, measure func(ctx context.Context, target int, d time.Duration, warmup bool) (Result, error)) ([]Result, error) {
	rounds := max(iv.Rounds, 1)
	slice := iv.Duration / time.Duration(rounds)
	parts := make([][]Result, n)
	for r := range rounds {
		for k := range n {
			i := k
			if (iv.Shift+r)%2 == 1 {
				i = n - 1 - k
			}
			if r == 0 && iv.Warmup > 0 {
				if _, err := measure(ctx, i, iv.Warmup, true); err != nil {
					return nil, err
				}
			}
			res, err := measure(ctx, i, slice, false)
			if err != nil {
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			parts[i] = append(parts[i], res)
		}
	}
	out := make([]Result, n)
	for i := range parts {
		out[i] = Combine(parts[i]...)
	}
	return out, nil
}
