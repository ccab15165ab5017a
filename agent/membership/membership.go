// Package membership runs an agent's Serf LAN gossip pool: it joins the
// agent to its datacenter's members, advertises what the agent is through
// Serf tags, and reports membership changes (join, update, failure, leave,
// reap) as events.
//
// The tags are the ones Consul agents gossip, so tools reading
// /v1/agent/members see familiar values: role ("consul" for servers, "node"
// for clients), dc, segment, id, vsn/vsn_min/vsn_max, build, and for servers
// port (the server RPC port), raft_vsn and bootstrap or expect. Herald adds
// http_port and nats_port so that agents can reach each other's HTTP API and
// the servers' embedded NATS.
//
// Failure detection, graceful leave, force-leave and reaping are Serf's own:
// a member that stops answering probes becomes "failed"; one that leaves
// gracefully becomes "left"; ForceLeave moves a failed member to "left"
// (and with prune removes it from the member list at once); Serf reaps
// left and failed members after its tombstone and reconnect timeouts.
//
// Gossip encryption is memberlist's, with Serf's keyring: the keyring is
// kept in a file (Consul's serf/local.keyring) that Serf rewrites on every
// change, and Keyring installs, uses, removes and lists keys on every member
// at once, as Consul's keyring operations do (keyring.go).
//
// Snapshot and rejoin files (Consul's serf/local.snapshot) are not kept.
package membership

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"

	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/version"
)

// DefaultPort is Consul's Serf LAN port.
const DefaultPort = 8301

// DefaultEventBuffer is how many events Events() holds for a slow consumer
// before the oldest are dropped.
const DefaultEventBuffer = 1024

// Consul's gossip protocol version tags (vsn, vsn_min, vsn_max) and Raft
// protocol version, as current Consul servers advertise them.
const (
	protocolVsn    = "2"
	protocolVsnMin = "2"
	protocolVsnMax = "3"
	raftVsn        = "3"
)

// Tag names gossiped in Serf tags.
const (
	TagRole      = "role"
	TagDC        = "dc"
	TagSegment   = "segment"
	TagID        = "id"
	TagPort      = "port"
	TagBootstrap = "bootstrap"
	TagExpect    = "expect"
	TagBuild     = "build"
	TagVsn       = "vsn"
	TagVsnMin    = "vsn_min"
	TagVsnMax    = "vsn_max"
	TagRaftVsn   = "raft_vsn"
	TagHTTPPort  = "http_port"
	TagNATSPort  = "nats_port"
	// TagCmdVsn is the newest command envelope version the member
	// decodes (Herald's own tag): a proposer writes a newer version only
	// once every server reads it.
	TagCmdVsn = "cmd_vsn"

	RoleServer = "consul"
	RoleClient = "node"
)

// Member statuses, as Serf names them.
const (
	StatusAlive   = "alive"
	StatusLeaving = "leaving"
	StatusLeft    = "left"
	StatusFailed  = "failed"
	StatusNone    = "none"
)

// ErrUnknownMember is returned by ForceLeave for a name that is not in the
// member list.
var ErrUnknownMember = errors.New("membership: no member with that name")

