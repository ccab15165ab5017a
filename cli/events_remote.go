package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/wan"
	"github.com/heraldhq/herald/watch"
)

// remoteEventsWait is how long one pull of another datacenter's events
// waits for the next event.
const remoteEventsWait = 30 * time.Second

// followRemote follows another datacenter's event stream through the
// agent at -http-addr: batch after batch of its event feed
// (/v1/agent/event-stream?dc=), each resumed from the last one's index,
// printed as the local stream's events are.
func (c *eventsCmd) followRemote(ctx context.Context, fs *flag.FlagSet, pattern []string, cio IO) int {
	cfg, err := c.http.apiConfig(cio.Env)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error! %s\n", err)
		return 1
	}
	scheme := cfg.Scheme
	if scheme == "" {
		scheme = "http"
	}
	address := strings.TrimPrefix(strings.TrimPrefix(cfg.Address, "http://"), "https://")
	pull := func(q url.Values) (*wan.EventsResponse, error) {
		q.Set("dc", c.datacenter)
		q.Set("shard", c.shard)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+address+"/v1/agent/event-stream?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		if cfg.Token != "" {
			req.Header.Set("X-Consul-Token", cfg.Token)
		}
		resp, err := cfg.HttpClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s (%d)", strings.TrimSpace(string(body)), resp.StatusCode)
		}
		var out wan.EventsResponse
		if err := json.Unmarshal(body, &out); err != nil {
			return nil, err
		}
		return &out, nil
	}

	var after uint64
	if flagWasSet(fs, "from-index") {
		after = c.fromIndex - min(c.fromIndex, 1)
	} else {
		newest, err := pull(url.Values{"newest": {""}})
		if err != nil {
			fmt.Fprintf(cio.Stderr, "Error! %s\n", err)
			return 1
		}
		after = newest.Last
	}
	fmt.Fprintf(cio.Stderr, "Following %s from index %d\n", watch.StreamName(c.datacenter, c.shard), after+1)
	show := c.printer(pattern, cio)
	for {
		resp, err := pull(url.Values{"after": {strconv.FormatUint(after, 10)}, "wait": {remoteEventsWait.String()}})
		switch {
		case ctx.Err() != nil:
			return 0
		case err != nil:
			fmt.Fprintf(cio.Stderr, "Error! %s\n", err)
			return 1
		case resp.Gap != nil:
			return printGap(cio, &watch.GapError{Shard: c.shard, After: resp.Gap.After, Next: resp.Gap.Next, Detail: resp.Gap.Detail})
		}
		for _, ev := range resp.Events {
			if err := show(ev); err != nil {
				if errors.Is(err, context.Canceled) {
					return 0
				}
				fmt.Fprintf(cio.Stderr, "Error! %s\n", err)
				return 1
			}
		}
		after = max(after, resp.Last)
	}
}
