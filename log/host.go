package log

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	dblogger "github.com/lni/dragonboat/v4/logger"
	"github.com/lni/dragonboat/v4/raftpb"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/telemetry"
)

// Config describes this server's place in the Raft groups.
type Config struct {
	// Dir holds the NodeHost's Raft log and metadata.
	Dir string
	// RaftAddress is the host:port other servers reach this one's Raft at.
	// It is recorded in Dir on first start and must stay the same afterwards.
	RaftAddress string
	// ListenAddress is where Raft listens when that differs from
	// RaftAddress (binding 0.0.0.0 while advertising one address).
	ListenAddress string
	// ReplicaID identifies this server in every shard.
	ReplicaID uint64
	// RaftMultiplier scales every Raft timeout, as Consul's
	// performance.raft_multiplier does (1 fastest, 10 slowest).
	RaftMultiplier int
	// Metrics records proposals (see ProposeTo); nil records nothing.
	Metrics *telemetry.Registry
	Logger  *slog.Logger
	// TLS, when set, makes Raft between servers mutual TLS.
	TLS *TLS
}

// TLS is Raft's mutual TLS: every connection, either way, presents a
// certificate signed by the CA, and the dialing side checks that the
// other's certificate names the host it dialed (the Raft address's IP or
// name). Dragonboat reads the three files itself.
type TLS struct {
	CAFile, CertFile, KeyFile string
}

// Timing derived from the multiplier. A tick is 10 ms; with Consul's default
// multiplier of 5, heartbeats go out every 50 ms and a follower starts an
// election after 500–1000 ms of silence, so a leader's death is repaired in
// about a second on a LAN.
const tickMillis = 10

func timing(multiplier int) (heartbeat, election uint64) {
	if multiplier < 1 {
		multiplier = 5
	}
	return uint64(multiplier), uint64(10 * multiplier)
}

// Host runs this server's replicas of every shard.
type Host struct {
	nh      *dragonboat.NodeHost
	cfg     Config
	log     *slog.Logger
	attempt time.Duration // the most one try of a request may wait
	// requests names this server's proposals, so that a retried proposal
	// is applied once (statemachine/requests.go).
	requests *command.Requests
}

// Start creates the NodeHost. Shards are started separately with StartShard.
func Start(cfg Config) (*Host, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	quietDragonboat()
	nh, err := dragonboat.NewNodeHost(nodeHostConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("start raft at %s in %s: %w", cfg.RaftAddress, cfg.Dir, err)
	}
	// Twice the longest election timeout: time for a new leader to be
	// elected before a request tries again.
	_, election := timing(cfg.RaftMultiplier)
	attempt := min(max(time.Duration(2*election*tickMillis)*time.Millisecond, 500*time.Millisecond), 5*time.Second)
	return &Host{nh: nh, cfg: cfg, log: cfg.Logger, attempt: attempt, requests: command.NewRequests()}, nil
}

func nodeHostConfig(cfg Config) config.NodeHostConfig {
	c := config.NodeHostConfig{
		NodeHostDir:    cfg.Dir,
		WALDir:         cfg.Dir,
		RTTMillisecond: tickMillis,
		RaftAddress:    cfg.RaftAddress,
		ListenAddress:  cfg.ListenAddress,
		Expert:         expertConfig(cfg.Dir),
	}
	if cfg.TLS != nil {
		c.MutualTLS, c.CAFile, c.CertFile, c.KeyFile = true, cfg.TLS.CAFile, cfg.TLS.CertFile, cfg.TLS.KeyFile
	}
	return c
}

// expertConfig sizes Dragonboat's workers and log databases for Herald's
// three Raft shards. Dragonboat's defaults are for thousands: 16 Pebble
// databases for the log, a shard's log going to the one its ID picks, 16
// step workers and 16 apply workers, each waking five times a second, and
// pools of 48 snapshot and 32 close workers. With three shards, thirteen
// databases stood open and unused, each with its WAL, memtable, goroutines
// and timers: a new data dir opened twice as slowly and held 70 more
// files. Each kind now gets four workers or, for the log, one database
// per shard; the IDs (1, 2 and 3) keep every shard on a worker and a
// database of its own, as Dragonboat picks them by ID modulo the count.
//
// Dragonboat records the step worker and log database counts in the data
// dir and refuses to open it with others, so a data dir made with other
// counts (every one made before this layout) keeps its own.
func expertConfig(dir string) config.ExpertConfig {
	c := config.ExpertConfig{Engine: config.EngineConfig{ExecShards: newStepWorkers, CommitShards: shardWorkers,
		ApplyShards: shardWorkers, SnapshotShards: shardWorkers, CloseShards: shardWorkers},
		LogDB: config.GetTinyMemLogDBConfig()}
	c.LogDB.Shards = newLogDBShards
	if recorded, ok := recordedLayout(dir); ok {
		c.Engine.ExecShards, c.LogDB.Shards = recorded.StepWorkerCount, recorded.LogdbShardCount
	}
	return c
}