// Config describes the local agent in the LAN pool.
type Config struct {
	NodeName   string
	NodeID     string
	Datacenter string

	// BindAddr is the address gossip listens on (default 0.0.0.0).
	BindAddr string
	// Port is the Serf LAN port. 0 picks a free port (for tests); Consul's
	// 8301 is DefaultPort, which callers pass explicitly.
	Port int
	// AdvertiseAddr is the address other members reach this one at; empty
	// means the bind address (or, for 0.0.0.0, a private address of this
	// host, as memberlist chooses it).
	AdvertiseAddr string

	Server          bool
	ServerPort      int // server RPC port, in the "port" tag (servers only)
	HTTPPort        int // "http_port" tag; 0 leaves it out
	NATSPort        int // "nats_port" tag; 0 leaves it out
	Bootstrap       bool
	BootstrapExpect int

	// EncryptKey is the gossip key in `consul keygen` form: base64 of 16,
	// 24 or 32 bytes (Consul's encrypt). Empty, and without a keyring
	// file, means no encryption.
	EncryptKey string
	// KeyringPath is the keyring file (KeyringFile in the agent's data
	// dir): when it exists its keys are used and EncryptKey is ignored,
	// with a warning when the file lacks it; when it does not, it is
	// created with EncryptKey. Every keyring change is written to it.
	// Empty keeps the keyring in memory only (Consul's
	// disable_keyring_file).
	KeyringPath string
	// PlaintextIncoming accepts unencrypted gossip as well as encrypted
	// (Consul's encrypt_verify_incoming = false); PlaintextOutgoing sends
	// gossip unencrypted (encrypt_verify_outgoing = false). Both are for
	// moving a running cluster to encryption in steps.
	PlaintextIncoming bool
	PlaintextOutgoing bool

	// WAN makes this a member of the servers' WAN pool rather than of
	// the LAN pool: memberlist's WAN timing (unless Timing is "local"),
	// and logs as serf.wan. NodeName is then Consul's "<node>.<dc>".
	WAN bool
	// ExtraTags are gossiped along with the standard ones.
	ExtraTags map[string]string

	// Timing is "lan" (memberlist's LAN defaults, the default) or "local"
	// (memberlist's local defaults: faster probes and gossip, for several
	// agents on one host such as tests).
	Timing string

	// EventBuffer is the capacity of the Events channel; 0 means
	// DefaultEventBuffer.
	EventBuffer int

	Logger *slog.Logger
}

// Member is one member of the pool as this agent sees it.
type Member struct {
	Name   string
	Addr   string
	Port   int
	Tags   map[string]string
	Status string // alive, leaving, left, failed

	// Protocol versions, as /v1/agent/members reports them.
	ProtocolMin, ProtocolMax, ProtocolCur uint8
	DelegateMin, DelegateMax, DelegateCur uint8
}

// StatusCode is the member's status as the number Consul's
// /v1/agent/members reports: 0 none, 1 alive, 2 leaving, 3 left, 4 failed.
func (m Member) StatusCode() int {
	switch m.Status {
	case StatusAlive:
		return 1
	case StatusLeaving:
		return 2
	case StatusLeft:
		return 3
	case StatusFailed:
		return 4
	}
	return 0
}

// IsServer reports whether the member advertises itself as a server.
func (m Member) IsServer() bool { return m.Tags[TagRole] == RoleServer }

// EventType says what happened to a member.
type EventType int

const (
	MemberJoined EventType = iota + 1
	MemberUpdated
	MemberFailed
	MemberLeft
	MemberReaped
)

func (t EventType) String() string {
	switch t {
	case MemberJoined:
		return "member-joined"
	case MemberUpdated:
		return "member-updated"
	case MemberFailed:
		return "member-failed"
	case MemberLeft:
		return "member-left"
	case MemberReaped:
		return "member-reaped"
	}
	return "unknown"
}

// Event is one membership change of one member.
type Event struct {
	Type   EventType
	Member Member
}

// Membership is a running Serf LAN pool member.
type Membership struct {
	cfg     Config
	serf    *serf.Serf
	logger  *slog.Logger
	keyring *memberlist.Keyring // nil without encryption

	serfCh  chan serf.Event
	events  chan Event
	dropped atomic.Uint64
	done    chan struct{} // closed when the forwarding goroutine ends

	tagsMu sync.Mutex
	tags   map[string]string

	shutdownOnce sync.Once
	shutdownErr  error
}

// buildTags is the Consul-compatible tag set for cfg.
func buildTags(cfg Config) map[string]string {
	info := version.Get()
	build := version.ConsulCompat + ":" + shortRev(info.Revision)
	tags := map[string]string{
		TagRole:    RoleClient,
		TagDC:      cfg.Datacenter,
		TagSegment: "",
		TagID:      cfg.NodeID,
		TagVsn:     protocolVsn,
		TagVsnMin:  protocolVsnMin,
		TagVsnMax:  protocolVsnMax,
		TagBuild:   build,
		TagCmdVsn:  strconv.Itoa(int(command.Version)),
	}
	if cfg.Server {
		tags[TagRole] = RoleServer
		tags[TagPort] = strconv.Itoa(cfg.ServerPort)
		tags[TagRaftVsn] = raftVsn
		if cfg.Bootstrap {
			tags[TagBootstrap] = "1"
		}
		if cfg.BootstrapExpect > 0 {
			tags[TagExpect] = strconv.Itoa(cfg.BootstrapExpect)
		}
	}
	if cfg.HTTPPort > 0 {
		tags[TagHTTPPort] = strconv.Itoa(cfg.HTTPPort)
	}
	if cfg.NATSPort > 0 {
		tags[TagNATSPort] = strconv.Itoa(cfg.NATSPort)
	}
	for k, v := range cfg.ExtraTags {
		tags[k] = v
	}
	return tags
}

