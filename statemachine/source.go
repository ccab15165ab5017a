package statemachine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/heraldhq/herald/event"
)

// memSource is a shard's state read from a snapshot stream, in memory: what
// an agent without a replica loads its projections from.
type memSource struct {
	kv       []*event.KVEntry // sorted by key
	nodes    []*event.Node
	services []*event.Service
	checks   []*event.Check
	sessions []*event.Session
	queries  []*event.PreparedQuery
	ca       *event.ConnectCA
	// The ACL records, tokens with their SecretHash only (acl.go).
	aclTokens   []*event.ACLToken
	aclPolicies []*event.ACLPolicy
	aclRoles    []*event.ACLRole
	// configEntries are the config entries (configentry.go).
	configEntries []*event.ConfigEntry
}

// SnapshotSource reads a snapshot stream (Export's output) and returns its
// index and its state as an event.Source.
func SnapshotSource(data []byte) (uint64, event.Source, error) {
	br := bufio.NewReader(bytes.NewReader(data))
	applied, offset, err := snapshotHeader(br)
	if err != nil {
		return 0, nil, err
	}
	src := &memSource{}
	err = snapshotRecords(br, func(area byte, key, value []byte) error {
		var err error
		switch area {
		case areaKV:
			var e *event.KVEntry
			if e, err = decodeEntry(string(key), value); err == nil {
				src.kv = append(src.kv, e)
			}
		case areaNodes:
			n := new(event.Node)
			if err = json.Unmarshal(value, n); err == nil {
				src.nodes = append(src.nodes, n)
			}
		case areaServices:
			s := new(event.Service)
			if err = json.Unmarshal(value, s); err == nil {
				src.services = append(src.services, s)
			}
		case areaChecks:
			c := new(event.Check)
			if err = json.Unmarshal(value, c); err == nil {
				src.checks = append(src.checks, c)
			}
		case areaConnectCA:
			err = src.readSnapshotCA(key, value)
		case areaSessions:
			s := new(event.Session)
			if err = json.Unmarshal(value, s); err == nil {
				src.sessions = append(src.sessions, s)
			}
		case areaACLTokens, areaACLPolicies, areaACLRoles:
			err = src.readSnapshotACL(area, value)
		case areaConfigEntries:
			e := new(event.ConfigEntry)
			if err = json.Unmarshal(value, e); err == nil {
				src.configEntries = append(src.configEntries, e)
			}
		case areaQueries:
			q := new(event.PreparedQuery)
			if err = json.Unmarshal(value, q); err == nil {
				src.queries = append(src.queries, q)
			}
		}
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	sort.Slice(src.kv, func(i, j int) bool { return src.kv[i].Key < src.kv[j].Key })
	index := applied
	if applied > 0 {
		index += offset
	}
	return index, src, nil
}

func (m *memSource) ScanKV(prefix string, fn func(*event.KVEntry) error) error {
	for _, e := range m.kv {
		if strings.HasPrefix(e.Key, prefix) {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memSource) ScanCatalog(node func(*event.Node) error, service func(*event.Service) error, check func(*event.Check) error) error {
	for _, n := range m.nodes {
		if node != nil {
			if err := node(n); err != nil {
				return err
			}
		}
	}
	for _, s := range m.services {
		if service != nil {
			if err := service(s); err != nil {
				return err
			}
		}
	}
	for _, c := range m.checks {
		if check != nil {
			if err := check(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memSource) ScanSessions(fn func(*event.Session) error) error {
	for _, s := range m.sessions {
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}