// shardWorkers is the size of each of Dragonboat's worker pools: at least
// one more than the highest shard ID, so that each shard has its own.
const shardWorkers = 4

// The counts a new data dir records (variables for the test that makes a
// data dir as earlier versions did).
var (
	newStepWorkers = uint64(shardWorkers)
	newLogDBShards = uint64(len(command.Shards()))
)

// recordedLayout is what Dragonboat recorded of the settings dir was made
// with; not ok when dir holds no Raft data yet. Its record is an 8-byte
// hash and a raftpb.RaftDataStatus; Dragonboat itself checks the hash when
// it opens the dir, and a record that does not decode is left to it.
func recordedLayout(dir string) (raftpb.RaftDataStatus, bool) {
	var status raftpb.RaftDataStatus
	b, err := os.ReadFile(filepath.Join(dir, dragonboatStatusFile))
	if err != nil || len(b) < 8 || status.Unmarshal(b[8:]) != nil {
		return status, false
	}
	return status, status.StepWorkerCount > 0 && status.LogdbShardCount > 0
}

// dragonboatStatusFile is the record Dragonboat keeps of the settings a
// Raft data dir was made with.
const dragonboatStatusFile = "dragonboat.ds"

// quietDragonboat keeps Dragonboat's own chatter to errors: it reports
// routine elections as warnings. Its loggers are global, so this runs once
// per process, before any host's workers read them.
func quietDragonboat() { quietOnce.Do(setDragonboatLevels) }

var quietOnce sync.Once

func setDragonboatLevels() {
	for _, name := range []string{"dragonboat", "raft", "rsm", "transport", "logdb", "raftpb", "config", "settings", "grpc", "gossip", "registry", "tan", "tools"} {
		dblogger.GetLogger(name).SetLevel(dblogger.ERROR)
	}
}

// HasReplica reports whether this server has held a replica of the shard
// before (its Raft state is on disk): such a replica restarts with no
// initial members.
func (h *Host) HasReplica(shard command.Shard) bool {
	return h.nh.HasNodeInfo(uint64(shard), h.cfg.ReplicaID)
}

// StartShard starts this server's replica of a shard with the state machine
// that create returns. members are the initial voters (replica ID to Raft
// address) of a new shard; it is empty when this server joins a running
// one, or restarts a replica it already had. It returns once the replica
// has been started, not when it has a leader.
func (h *Host) StartShard(shard command.Shard, members map[uint64]string, create func() sm.IOnDiskStateMachine) error {
	heartbeat, election := timing(h.cfg.RaftMultiplier)
	rc := config.Config{
		ShardID:            uint64(shard),
		ReplicaID:          h.cfg.ReplicaID,
		ElectionRTT:        election,
		HeartbeatRTT:       heartbeat,
		CheckQuorum:        true,
		PreVote:            true,
		SnapshotEntries:    10000,
		CompactionOverhead: 5000,
	}
	initial := map[uint64]dragonboat.Target{}
	for id, addr := range members {
		initial[id] = addr
	}
	join := len(initial) == 0 && !h.HasReplica(shard)
	factory := func(uint64, uint64) sm.IOnDiskStateMachine { return create() }
	if err := h.nh.StartOnDiskReplica(initial, join, factory, rc); err != nil {
		return fmt.Errorf("start shard %v: %w", shard, err)
	}
	return nil
}

// ErrNoLeader is returned when a shard has no leader to take a request
// before the request's deadline.
var ErrNoLeader = errors.New("No cluster leader")

// ErrNoServers is the ErrNoLeader of a client agent that knows no server
// yet; it has Consul's words for that.
var ErrNoServers = fmt.Errorf("%w: No known Consul servers", ErrNoLeader)

// defaultTimeout applies to requests whose context has no deadline; it is
// Consul's RPC hold timeout.
const defaultTimeout = 7 * time.Second

func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultTimeout)
}

