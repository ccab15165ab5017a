package statemachine

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// A snapshot is the replicated areas of the database as a stream:
//
//	header:  "HERALDSS" | format version (1 byte) | applied Raft index (8 bytes)
//	         | index offset (8 bytes)          (integers big-endian)
//	records: area (1 byte) | key length (uvarint) | key | value length (uvarint) | value
//	end:     0xff
//
// The same stream serves Dragonboat (a new or lagging replica) and
// /v1/snapshot (Export, and a restore command carrying it); its logical
// index is applied + offset.
//
// The history, the outbox and per-replica bookkeeping are local and not
// included: a replica that recovers from a snapshot starts its history at the
// snapshot's index, with the snapshot's data as the base image.
var snapshotMagic = []byte("HERALDSS")

const (
	snapshotFormat byte = 2
	snapshotEnd    byte = 0xff
	// recoverChunk bounds the Pebble batch a recovery builds before it
	// commits, so a large snapshot never needs its size again in memory.
	recoverChunk = 4 << 20
)

type snapshotState struct {
	snap *pebble.Snapshot
	// withoutSecrets leaves the tokens' SecretIDs and the CA's private
	// keys out (ExportWithoutSecrets).
	withoutSecrets bool
	// export is a snapshot for /v1/snapshot or a client agent, which
	// leaves a restore in progress out (areaRestoreStaging).
	export bool
}

// PrepareSnapshot pins the current state; SaveSnapshot streams it while
// Update goes on.
func (s *StateMachine) PrepareSnapshot() (interface{}, error) {
	return &snapshotState{snap: s.db.NewSnapshot()}, nil
}

// Export writes a consistent snapshot of the shard to w, as SaveSnapshot
// does, while Update goes on, and returns its logical index.
func (s *StateMachine) Export(w io.Writer) (uint64, error) { return s.export(w, false) }

// ExportWithoutSecrets is Export with every ACL token's SecretID left out
// (its SecretHash stays), and the Connect CA's private keys: what a client
// agent, which resolves tokens by their hashes and has a server sign its
// certificates, loads its projections from.
func (s *StateMachine) ExportWithoutSecrets(w io.Writer) (uint64, error) { return s.export(w, true) }

func (s *StateMachine) export(w io.Writer, withoutSecrets bool) (uint64, error) {
	s.mu.RLock()
	closing := s.closing
	select {
	case <-closing:
		s.mu.RUnlock()
		return 0, ErrClosed
	default:
	}
	if s.db == nil {
		s.mu.RUnlock()
		return 0, ErrClosed
	}
	s.exports.Add(1)
	defer s.exports.Done()
	st := &snapshotState{snap: s.db.NewSnapshot(), withoutSecrets: withoutSecrets, export: true}
	s.mu.RUnlock()
	applied, _ := readU64(st.snap, keyApplied)
	offset, _ := readU64(st.snap, keyIndexOffset)
	err := s.SaveSnapshot(st, w, closing)
	if errors.Is(err, sm.ErrSnapshotStopped) {
		err = ErrClosed
	}
	return applied + offset, err
}

