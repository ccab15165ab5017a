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
)

// A snapshot is the replicated areas of the database as a stream:
//
//	header:  "HERALDSS" | format version (1 byte) | applied index (8 bytes, big-endian)
//	records: area (1 byte) | key length (uvarint) | key | value length (uvarint) | value
//	end:     0xff
//
// The history, the outbox and per-replica bookkeeping are local and not
// included: a replica that recovers from a snapshot starts its history at the
// snapshot's index, with the snapshot's data as the base image.
var snapshotMagic = []byte("HERALDSS")

const (
	snapshotFormat byte = 1
	snapshotEnd    byte = 0xff
	// recoverChunk bounds the Pebble batch a recovery builds before it
	// commits, so a large snapshot never needs its size again in memory.
	recoverChunk = 4 << 20
)

type snapshotState struct {
	snap    *pebble.Snapshot
	applied uint64
}

// PrepareSnapshot pins the current state; SaveSnapshot streams it while
// Update goes on.
func (s *StateMachine) PrepareSnapshot() (interface{}, error) {
	return &snapshotState{snap: s.db.NewSnapshot(), applied: s.applied.Load()}, nil
}

// SaveSnapshot writes the pinned state to w.
func (s *StateMachine) SaveSnapshot(ctx interface{}, w io.Writer, done <-chan struct{}) error {
	st := ctx.(*snapshotState)
	defer st.snap.Close()
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.Write(snapshotMagic)
	bw.WriteByte(snapshotFormat)
	bw.Write(u64Bytes(st.applied))
	var lenBuf [binary.MaxVarintLen64]byte
	for _, area := range dataAreas {
		it := st.snap.NewIter(&pebble.IterOptions{LowerBound: []byte{area}, UpperBound: areaEnd(area)})
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			if n++; n%1024 == 0 {
				select {
				case <-done:
					it.Close()
					return sm.ErrSnapshotStopped
				default:
				}
			}
			bw.WriteByte(area)
			k := it.Key()[1:]
			bw.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(k)))])
			bw.Write(k)
			bw.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(it.Value())))])
			if _, err := bw.Write(it.Value()); err != nil {
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

// RecoverFromSnapshot replaces the whole state with the snapshot's.
func (s *StateMachine) RecoverFromSnapshot(r io.Reader, done <-chan struct{}) error {
	br := bufio.NewReaderSize(r, 256<<10)
	header := make([]byte, len(snapshotMagic)+1+8)
	if _, err := io.ReadFull(br, header); err != nil {
		return fmt.Errorf("snapshot header: %w", err)
	}
	if !bytes.Equal(header[:len(snapshotMagic)], snapshotMagic) || header[len(snapshotMagic)] != snapshotFormat {
		return errors.New("not a Herald snapshot of a known format")
	}
	applied := u64(header[len(snapshotMagic)+1:])

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
	for {
		area, err := br.ReadByte()
		if err != nil {
			return fmt.Errorf("snapshot record: %w", err)
		}
		if area == snapshotEnd {
			break
		}
		key, err := readChunk(br)
		if err != nil {
			return err
		}
		value, err := readChunk(br)
		if err != nil {
			return err
		}
		if area&baseFlag != 0 || area < areaKV {
			return fmt.Errorf("snapshot record in area %#x, which snapshots never carry", area)
		}
		batch.Set(append([]byte{area}, key...), value, nil)
		batch.Set(append([]byte{baseOf(area)}, key...), value, nil)
		if batch.Len() > recoverChunk {
			select {
			case <-done:
				return sm.ErrSnapshotStopped
			default:
			}
			if err := commit(false); err != nil {
				return err
			}
		}
	}
	s.histFirst = applied + 1
	batch.Set(keyHistoryFirst, u64Bytes(s.histFirst), nil)
	// The applied index comes back only with the final, synced commit: a
	// crash midway leaves none, and Dragonboat recovers from the snapshot
	// again.
	batch.Set(keyApplied, u64Bytes(applied), nil)
	if err := commit(true); err != nil {
		return err
	}
	batch.Close()
	s.applied.Store(applied)
	s.outboxTrimmed.Store(applied)
	s.tail.reset(applied + 1)
	if err := s.cfg.Sink.Load(applied, dbSource{s.db}); err != nil {
		return fmt.Errorf("reload projections: %w", err)
	}
	return nil
}

func readChunk(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, fmt.Errorf("snapshot record: %w", err)
	}
	if n > 64<<20 {
		return nil, fmt.Errorf("snapshot record of %d bytes is corrupt", n)
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}
