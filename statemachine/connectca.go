package statemachine

import (
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// The Connect CA (catalog shard) is one record: the whole CA state, its
// roots with their private keys included, in areaConnectCA. Roots are few
// (the active one and those rotated out but not yet expired), so one record
// keeps every change a single write.

// caStateKey is the key of the CA's one record, under its area.
const caStateKey = "state"

// caEventKey is the Key of the CA's events: their subject on the event
// stream is herald.<dc>.catalog.connect.ca.
const caEventKey = "connect/ca"

// caStore is what the Connect CA rules read and write.
type caStore interface {
	connectCA() (*event.ConnectCA, error)
	putConnectCA(*event.ConnectCA) error
}

type pebbleCA struct {
	batch *pebble.Batch
	area  byte
}

func newPebbleCA(b *pebble.Batch, base bool) *pebbleCA {
	if base {
		return &pebbleCA{batch: b, area: baseOf(areaConnectCA)}
	}
	return &pebbleCA{batch: b, area: areaConnectCA}
}

func (p *pebbleCA) connectCA() (*event.ConnectCA, error) {
	return getJSON[event.ConnectCA](p.batch, areaKey(p.area, caStateKey))
}

func (p *pebbleCA) putConnectCA(ca *event.ConnectCA) error {
	return putJSON(p.batch, areaKey(p.area, caStateKey), ca)
}

// applyConnectCASet sets the CA's configuration and, with a root, makes it
// the active one, if the active root is still the one the proposer saw.
// Roots rotated out stay listed, inactive, until they expire (judged by the
// command's time), so that certificates they signed keep verifying.
func applyConnectCASet(st caStore, idx uint64, now int64, b *command.ConnectCASetBody, emit func(event.Event)) error {
	ca, err := st.connectCA()
	if err != nil {
		return err
	}
	if ca == nil {
		ca = &event.ConnectCA{CreateIndex: idx}
	}
	if ca.ActiveRootID != b.ExpectActiveRootID {
		return failed("CA root changed concurrently: the active root is %q, not %q", ca.ActiveRootID, b.ExpectActiveRootID)
	}
	if ca.ClusterID == "" {
		if b.ClusterID == "" {
			return failed("the first CA root needs a cluster ID")
		}
		ca.ClusterID = b.ClusterID
	}
	if ca.ActiveRootID == "" && b.Root == nil {
		return failed("the CA has no root yet: a configuration change needs one")
	}
	if b.Provider != "" {
		ca.Provider = b.Provider
	}
	ca.Config = nil
	if len(b.Config) > 0 {
		if err := json.Unmarshal(b.Config, &ca.Config); err != nil {
			return failed("CA configuration is not a JSON object: %v", err)
		}
	}
	if b.Root != nil {
		root := *b.Root
		if root.ID == "" || root.RootCert == "" || root.PrivateKey == "" {
			return failed("a CA root needs an ID, a certificate and a private key")
		}
		kept := ca.Roots[:0:0]
		for _, r := range ca.Roots {
			if r.ID == root.ID {
				return failed("CA root %q already exists", root.ID)
			}
			if r.NotAfter > now {
				if r.Active {
					r.Active, r.ModifyIndex = false, idx
				}
				kept = append(kept, r)
			}
		}
		root.Active, root.CreateIndex, root.ModifyIndex = true, idx, idx
		ca.Roots = append(kept, root)
		ca.ActiveRootID = root.ID
	}
	ca.ModifyIndex = idx
	if err := st.putConnectCA(ca); err != nil {
		return fmt.Errorf("write the CA state: %w", err)
	}
	emit(event.Event{Type: event.ConnectCAUpdated, Shard: event.ShardCatalog, Index: idx, Key: caEventKey, ConnectCA: ca.WithoutKeys()})
	return nil
}

// ConnectCA is the Connect CA state of a catalog shard database (nil when
// it has none), for projections loaded from it: without its keys.
func (d dbSource) ConnectCA() (*event.ConnectCA, error) {
	ca, err := d.connectCAWithKeys()
	return ca.WithoutKeys(), err
}

func (d dbSource) connectCAWithKeys() (*event.ConnectCA, error) {
	var ca *event.ConnectCA
	err := scanJSON(d.r.NewIter, areaKey(areaConnectCA, caStateKey), func(c *event.ConnectCA) error {
		ca = c
		return nil
	})
	return ca, err
}

// ConnectCAWithKeys is the Connect CA state this replica has applied, its
// roots' private keys included (nil when there is no CA): what a server
// signs leaf certificates and rotations with. Nothing else reads the keys.
func (s *StateMachine) ConnectCAWithKeys() (*event.ConnectCA, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	return dbSource{s.db}.connectCAWithKeys()
}

// ConnectCA is the Connect CA state a snapshot holds, nil when none,
// without its keys.
func (m *memSource) ConnectCA() (*event.ConnectCA, error) { return m.ca.WithoutKeys(), nil }

// readSnapshotCA decodes the CA record of a snapshot stream.
func (m *memSource) readSnapshotCA(key, value []byte) error {
	if string(key) != caStateKey {
		return nil
	}
	m.ca = new(event.ConnectCA)
	return json.Unmarshal(value, m.ca)
}

// withoutCAKeys is a CA record with its roots' private keys left out, for
// ExportWithoutSecrets.
func withoutCAKeys(value []byte) ([]byte, error) {
	var ca event.ConnectCA
	if err := json.Unmarshal(value, &ca); err != nil {
		return nil, fmt.Errorf("corrupt CA record: %w", err)
	}
	return json.Marshal(ca.WithoutKeys())
}

var (
	_ event.ConnectCASource = dbSource{}
	_ event.ConnectCASource = (*memSource)(nil)
)