func shortRev(r string) string {
	if len(r) > 8 {
		return r[:8]
	}
	return r
}

// Start creates the local Serf instance and starts listening. It does not
// join anyone: call Join or RetryJoin.
func Start(cfg Config) (*Membership, error) {
	if cfg.NodeName == "" {
		return nil, errors.New("membership: node name is required")
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("membership: invalid Serf port %d", cfg.Port)
	}
	if cfg.BindAddr == "" {
		cfg.BindAddr = "0.0.0.0"
	}
	if net.ParseIP(cfg.BindAddr) == nil {
		return nil, fmt.Errorf("membership: bind address %q is not an IP address", cfg.BindAddr)
	}
	if cfg.AdvertiseAddr != "" && net.ParseIP(cfg.AdvertiseAddr) == nil {
		return nil, fmt.Errorf("membership: advertise address %q is not an IP address", cfg.AdvertiseAddr)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = DefaultEventBuffer
	}

	pool := "LAN"
	if cfg.WAN {
		pool = "WAN"
	}
	var ml *memberlist.Config
	switch cfg.Timing {
	case "", "lan":
		ml = memberlist.DefaultLANConfig()
		if cfg.WAN {
			ml = memberlist.DefaultWANConfig()
		}
	case "local":
		ml = memberlist.DefaultLocalConfig()
	default:
		return nil, fmt.Errorf("membership: unknown timing %q (want \"lan\" or \"local\")", cfg.Timing)
	}
	logger := cfg.Logger.With("component", "serf."+strings.ToLower(pool))
	stdLogger := log.New(&logWriter{logger: logger}, "", 0)

	ml.Name = cfg.NodeName
	ml.BindAddr = cfg.BindAddr
	ml.BindPort = cfg.Port
	ml.AdvertisePort = cfg.Port
	if cfg.AdvertiseAddr != "" {
		ml.AdvertiseAddr = cfg.AdvertiseAddr
	}
	ml.Logger = stdLogger
	ml.LogOutput = nil
	keyring, err := loadKeyring(cfg, logger)
	if err != nil {
		return nil, err
	}
	if keyring != nil {
		ml.Keyring = keyring
		ml.GossipVerifyIncoming = !cfg.PlaintextIncoming
		ml.GossipVerifyOutgoing = !cfg.PlaintextOutgoing
	}

	sc := serf.DefaultConfig()
	sc.NodeName = cfg.NodeName
	sc.MemberlistConfig = ml
	sc.Logger = stdLogger
	sc.LogOutput = nil
	sc.EnableNameConflictResolution = true
	if keyring != nil {
		// Serf writes every installed, used or removed key here.
		sc.KeyringFile = cfg.KeyringPath
	}
	if cfg.Timing == "local" {
		// Shorter waits so that a graceful leave in tests takes well under
		// a second instead of Serf's LAN defaults.
		sc.LeavePropagateDelay = 200 * time.Millisecond
		sc.BroadcastTimeout = 2 * time.Second
		sc.ReapInterval = time.Second
	}
	tags := buildTags(cfg)
	sc.Tags = copyTags(tags)

	m := &Membership{
		cfg:     cfg,
		logger:  logger,
		keyring: keyring,
		serfCh:  make(chan serf.Event, 256),
		events:  make(chan Event, cfg.EventBuffer),
		done:    make(chan struct{}),
		tags:    tags,
	}
	sc.EventCh = m.serfCh

	s, err := serf.Create(sc)
	if err != nil {
		return nil, fmt.Errorf("membership: starting Serf %s: %w", pool, err)
	}
	m.serf = s
	go m.forward()
	local := m.LocalMember()
	logger.Info("serf "+pool+" started", "node", cfg.NodeName, "addr", local.Addr, "port", local.Port,
		"encrypted", s.EncryptionEnabled())
	return m, nil
}