// retry runs op until it succeeds, fails for good, or ctx ends; Dragonboat's
// temporary errors (no leader yet, a busy queue, a dropped proposal) are
// retried with a short backoff. The first attempt gets at most h.attempt of
// the time left: a proposal forwarded to a leader that then died is never
// answered, only timed out, and the next attempt must reach the new leader
// soon after it is elected. An attempt that timed out is followed by one
// that may wait twice as long (up to four times h.attempt), so that a
// leader that is merely slow gets the time it needs; a write tried again
// is applied once all the same (statemachine/requests.go).
//
// A shard that has had no known leader for twice that long is taken to have
// none (no quorum, or not started): the request fails with ErrNoLeader
// rather than hang until its deadline — unless an attempt of a write timed
// out. Such an attempt may sit in a leader's queue or a TCP buffer and be
// committed later, so the write is answered only at its deadline, after
// which the state machine refuses it: an error answer is then final.
func (h *Host) retry(ctx context.Context, shard command.Shard, write bool, op func(context.Context) error) error {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	backoff := 2 * time.Millisecond
	leaderless := time.Time{}
	inDoubt := false
	attempt := h.attempt
	for {
		actx, acancel := context.WithTimeout(ctx, attempt)
		err := op(actx)
		acancel()
		if err == nil {
			return nil
		}
		if errors.Is(err, dragonboat.ErrTimeoutTooSmall) {
			// Less time is left than Dragonboat can wait for.
			return giveUp(ctx, inDoubt, err)
		}
		timedOut := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, dragonboat.ErrTimeout)
		if timedOut {
			// The leader may be alive but slow (a large entry, a busy
			// disk): each further try waits twice as long.
			attempt = min(2*attempt, 4*h.attempt)
		}
		// A write's attempt that timed out may have been committed; one
		// that Dragonboat dropped (no leader known, a busy queue) was not.
		inDoubt = inDoubt || (write && timedOut)
		// An attempt that ran out of its own time is worth another try
		// while the request still has time; so is one whose time was
		// already over when Dragonboat looked at it (a stalled machine):
		// that one was never proposed.
		retryable := dragonboat.IsTempError(err) || errors.Is(err, dragonboat.ErrShardNotFound) || timedOut ||
			errors.Is(err, dragonboat.ErrInvalidDeadline)
		if !retryable {
			return err
		}
		if ctx.Err() != nil {
			return giveUp(ctx, inDoubt, err)
		}
		if _, ok := h.Leader(shard); ok {
			leaderless = time.Time{}
		} else if leaderless.IsZero() {
			leaderless = time.Now()
		} else if time.Since(leaderless) > 2*h.attempt && !inDoubt {
			return giveUp(ctx, inDoubt, err)
		}
		select {
		case <-ctx.Done():
			return giveUp(ctx, inDoubt, err)
		case <-time.After(backoff):
		}
		if backoff < 100*time.Millisecond {
			backoff *= 2
		}
	}
}

// ErrInDoubt is a write's error when an attempt of it timed out: it may
// have been applied (once), but not after this answer. It is an
// ErrNoLeader, as Consul answers a write that found no working leader,
// with the doubt said.
var ErrInDoubt = fmt.Errorf("%w (the write timed out waiting to commit, and may have been applied)", ErrNoLeader)

// giveUp is a request's error once retry stops trying: a write that may
// have been committed says so, any other failure is for want of a leader
// (and definitely did not change anything).
//
// A write in doubt is answered no sooner than ctx's deadline, which is the
// command's: until then an attempt held in a queue or a TCP buffer may
// still reach a leader and be applied, and a caller told of the doubt
// early could write again and be overtaken by it. Dragonboat refuses an
// attempt with less time left than it can wait for (ErrTimeoutTooSmall)
// some milliseconds before the deadline: the wait covers those.
func giveUp(ctx context.Context, inDoubt bool, err error) error {
	if inDoubt {
		<-ctx.Done()
		return fmt.Errorf("%w: %v", ErrInDoubt, err)
	}
	return fmt.Errorf("%w: %v", ErrNoLeader, err)
}

// Propose appends cmd to the log of the shard its type belongs to and
// returns the state machine's answer once the command has been committed
// and applied on this server. A refusal (a failed CAS, an invalid session)
// is an answer, not an error.
//
// Every attempt sends the same bytes under one request ID, so a command
// that an earlier attempt got committed is not applied again, and the
// command carries the request's deadline, so it is not applied after
// Propose answered with an error. A command that already has an ID and a
// deadline (a client agent's, forwarded) keeps them, and the deadline
// bounds the wait here too.
func (h *Host) Propose(ctx context.Context, cmd command.Command) (command.Result, error) {
	shard, err := cmd.Shard()
	if err != nil {
		return command.Result{}, err
	}
	return h.ProposeTo(ctx, shard, cmd)
}

