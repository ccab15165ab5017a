package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/consul/api"
)

// Watch types, as Consul names them.
const (
	TypeKey       = "key"
	TypeKeyPrefix = "keyprefix"
	TypeServices  = "services"
	TypeNodes     = "nodes"
	TypeService   = "service"
	TypeChecks    = "checks"
	TypeEvent     = "event"
)

// Types lists the supported watch types.
var Types = []string{TypeKey, TypeKeyPrefix, TypeServices, TypeNodes, TypeService, TypeChecks, TypeEvent}

// Check states the checks type accepts (Consul's /v1/health/state states).
var checkStates = map[string]bool{"any": true, "passing": true, "warning": true, "critical": true}

// Defaults for retrying after a failed query: Consul's watches wait 5
// seconds after an error and back off up to 3 minutes.
const (
	DefaultRetryInterval = 5 * time.Second
	MaxRetryInterval     = 3 * time.Minute
)

// ErrStop, returned by a handler, ends Run without an error.
var ErrStop = errors.New("plan: stop")

// Update is one run of a handler.
type Update struct {
	// Type is the plan's watch type.
	Type string
	// Index is the index of the answer (X-Consul-Index); script handlers
	// see it as CONSUL_INDEX.
	Index uint64
	// Result is the data as the official client decoded it: *api.KVPair
	// (key), api.KVPairs (keyprefix), map[string][]string (services),
	// []*api.Node (nodes), []*api.ServiceEntry (service), api.HealthChecks
	// (checks), []*api.UserEvent (event).
	Result any
	// JSON is Result encoded as compact JSON, what handlers are given.
	JSON []byte
}

// Handler is what a plan runs for each update.
type Handler interface {
	Handle(ctx context.Context, u Update) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, u Update) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, u Update) error { return f(ctx, u) }

// Plan is one watch: a view of the data and the handler to run when it
// changes. The zero value of every optional field is a sensible default; a
// Plan must not be changed while it runs.
type Plan struct {
	// Type is one of Types.
	Type string
	// Datacenter and Token, when set, override the client's.
	Datacenter string
	Token      string
	// Stale lets any server answer (?stale).
	Stale bool

	Key         string   // key
	Prefix      string   // keyprefix
	Service     string   // service (required), checks (optional)
	Tags        []string // service: only instances with all these tags
	PassingOnly bool     // service: only instances whose checks all pass
	State       string   // checks: any, passing, warning or critical
	Name        string   // event: only events with this name
	Filter      string   // services, nodes, service, checks: ?filter= expression

	// Handler runs for each update; Parse sets it from the definition's
	// handler keys.
	Handler Handler
	// StopOnHandlerError makes Run end with the first error a handler
	// returns, as the watch command does. Otherwise (as in the agent) the
	// error is logged and the plan carries on with the next change.
	StopOnHandlerError bool

	// WaitTime bounds each blocking query; zero leaves the agent's default
	// (5 minutes). A query that times out returns the same index and runs
	// nothing.
	WaitTime time.Duration
	// RetryInterval is the first wait after a failed query; it doubles with
	// each further failure up to MaxRetryInterval. Zero means
	// DefaultRetryInterval.
	RetryInterval time.Duration
	// Logger receives query and handler errors; nil means slog.Default().
	Logger *slog.Logger
	// Woke, when set, is called after every answer to the blocking query
	// with its index and whether the handler ran for it: for monitoring,
	// and for tests that must know a wake-up was seen and ignored.
	Woke func(index uint64, fired bool)
}

// Validate reports whether the plan's type and parameters fit together.
func (p *Plan) Validate() error {
	switch p.Type {
	case TypeKey:
		if p.Key == "" {
			return errors.New(`the key watch type requires "key"`)
		}
	case TypeKeyPrefix:
		if p.Prefix == "" {
			return errors.New(`the keyprefix watch type requires "prefix"`)
		}
	case TypeServices, TypeNodes, TypeEvent:
	case TypeService:
		if p.Service == "" {
			return errors.New(`the service watch type requires "service"`)
		}
	case TypeChecks:
		if p.Service != "" && p.State != "" {
			return errors.New(`the checks watch type takes "service" or "state", not both`)
		}
		if p.State != "" && !checkStates[p.State] {
			return fmt.Errorf("invalid check state %q: must be any, passing, warning or critical", p.State)
		}
	case "":
		return errors.New("a watch type is required")
	default:
		return fmt.Errorf("unsupported watch type %q", p.Type)
	}
	return nil
}

func (p *Plan) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