// forward drains Serf's event channel promptly (Serf sends to it while
// holding its member lock) and passes member events on to Events().
func (m *Membership) forward() {
	defer close(m.done)
	shutdown := m.serf.ShutdownCh()
	for {
		select {
		case ev := <-m.serfCh:
			m.handle(ev)
		case <-shutdown:
			// Pass on what Serf sent before it stopped, then end.
			for {
				select {
				case ev := <-m.serfCh:
					m.handle(ev)
				default:
					return
				}
			}
		}
	}
}

func (m *Membership) handle(ev serf.Event) {
	me, ok := ev.(serf.MemberEvent)
	if !ok {
		return // user events and queries are not this package's business
	}
	var t EventType
	switch me.Type {
	case serf.EventMemberJoin:
		t = MemberJoined
	case serf.EventMemberUpdate:
		t = MemberUpdated
	case serf.EventMemberFailed:
		t = MemberFailed
	case serf.EventMemberLeave:
		t = MemberLeft
	case serf.EventMemberReap:
		t = MemberReaped
	default:
		return
	}
	for _, sm := range me.Members {
		m.emit(Event{Type: t, Member: convert(sm)})
	}
}

// emit queues e without ever blocking: when the consumer lags and the
// buffer is full, the oldest queued event is dropped and counted.
func (m *Membership) emit(e Event) {
	for {
		select {
		case m.events <- e:
			return
		default:
		}
		select {
		case old := <-m.events:
			n := m.dropped.Add(1)
			m.logger.Warn("membership event buffer full; dropped the oldest event",
				"dropped_type", old.Type.String(), "dropped_member", old.Member.Name, "dropped_total", n)
		default:
		}
	}
}

// Events returns the membership changes seen by this agent, one Event per
// member. The channel is buffered (Config.EventBuffer) and never blocks
// Serf: when the consumer falls behind and the buffer is full, the oldest
// event is discarded and DroppedEvents counts it, so a consumer that needs
// the full picture should reconcile with Members() when that counter moves.
// The channel is not closed on Shutdown.
func (m *Membership) Events() <-chan Event { return m.events }

// DroppedEvents is how many events were discarded because the consumer of
// Events() lagged.
func (m *Membership) DroppedEvents() uint64 { return m.dropped.Load() }

// Join contacts the given addresses ("host" or "host:port"; without a port
// this agent's own Serf port is assumed) and returns how many it reached.
// As for Consul's agent join, old user events are not replayed.
func (m *Membership) Join(addrs []string) (int, error) {
	if len(addrs) == 0 {
		return 0, errors.New("membership: no addresses to join")
	}
	n, err := m.serf.Join(addrs, true)
	if err != nil {
		return n, fmt.Errorf("membership: join: %w", err)
	}
	return n, nil
}

// Leave leaves the pool gracefully: the other members see this one as
// "left" rather than "failed". It blocks until the intent has been
// broadcast (bounded by Serf's broadcast timeout). Shutdown is still needed
// afterwards to release the sockets.
func (m *Membership) Leave() error {
	if err := m.serf.Leave(); err != nil {
		return fmt.Errorf("membership: leave: %w", err)
	}
	return nil
}

// ForceLeave moves a failed member to "left" cluster-wide, so it is no longer
// reconnected to and is reaped sooner; with prune the member is removed from
// the member list at once. An alive member that is force-left refutes it.
// ErrUnknownMember is returned when no member has that name.
func (m *Membership) ForceLeave(node string, prune bool) error {
	found := false
	for _, sm := range m.serf.Members() {
		if sm.Name == node {
			found = true
			break
		}
	}
	if !found {
		return fmt.Errorf("%w: %q", ErrUnknownMember, node)
	}
	var err error
	if prune {
		err = m.serf.RemoveFailedNodePrune(node)
	} else {
		err = m.serf.RemoveFailedNode(node)
	}
	if err != nil {
		return fmt.Errorf("membership: force-leave %s: %w", node, err)
	}
	return nil
}

// Members lists every member this agent knows, including failed and left
// ones until Serf reaps them.
func (m *Membership) Members() []Member {
	sms := m.serf.Members()
	out := make([]Member, 0, len(sms))
	for _, sm := range sms {
		out = append(out, convert(sm))
	}
	return out
}