// ProposeTo is Propose to a shard named by the caller: for command types
// that every shard takes (a restore).
func (h *Host) ProposeTo(ctx context.Context, shard command.Shard, cmd command.Command) (command.Result, error) {
	if cmd.Deadline != 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Unix(0, cmd.Deadline))
		defer cancel()
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	data, err := command.Encode(h.requests.Stamp(ctx, cmd))
	if err != nil {
		return command.Result{}, err
	}
	var res sm.Result
	start := time.Now()
	err = h.retry(ctx, shard, true, func(ctx context.Context) error {
		var err error
		res, err = h.nh.SyncPropose(ctx, h.nh.GetNoOPSession(uint64(shard)), data)
		return err
	})
	h.measurePropose(shard, start, err)
	if err != nil {
		return command.Result{}, err
	}
	return command.DecodeResult(res.Value, res.Data)
}

// ReadIndex is a linearizable read barrier: when it returns, this server's
// replica of the shard has applied every write committed before the call.
func (h *Host) ReadIndex(ctx context.Context, shard command.Shard) error {
	return h.retry(ctx, shard, false, func(ctx context.Context) error {
		_, err := h.nh.SyncRead(ctx, uint64(shard), nil)
		return err
	})
}

// Leader returns the shard's leader as known here.
func (h *Host) Leader(shard command.Shard) (replicaID uint64, ok bool) {
	id, _, valid, err := h.nh.GetLeaderID(uint64(shard))
	return id, err == nil && valid && id != 0
}

// IsLeader reports whether this server leads the shard.
func (h *Host) IsLeader(shard command.Shard) bool {
	id, ok := h.Leader(shard)
	return ok && id == h.cfg.ReplicaID
}

// Members is a shard's membership as Raft records it.
type Members struct {
	// Voters maps replica IDs to Raft addresses.
	Voters map[uint64]string
	// Removed are the replica IDs removed from the shard; Raft never takes
	// them back.
	Removed map[uint64]bool
}

// Membership returns the shard's voters and removed replicas.
func (h *Host) Membership(ctx context.Context, shard command.Shard) (Members, error) {
	var m *dragonboat.Membership
	err := h.retry(ctx, shard, false, func(ctx context.Context) error {
		var err error
		m, err = h.nh.SyncGetShardMembership(ctx, uint64(shard))
		return err
	})
	if err != nil {
		return Members{}, err
	}
	out := Members{Voters: map[uint64]string{}, Removed: map[uint64]bool{}}
	for id, addr := range m.Nodes {
		out.Voters[id] = addr
	}
	for id := range m.Removed {
		out.Removed[id] = true
	}
	return out, nil
}

// ReplicaIDFor derives a server's replica ID from its node ID, so that
// every server computes the same IDs for the same members without asking.
// Zero is not a valid replica ID and is never returned.
func ReplicaIDFor(nodeID string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(nodeID))
	if id := h.Sum64(); id != 0 {
		return id
	}
	return 1
}

// AddVoter adds a server to a shard as a voter; it must be called where the
// request can reach the leader. The new server then starts its replica
// with no initial members (StartShard with an empty Members), and catches
// up from the others.
func (h *Host) AddVoter(ctx context.Context, shard command.Shard, replicaID uint64, raftAddress string) error {
	return h.retry(ctx, shard, false, func(ctx context.Context) error {
		return h.nh.SyncRequestAddReplica(ctx, uint64(shard), replicaID, raftAddress, 0)
	})
}

// RemoveReplica removes a server from a shard. A removed replica ID can
// never be added back (Raft's rule), so a server that rejoins later does so
// under a new ID.
func (h *Host) RemoveReplica(ctx context.Context, shard command.Shard, replicaID uint64) error {
	return h.retry(ctx, shard, false, func(ctx context.Context) error {
		err := h.nh.SyncRequestDeleteReplica(ctx, uint64(shard), replicaID, 0)
		if replicaID == h.cfg.ReplicaID && (errors.Is(err, dragonboat.ErrShardNotFound) || errors.Is(err, dragonboat.ErrShardClosed)) {
			// A server removing itself loses its replica as soon as the
			// change is applied, sometimes before the answer reaches
			// it (an earlier attempt's, too): the shard is gone
			// because the removal took effect.
			return nil
		}
		return err
	})
}

// Requests is the source of this server's request IDs, which also stamps
// each command's origin: the agent names itself and gates the origin there
// (command.Requests.SetNode, SetRecordOrigin) before proposing.
func (h *Host) Requests() *command.Requests { return h.requests }

// RaftAddress is this server's Raft address.
func (h *Host) RaftAddress() string { return h.cfg.RaftAddress }

// ReplicaID is this server's replica ID.
func (h *Host) ReplicaID() uint64 { return h.cfg.ReplicaID }

// Close stops every replica and the NodeHost.
func (h *Host) Close() { h.nh.Close() }