// Run follows the plan's view with client until ctx ends (it then returns
// nil), a handler returns ErrStop (nil), or, with StopOnHandlerError, a
// handler fails (that error). Failed queries are logged and retried.
func (p *Plan) Run(ctx context.Context, client *api.Client) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Handler == nil {
		return errors.New("plan: no handler")
	}
	if client == nil {
		return errors.New("plan: no API client")
	}
	log := p.logger().With("watch", p.Type)
	st := state{first: true}
	failures := 0
	for ctx.Err() == nil {
		q := (&api.QueryOptions{
			Datacenter: p.Datacenter,
			Token:      p.Token,
			AllowStale: p.Stale,
			Filter:     p.Filter,
			WaitIndex:  st.waitIndex,
			WaitTime:   p.WaitTime,
		}).WithContext(ctx)
		result, index, err := p.query(client, q)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			wait := p.retryWait(failures)
			log.Warn("watch query failed; retrying", "error", err, "retry_in", wait)
			if !sleep(ctx, wait) {
				break
			}
			continue
		}
		failures = 0

		u, fire, err := st.next(p.Type, index, result)
		if err != nil {
			return err
		}
		if p.Woke != nil {
			p.Woke(index, fire)
		}
		if !fire {
			continue
		}
		if err := p.Handler.Handle(ctx, u); err != nil {
			switch {
			case errors.Is(err, ErrStop):
				return nil
			case ctx.Err() != nil:
				return nil
			case p.StopOnHandlerError:
				return err
			}
			log.Error("watch handler failed", "index", index, "error", err)
		}
	}
	return nil
}

func (p *Plan) retryWait(failures int) time.Duration {
	wait := p.RetryInterval
	if wait <= 0 {
		wait = DefaultRetryInterval
	}
	for i := 1; i < failures && wait < MaxRetryInterval; i++ {
		wait *= 2
	}
	return min(wait, MaxRetryInterval)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// query runs the plan's query once.
func (p *Plan) query(c *api.Client, q *api.QueryOptions) (any, uint64, error) {
	var (
		result any
		meta   *api.QueryMeta
		err    error
	)
	switch p.Type {
	case TypeKey:
		q.Filter = ""
		result, meta, err = c.KV().Get(p.Key, q)
	case TypeKeyPrefix:
		q.Filter = ""
		result, meta, err = c.KV().List(p.Prefix, q)
	case TypeServices:
		result, meta, err = c.Catalog().Services(q)
	case TypeNodes:
		result, meta, err = c.Catalog().Nodes(q)
	case TypeService:
		result, meta, err = c.Health().ServiceMultipleTags(p.Service, p.Tags, p.PassingOnly, q)
	case TypeChecks:
		if p.Service != "" {
			result, meta, err = c.Health().Checks(p.Service, q)
		} else {
			state := p.State
			if state == "" {
				state = "any"
			}
			result, meta, err = c.Health().State(state, q)
		}
	case TypeEvent:
		q.Filter = ""
		result, meta, err = c.Event().List(p.Name, q)
	default:
		return nil, 0, fmt.Errorf("unsupported watch type %q", p.Type)
	}
	if err != nil {
		return nil, 0, err
	}
	return result, meta.LastIndex, nil
}

// state is what a running plan remembers between answers.
type state struct {
	first     bool
	waitIndex uint64 // the index the next query blocks on
	lastIndex uint64 // the index of the last answer
	lastJSON  []byte // the data last handed out
	lastEvent string // event type: ID of the newest event seen
}

// next folds one answer into the state and says whether it is an update to
// hand out.
func (s *state) next(typ string, index uint64, result any) (Update, bool, error) {
	u := Update{Type: typ, Index: index}
	first := s.first
	s.first = false

	if typ == TypeEvent {
		// The event list's index is not a Raft index that only grows
		// (Consul derives it from the newest event's ID): block on it as
		// it is and find what is new by event ID.
		s.waitIndex, s.lastIndex = max(index, 1), index
		events, _ := result.([]*api.UserEvent)
		fresh := events
		if s.lastEvent != "" {
			for i, e := range events {
				if e.ID == s.lastEvent {
					fresh = events[i+1:]
					break
				}
			}
		}
		if n := len(events); n > 0 {
			s.lastEvent = events[n-1].ID
		}
		if !first && len(fresh) == 0 {
			return u, false, nil
		}
		if fresh == nil {
			fresh = []*api.UserEvent{}
		}
		u.Result = fresh
		data, err := json.Marshal(fresh)
		if err != nil {
			return u, false, fmt.Errorf("plan: encode %s data: %w", typ, err)
		}
		u.JSON = data
		s.lastJSON = data
		return u, true, nil
	}

	switch {
	case !first && index < s.lastIndex:
		// The index went backwards: start over with a query that does not
		// block, and compare what it brings with what was handed out.
		s.waitIndex = 0
	default:
		s.waitIndex = max(index, 1)
	}
	sameIndex := !first && index == s.lastIndex
	s.lastIndex = index
	if sameIndex {
		return u, false, nil
	}
	data, err := json.Marshal(result)
	if err != nil {
		return u, false, fmt.Errorf("plan: encode %s data: %w", typ, err)
	}
	if !first && bytes.Equal(data, s.lastJSON) {
		return u, false, nil
	}
	s.lastJSON = data
	u.Result, u.JSON = result, data
	return u, true, nil
}
