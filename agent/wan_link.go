package agent

import (
	"context"
	"errors"
	"time"
)

// A request sent to another datacenter waits for its answer for as long
// as the request may take (minutes, for a blocking query). When the link
// to that datacenter dies meanwhile (the WAN cut: its packets dropped,
// nothing refused), the answer will never come: the gateway notices within
// seconds (its pings go unanswered), and so does the request, which then
// answers "No path to datacenter" rather than waiting out its time.

// linkCheckEvery is how often a request in flight checks its link.
const linkCheckEvery = 250 * time.Millisecond

// errLinkLost is the cause of a request's end when the link to its
// datacenter died.
var errLinkLost = errors.New("the link to the datacenter was lost")

// whileLinked is ctx, cancelled with errLinkLost once the gateway has no
// link to dc any more; stop releases it.
func (a *Agent) whileLinked(ctx context.Context, dc string) (linked context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		t := time.NewTicker(linkCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !a.linked(dc) {
					cancel(errLinkLost)
					return
				}
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// linkLost reports whether ctx, from whileLinked, ended because the link
// died.
func linkLost(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errLinkLost) }