// SaveSnapshot writes the pinned state to w. The applied index and offset
// are read from the pinned state itself, so they match the data exactly.
func (s *StateMachine) SaveSnapshot(ctx interface{}, w io.Writer, done <-chan struct{}) error {
	st := ctx.(*snapshotState)
	defer st.snap.Close()
	applied, err := readU64(st.snap, keyApplied)
	if err != nil {
		return err
	}
	offset, err := readU64(st.snap, keyIndexOffset)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.Write(snapshotMagic)
	bw.WriteByte(snapshotFormat)
	bw.Write(u64Bytes(applied))
	bw.Write(u64Bytes(offset))
	var lenBuf [binary.MaxVarintLen64]byte
	areas := snapshotAreas
	if !st.export {
		areas = append(areas[:len(areas):len(areas)], areaRestoreStaging)
	}
	for _, area := range areas {
		it := st.snap.NewIter(&pebble.IterOptions{LowerBound: []byte{area}, UpperBound: areaEnd(area)})
		for ok := it.First(); ok; ok = it.Next() {
			// Every record: one may be large, and a stop (Close of the
			// state machine) waits for this.
			select {
			case <-done:
				it.Close()
				return sm.ErrSnapshotStopped
			default:
			}
			bw.WriteByte(area)
			k := it.Key()[1:]
			bw.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(k)))])
			bw.Write(k)
			value := it.Value()
			if st.withoutSecrets && (area == areaACLTokens || area == areaConnectCA) {
				strip := withoutSecret
				if area == areaConnectCA {
					strip = withoutCAKeys
				}
				var err error
				if value, err = strip(value); err != nil {
					it.Close()
					return err
				}
			}
			bw.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(value)))])
			if _, err := bw.Write(value); err != nil {
				it.Close()
				return err
			}
		}
		if err := it.Close(); err != nil {
			return err
		}
	}
	bw.WriteByte(snapshotEnd)
	return bw.Flush()
}

// snapshotHeader reads a stream's header.
func snapshotHeader(r io.Reader) (applied, offset uint64, err error) {
	header := make([]byte, len(snapshotMagic)+1+16)
	if _, err := io.ReadFull(r, header); err != nil {
		return 0, 0, fmt.Errorf("snapshot header: %w", err)
	}
	if !bytes.Equal(header[:len(snapshotMagic)], snapshotMagic) || header[len(snapshotMagic)] != snapshotFormat {
		return 0, 0, errors.New("not a Herald snapshot of a known format")
	}
	n := len(snapshotMagic) + 1
	return u64(header[n : n+8]), u64(header[n+8 : n+16]), nil
}

// snapshotRecords calls fn for each record of a stream after its header.
func snapshotRecords(r *bufio.Reader, fn func(area byte, key, value []byte) error) error {
	for {
		area, err := r.ReadByte()
		if err != nil {
			return fmt.Errorf("snapshot record: %w", err)
		}
		if area == snapshotEnd {
			return nil
		}
		if err := checkRecordArea(area); err != nil {
			return err
		}
		key, err := readChunk(r)
		if err != nil {
			return err
		}
		value, err := readChunk(r)
		if err != nil {
			return err
		}
		if err := fn(area, key, value); err != nil {
			return err
		}
	}
}

