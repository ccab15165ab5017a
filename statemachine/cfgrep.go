package statemachine

import (
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// Config entry replication on a secondary datacenter (catalog shard): the
// leader of its catalog shard proposes a round of the primary's config
// entries as one command, which writes them by the rules of a plain write
// (so with the same events: projections, DNS and the event stream see
// them as any other write) and records the primary's index the round was
// read at, in the same Pebble batch. A new leader resumes from that record.
const areaConfigReplication byte = 0x24 // keyConfigReplicationStatus -> JSON command.ConfigReplicationStatus

const keyConfigReplicationStatus = "status"

// applyConfigReplicate applies a round whose source index is newer than
// the recorded one (or a Resync), and records it; a round that is not
// newer changes nothing (a round a former leader applied already). A body
// with Error records the failure alone.
func applyConfigReplicate(st configEntryStore, idx uint64, now int64, b *command.ConfigReplicateBody, emit func(event.Event)) error {
	key := areaKey(st.replication, keyConfigReplicationStatus)
	status, err := getJSON[command.ConfigReplicationStatus](st.batch, key)
	if err != nil {
		return err
	}
	if status == nil {
		status = &command.ConfigReplicationStatus{}
	}
	if status.SourceDatacenter != b.SourceDatacenter {
		// Another primary: its indexes have nothing to do with the
		// recorded ones.
		*status = command.ConfigReplicationStatus{SourceDatacenter: b.SourceDatacenter,
			LastError: status.LastError, LastErrorMessage: status.LastErrorMessage}
	}
	if b.Error != "" {
		status.LastError, status.LastErrorMessage = now, b.Error
		return putJSON(st.batch, key, status)
	}
	if b.SourceIndex <= status.SourceIndex && !b.Resync {
		return nil
	}
	// Checked whole before anything is written: a refusal changes nothing.
	for _, e := range b.Upserts {
		if e.Kind == "" || e.Name == "" {
			return failed("config entry replication from %s: an entry needs a kind and a name", b.SourceDatacenter)
		}
	}
	for i := range b.Upserts {
		if err := applyConfigEntrySet(st, idx, &command.ConfigEntrySetBody{Entry: b.Upserts[i]}, emit); err != nil {
			return err
		}
	}
	for _, d := range b.Deletes {
		if err := applyConfigEntryDelete(st, idx, &command.ConfigEntryDeleteBody{Kind: d.Kind, Name: d.Name}, emit); err != nil {
			return err
		}
	}
	status.SourceIndex, status.Index, status.LastSuccess = b.SourceIndex, idx, now
	return putJSON(st.batch, key, status)
}

// ConfigReplicationStatus is the config entry replication status as this
// replica of the catalog shard has applied it; the zero status when no
// round was recorded.
func (s *StateMachine) ConfigReplicationStatus() (command.ConfigReplicationStatus, error) {
	st, err := readRecord[command.ConfigReplicationStatus](s, areaKey(areaConfigReplication, keyConfigReplicationStatus))
	if st == nil {
		return command.ConfigReplicationStatus{}, err
	}
	return *st, err
}
