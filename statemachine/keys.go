package statemachine

import (
	"encoding/binary"
	"slices"
)

// Pebble key areas. Each area is a one-byte prefix with a fixed number: the
// numbers are stored on disk, so they never change and are never reused.
const (
	areaMeta    byte = 0x00 // replicated bookkeeping (applied index)
	areaHistory byte = 0x01 // applied commands: big-endian index -> command bytes
	areaOutbox  byte = 0x02 // events not yet published: big-endian index -> JSON
	areaLocal   byte = 0x03 // per-replica bookkeeping, never in snapshots

	// The state itself. Each data area has a base twin (baseOf) holding its
	// image just before the oldest retained command of the history.
	areaKV       byte = 0x10 // KV key -> encoded entry
	areaNodes    byte = 0x11 // lower-case node name -> JSON event.Node
	areaServices byte = 0x12 // node \x00 service ID (lower case) -> JSON event.Service
	areaChecks   byte = 0x13 // node \x00 check ID (lower case) -> JSON event.Check
	areaSessions byte = 0x14 // session ID -> JSON event.Session
	areaLockWait byte = 0x15 // KV key -> end of its lock delay (Unix ns, big-endian)

	// Replicated bookkeeping of exactly-once apply (requests.go). Snapshots
	// carry it, but it has no base twin: replay needs no deduplication,
	// since the history holds only commands that took effect.
	areaRequests byte = 0x16 // deadline | proposer | seq (big-endian) -> result
	areaClock    byte = 0x17 // one empty key -> the replicated clock (Unix ns)

	areaQueries   byte = 0x1A // lower-case prepared query ID -> JSON event.PreparedQuery
	areaConnectCA byte = 0x18 // "state" -> JSON event.ConnectCA (catalog shard)

	baseFlag byte = 0x80
)

// dataAreas are the areas that hold the state; each has a base twin.
var dataAreas = []byte{areaKV, areaNodes, areaServices, areaChecks, areaSessions, areaLockWait,
	areaConnectCA, areaQueries, areaOperator, areaACLTokens, areaACLPolicies, areaACLRoles, areaACLMeta,
	areaConfigEntries, areaACLReplication, areaKVReplication, areaConfigReplication}

// snapshotAreas are the areas that snapshots carry, in stream order.
var snapshotAreas = append(append([]byte(nil), dataAreas...), areaRequests, areaClock)

// isDataArea reports whether area is one of dataAreas.
func isDataArea(area byte) bool { return slices.Contains(dataAreas, area) }

// baseOf is the base-image twin of a data area.
func baseOf(area byte) byte { return area | baseFlag }

var (
	keyApplied      = []byte{areaMeta, 'a'}
	keyIndexOffset  = []byte{areaMeta, 'o'}  // logical index = Raft index + offset
	keyHistoryFirst = []byte{areaLocal, 'h'} // first index held in areaHistory
	keyClock        = []byte{areaClock}
)

func areaKey(area byte, key string) []byte {
	b := make([]byte, 1+len(key))
	b[0] = area
	copy(b[1:], key)
	return b
}

func indexKey(area byte, index uint64) []byte {
	b := make([]byte, 9)
	b[0] = area
	binary.BigEndian.PutUint64(b[1:], index)
	return b
}

// areaEnd is the first key after every key of the area.
func areaEnd(area byte) []byte { return []byte{area + 1} }

// prefixEnd is the first key after every key that starts with p, or nil when
// there is none (p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func u64Bytes(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}