// RecoverFromSnapshot replaces the whole state with the snapshot's.
func (s *StateMachine) RecoverFromSnapshot(r io.Reader, done <-chan struct{}) error {
	br := bufio.NewReaderSize(r, 256<<10)
	applied, offset, err := snapshotHeader(br)
	if err != nil {
		return err
	}

	// Everything but the local bookkeeping goes: data, base image, history
	// and outbox all describe the state being replaced.
	batch := s.db.NewBatch()
	if err := batch.DeleteRange([]byte{areaMeta}, []byte{areaLocal}, nil); err != nil {
		return err
	}
	if err := batch.DeleteRange([]byte{areaKV}, []byte{0xff}, nil); err != nil {
		return err
	}
	commit := func(final bool) error {
		if batch.Empty() && !final {
			return nil
		}
		opt := pebble.NoSync
		if final {
			opt = pebble.Sync
		}
		if err := batch.Commit(opt); err != nil {
			return err
		}
		batch.Close()
		batch = s.db.NewBatch()
		return nil
	}
	err = snapshotRecords(br, func(area byte, key, value []byte) error {
		batch.Set(append([]byte{area}, key...), value, nil)
		if isDataArea(area) {
			batch.Set(append([]byte{baseOf(area)}, key...), value, nil)
		}
		if batch.Len() > recoverChunk {
			select {
			case <-done:
				return sm.ErrSnapshotStopped
			default:
			}
			return commit(false)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.offset = offset
	s.histFirst = s.logical(applied) + 1
	batch.Set(keyHistoryFirst, u64Bytes(s.histFirst), nil)
	batch.Set(keyIndexOffset, u64Bytes(offset), nil)
	// The applied index comes back only with the final, synced commit: a
	// crash midway leaves none, and Dragonboat recovers from the snapshot
	// again.
	batch.Set(keyApplied, u64Bytes(applied), nil)
	if err := commit(true); err != nil {
		return err
	}
	batch.Close()
	clock, err := readU64(s.db, keyClock)
	if err != nil {
		return err
	}
	s.clock = int64(clock)
	s.storeApplied(applied)
	s.outboxTrimmed.Store(s.logical(applied))
	s.tail.reset(s.logical(applied) + 1)
	if err := s.cfg.Sink.Load(s.logical(applied), dbSource{s.db}); err != nil {
		return fmt.Errorf("reload projections: %w", err)
	}
	return nil
}

// applyRestore applies a restore command at Raft index raftIndex: the
// snapshot's data replaces the state, and the offset moves so that this
// entry's logical index follows the snapshot's. The history starts afresh
// from the restored state, which becomes its base image.
func (s *StateMachine) applyRestore(batch *pebble.Batch, raftIndex uint64, b *command.RestoreBody) (command.Result, []event.Event, error) {
	br := bufio.NewReader(bytes.NewReader(b.Data))
	applied, offset, err := snapshotHeader(br)
	if err != nil {
		return command.Refused(err.Error()), nil, nil
	}
	// Check the whole stream before touching anything.
	if err := snapshotRecords(br, func(byte, []byte, []byte) error { return nil }); err != nil {
		return command.Refused(err.Error()), nil, nil
	}
	if snapIndex := applied + offset; snapIndex >= s.logical(raftIndex) {
		s.offset = snapIndex + 1 - raftIndex
	}
	// The data and its history go; this log's exactly-once bookkeeping
	// stays (the restore is itself a command of this log, and the
	// snapshot's records belong to the log it came from).
	ranges := [][2][]byte{{{areaHistory}, {areaHistory + 1}}}
	for _, area := range dataAreas {
		ranges = append(ranges, [2][]byte{{area}, {area + 1}}, [2][]byte{{baseOf(area)}, {baseOf(area) + 1}})
	}
	for _, r := range ranges {
		if err := batch.DeleteRange(r[0], r[1], nil); err != nil {
			return command.Result{}, nil, err
		}
	}
	br = bufio.NewReader(bytes.NewReader(b.Data))
	snapshotHeader(br)
	err = snapshotRecords(br, func(area byte, key, value []byte) error {
		if !isDataArea(area) {
			return nil
		}
		if err := batch.Set(append([]byte{area}, key...), value, nil); err != nil {
			return err
		}
		return batch.Set(append([]byte{baseOf(area)}, key...), value, nil)
	})
	if err != nil {
		return command.Result{}, nil, err
	}
	index := s.logical(raftIndex)
	s.histFirst = index + 1
	if err := batch.Set(keyHistoryFirst, u64Bytes(s.histFirst), nil); err != nil {
		return command.Result{}, nil, err
	}
	if err := batch.Set(keyIndexOffset, u64Bytes(s.offset), nil); err != nil {
		return command.Result{}, nil, err
	}
	return command.Succeeded,
		[]event.Event{{Type: event.StateRestored, Shard: s.cfg.Shard, Index: index}}, nil
}

// checkRecordArea refuses a record in an area that snapshots never carry.
func checkRecordArea(area byte) error {
	if area&baseFlag != 0 || area < areaKV {
		return fmt.Errorf("snapshot record in area %#x, which snapshots never carry", area)
	}
	return nil
}

// maxRecordPart bounds a record's key or value: a longer one is corrupt.
const maxRecordPart = 64 << 20

func readChunk(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, fmt.Errorf("snapshot record: %w", err)
	}
	if n > maxRecordPart {
		return nil, fmt.Errorf("snapshot record of %d bytes is corrupt", n)
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}