// LocalMember is this agent as the pool sees it.
func (m *Membership) LocalMember() Member { return convert(m.serf.LocalMember()) }

// SetTags merges extra tags into the ones this agent gossips (an empty value
// deletes a tag) and announces the change; the others see MemberUpdated.
func (m *Membership) SetTags(extra map[string]string) error {
	m.tagsMu.Lock()
	defer m.tagsMu.Unlock()
	next := copyTags(m.tags)
	for k, v := range extra {
		if v == "" {
			delete(next, k)
		} else {
			next[k] = v
		}
	}
	if err := m.serf.SetTags(next); err != nil {
		return fmt.Errorf("membership: set tags: %w", err)
	}
	m.tags = next
	return nil
}

// EncryptionEnabled reports whether gossip is encrypted.
func (m *Membership) EncryptionEnabled() bool { return m.serf.EncryptionEnabled() }

// Serf exposes the underlying Serf instance for what this package does not
// wrap (user events, coordinates).
func (m *Membership) Serf() *serf.Serf { return m.serf }

// Shutdown stops gossip and closes the sockets without leaving: the others
// will see this member fail. Call Leave first for a graceful exit. It is
// safe to call more than once.
func (m *Membership) Shutdown() error {
	m.shutdownOnce.Do(func() {
		if err := m.serf.Shutdown(); err != nil {
			m.shutdownErr = fmt.Errorf("membership: shutdown: %w", err)
		}
		<-m.done
	})
	return m.shutdownErr
}

// RetryJoin joins addrs as Consul's -retry-join does: it tries all of them
// every interval until at least one is reached, max attempts have failed
// (max <= 0 means no limit), ctx is done, or m is shut down.
func RetryJoin(ctx context.Context, m *Membership, addrs []string, interval time.Duration, max int) error {
	if len(addrs) == 0 {
		return nil
	}
	if interval <= 0 {
		interval = 30 * time.Second // Consul's retry_interval default
	}
	shutdown := m.serf.ShutdownCh()
	var lastErr error
	for attempt := 1; ; attempt++ {
		n, err := m.Join(addrs)
		if n > 0 {
			m.logger.Info("retry-join: joined", "contacted", n, "attempt", attempt)
			return nil
		}
		if err == nil {
			err = errors.New("no members reached")
		}
		lastErr = err
		if max > 0 && attempt >= max {
			return fmt.Errorf("membership: retry-join gave up after %d attempts: %w", attempt, lastErr)
		}
		m.logger.Warn("retry-join: join failed; retrying", "attempt", attempt, "interval", interval, "error", err)
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("membership: retry-join stopped: %w (last error: %v)", ctx.Err(), lastErr)
		case <-shutdown:
			t.Stop()
			return errors.New("membership: retry-join stopped: shut down")
		case <-t.C:
		}
	}
}

func convert(sm serf.Member) Member {
	return Member{
		Name:        sm.Name,
		Addr:        sm.Addr.String(),
		Port:        int(sm.Port),
		Tags:        copyTags(sm.Tags),
		Status:      sm.Status.String(),
		ProtocolMin: sm.ProtocolMin,
		ProtocolMax: sm.ProtocolMax,
		ProtocolCur: sm.ProtocolCur,
		DelegateMin: sm.DelegateMin,
		DelegateMax: sm.DelegateMax,
		DelegateCur: sm.DelegateCur,
	}
}

func copyTags(t map[string]string) map[string]string {
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}

// logWriter turns Serf's and memberlist's "[LEVEL] text" log lines into
// slog records at the matching level.
type logWriter struct{ logger *slog.Logger }

func (w *logWriter) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	level := slog.LevelInfo
	for _, l := range []struct {
		prefix string
		level  slog.Level
	}{
		{"[TRACE]", slog.LevelDebug - 4},
		{"[DEBUG]", slog.LevelDebug},
		{"[INFO]", slog.LevelInfo},
		{"[WARN]", slog.LevelWarn},
		{"[ERR]", slog.LevelError},
		{"[ERROR]", slog.LevelError},
	} {
		if strings.HasPrefix(line, l.prefix) {
			level = l.level
			line = strings.TrimSpace(line[len(l.prefix):])
			break
		}
	}
	w.logger.Log(context.Background(), level, line)
	return len(p), nil
}
