package command

import (
	"errors"
	"fmt"

	"github.com/heraldhq/herald/event"
)

// Shard identifies one Raft group. The numbers are part of every replica's
// on-disk identity (Dragonboat's shard ID): never renumber or reuse one.
type Shard uint64

const (
	// ShardAny is the shard of a command type that every shard takes.
	ShardAny Shard = 0
	// ShardCatalog holds nodes, services and checks.
	ShardCatalog Shard = 1
	// ShardKV holds KV entries, sessions and locks: a lock and its session
	// are judged in one place.
	ShardKV Shard = 2
	// ShardSystem holds the ACL state: tokens, policies and roles.
	ShardSystem Shard = 3
)

// Shards lists every shard a server hosts, in ID order.
func Shards() []Shard { return []Shard{ShardCatalog, ShardKV, ShardSystem} }

// String is the shard's name in events, NATS subjects, files and the API.
func (s Shard) String() string {
	switch s {
	case ShardCatalog:
		return event.ShardCatalog
	case ShardKV:
		return event.ShardKV
	case ShardSystem:
		return event.ShardSystem
	}
	return fmt.Sprintf("shard-%d", uint64(s))
}

// ParseShard is the shard of a name that String returns.
func ParseShard(name string) (Shard, bool) {
	for _, s := range Shards() {
		if s.String() == name {
			return s, true
		}
	}
	return 0, false
}

// ErrNoShard is Shard's error for a command whose type every shard takes:
// its proposer must name the shard.
var ErrNoShard = errors.New("command: its type belongs to no one shard; name the shard")

// Shard is the shard whose log takes c, worked out from its type.
func (c Command) Shard() (Shard, error) {
	if s := c.Type().Shard(); s != ShardAny {
		return s, nil
	}
	return ShardAny, fmt.Errorf("%w: %v", ErrNoShard, c.Type())
}
