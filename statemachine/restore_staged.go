package statemachine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// areaRestoreStaging holds a chunked restore in progress (command
// restore.go): the snapshot's records arrive in several commands and wait
// here until RestoreCommit swaps them in. It is replicated state (every
// replica stages the same chunks at the same indexes), so Dragonboat's
// snapshots carry it, for a replica that joins in the middle of a restore;
// exports (/v1/snapshot, client agents) leave it out.
//
//	areaRestoreStaging 0x00                -> restore ID (uvarint length | bytes) | next chunk (8 bytes)
//	areaRestoreStaging 0x01 | area | key   -> value
const areaRestoreStaging byte = 0x23

var (
	keyStagingHeader = []byte{areaRestoreStaging, 0x00}
	stagingRecords   = []byte{areaRestoreStaging, 0x01}
)

// stagingHeader is the staged restore's name and the chunk it expects
// next; ok is false when none is staged.
func stagingHeader(r interface {
	Get([]byte) ([]byte, io.Closer, error)
}) (id string, next uint64, ok bool, err error) {
	v, c, err := r.Get(keyStagingHeader)
	if errors.Is(err, pebble.ErrNotFound) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, err
	}
	defer c.Close()
	n, w := binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) != n+8 {
		return "", 0, false, fmt.Errorf("restore staging header of %d bytes is corrupt", len(v))
	}
	return string(v[w : w+int(n)]), u64(v[w+int(n):]), true, nil
}

func stagingHeaderValue(id string, next uint64) []byte {
	v := binary.AppendUvarint(nil, uint64(len(id)))
	v = append(v, id...)
	return append(v, u64Bytes(next)...)
}

// applyRestoreBegin drops whatever is staged and stages an empty restore.
func applyRestoreBegin(batch *pebble.Batch, b *command.RestoreBeginBody) (command.Result, error) {
	if b.ID == "" {
		return command.Refused("a restore needs an ID"), nil
	}
	if err := batch.DeleteRange([]byte{areaRestoreStaging}, areaEnd(areaRestoreStaging), nil); err != nil {
		return command.Result{}, err
	}
	return command.Succeeded, batch.Set(keyStagingHeader, stagingHeaderValue(b.ID, 0), nil)
}

// applyRestoreChunk stages a chunk's records, all or none: a stream that
// does not parse is refused before anything is written.
func applyRestoreChunk(batch *pebble.Batch, b *command.RestoreChunkBody) (command.Result, error) {
	id, next, ok, err := stagingHeader(batch)
	if err != nil {
		return command.Result{}, err
	}
	if !ok || id != b.ID {
		return command.Refused(fmt.Sprintf("no restore %q is in progress", b.ID)), nil
	}
	if b.Seq != next {
		return command.Refused(fmt.Sprintf("restore %q expects chunk %d, not %d", b.ID, next, b.Seq)), nil
	}
	if err := chunkRecords(b.Records, func(byte, []byte, []byte) error { return nil }); err != nil {
		return command.Refused(err.Error()), nil
	}
	var k []byte
	err = chunkRecords(b.Records, func(area byte, key, value []byte) error {
		if !isDataArea(area) {
			// The exactly-once records and the clock belong to the
			// log the snapshot came from, as in applyRestore.
			return nil
		}
		k = append(append(append(k[:0], stagingRecords...), area), key...)
		return batch.Set(k, value, nil) // Set copies k and value
	})
	if err != nil {
		return command.Result{}, err
	}
	return command.Succeeded, batch.Set(keyStagingHeader, stagingHeaderValue(id, next+1), nil)
}

// chunkRecords calls fn for each record of a chunk: whole records of a
// snapshot stream, without header and end mark. The key and value given
// to fn are parts of records (a chunk may be 2 MB, and parsing it into
// copies was most of a restore's garbage): fn must not keep them.
func chunkRecords(records []byte, fn func(area byte, key, value []byte) error) error {
	part := func() ([]byte, error) {
		n, w := binary.Uvarint(records)
		if w <= 0 {
			return nil, errors.New("snapshot record: truncated length")
		}
		if n > maxRecordPart {
			return nil, fmt.Errorf("snapshot record of %d bytes is corrupt", n)
		}
		if uint64(len(records)-w) < n {
			return nil, fmt.Errorf("snapshot record: %w", io.ErrUnexpectedEOF)
		}
		p := records[w : w+int(n) : w+int(n)]
		records = records[w+int(n):]
		return p, nil
	}
	for len(records) > 0 {
		area := records[0]
		records = records[1:]
		if area == snapshotEnd {
			return errors.New("snapshot chunk holds an end mark before its last record")
		}
		if err := checkRecordArea(area); err != nil {
			return err
		}
		key, err := part()
		if err != nil {
			return err
		}
		value, err := part()
		if err != nil {
			return err
		}
		if err := fn(area, key, value); err != nil {
			return err
		}
	}
	return nil
}

// applyRestoreAbort drops the staged restore if it is b's.
func applyRestoreAbort(batch *pebble.Batch, b *command.RestoreAbortBody) (command.Result, error) {
	id, _, ok, err := stagingHeader(batch)
	if err != nil || !ok || id != b.ID {
		return command.Succeeded, err
	}
	return command.Succeeded, batch.DeleteRange([]byte{areaRestoreStaging}, areaEnd(areaRestoreStaging), nil)
}

// applyRestoreCommit swaps the staged restore in at Raft index raftIndex.
// Update gives it the first place of its batch (nothing uncommitted comes
// before it), because the swap is too large for one Pebble batch: the data
// areas and the history are cleared, then the staged records are written
// into sorted tables (for the data areas and their base twins) that Pebble
// ingests, straight into the database, under mu so that no export or
// lookup sees the state half swapped (swapInStaged). Only the closing
// changes go into Update's batch, with the applied index: dropping the
// staging area and moving the offset.
//
// A crash anywhere before that batch leaves the applied index before this
// entry and the staging area whole (only that batch drops it), so the
// entry is applied again after the restart, and its swap ends in the same
// state whatever part of the interrupted one survived: the clearing
// deletes whatever the data areas hold, tables of the first attempt
// included, and the tables are written afresh from the staging area (left
// over files are removed first) and ingested above the clearing (an
// ingestion takes a sequence number above every write before it). Every
// replica ingests the same records, read in key order from the same
// staging area, so the swap is as deterministic as a batch would be.
func (s *StateMachine) applyRestoreCommit(batch *pebble.Batch, raftIndex uint64, b *command.RestoreCommitBody) (command.Result, []event.Event, error) {
	id, next, ok, err := stagingHeader(batch)
	if err != nil {
		return command.Result{}, nil, err
	}
	if !ok || id != b.ID {
		return command.Refused(fmt.Sprintf("no restore %q is in progress", b.ID)), nil, nil
	}
	if next != b.Chunks {
		return command.Refused(fmt.Sprintf("restore %q holds %d chunks, not %d", b.ID, next, b.Chunks)), nil, nil
	}
	if err := s.swapInStaged(); err != nil {
		return command.Result{}, nil, err
	}
	if err := s.swapStep(swapDone); err != nil {
		return command.Result{}, nil, err
	}
	if b.Index >= s.logical(raftIndex) {
		s.offset = b.Index + 1 - raftIndex
	}
	index := s.logical(raftIndex)
	s.histFirst = index + 1
	for _, kv := range [][2][]byte{{keyHistoryFirst, u64Bytes(s.histFirst)}, {keyIndexOffset, u64Bytes(s.offset)}} {
		if err := batch.Set(kv[0], kv[1], nil); err != nil {
			return command.Result{}, nil, err
		}
	}
	if err := batch.DeleteRange([]byte{areaRestoreStaging}, areaEnd(areaRestoreStaging), nil); err != nil {
		return command.Result{}, nil, err
	}
	return command.Succeeded,
		[]event.Event{{Type: event.StateRestored, Shard: s.cfg.Shard, Index: index}}, nil
}

// The steps of a swap, after each of which a test may stop it as a crash
// would (StateMachine.swapHook).
type swapStepName int

const (
	swapCleared       swapStepName = iota // data areas, base twins and history cleared
	swapTablesWritten                     // the staged records written into tables
	swapIngested                          // the tables ingested
	swapDone                              // the swap over, before Update's closing batch
)

// swapStep lets a test stop the swap after step as a crash would: the
// error it returns makes Update fail, as Dragonboat would stop the
// replica.
func (s *StateMachine) swapStep(step swapStepName) error {
	if s.swapHook == nil {
		return nil
	}
	return s.swapHook(step)
}

// swapInStaged replaces the data areas, their base twins and the history
// with the staged records (see applyRestoreCommit).
func (s *StateMachine) swapInStaged() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.db.NewBatch()
	defer w.Close()
	if err := w.DeleteRange([]byte{areaHistory}, []byte{areaHistory + 1}, nil); err != nil {
		return err
	}
	for _, area := range dataAreas {
		if err := w.DeleteRange([]byte{area}, []byte{area + 1}, nil); err != nil {
			return err
		}
		if err := w.DeleteRange([]byte{baseOf(area)}, []byte{baseOf(area) + 1}, nil); err != nil {
			return err
		}
	}
	if err := w.Commit(pebble.NoSync); err != nil {
		return err
	}
	if err := s.swapStep(swapCleared); err != nil {
		return err
	}
	dir := filepath.Join(s.cfg.Dir, restoreTablesDir)
	if err := emptyDir(dir); err != nil {
		return err
	}
	start := time.Now()
	tables, records, err := s.writeStagedTables(dir)
	if err != nil {
		return err
	}
	if err := s.swapStep(swapTablesWritten); err != nil {
		return err
	}
	if err := s.db.Ingest(tables); err != nil {
		return fmt.Errorf("ingest the restored state: %w", err)
	}
	if err := s.swapStep(swapIngested); err != nil {
		return err
	}
	s.log.Info("restore swapped in", "records", records, "tables", len(tables), "took", time.Since(start).Round(time.Millisecond))
	// Pebble holds the tables by links of its own.
	return os.RemoveAll(dir)
}

// applyStagedRestore applies the commands of a chunked restore; handled is
// false for any other body. Only a commit has events (StateRestored).
func (s *StateMachine) applyStagedRestore(batch *pebble.Batch, raftIndex uint64, body command.Body) (handled bool, res command.Result, events []event.Event, err error) {
	switch b := body.(type) {
	case *command.RestoreBeginBody:
		res, err = applyRestoreBegin(batch, b)
	case *command.RestoreChunkBody:
		res, err = applyRestoreChunk(batch, b)
	case *command.RestoreCommitBody:
		res, events, err = s.applyRestoreCommit(batch, raftIndex, b)
	case *command.RestoreAbortBody:
		res, err = applyRestoreAbort(batch, b)
	default:
		return false, command.Result{}, nil, nil
	}
	return true, res, events, err
}

// SplitSnapshot reads a snapshot stream (as Export writes it) and hands
// its records to chunk in pieces of about chunkSize bytes, each made of
// whole records, for RestoreChunk commands; it returns the snapshot's
// logical index. Only one piece is held at a time, and chunk may keep
// none of it after it returns.
func SplitSnapshot(r io.Reader, chunkSize int, chunk func(records []byte) error) (index uint64, err error) {
	br := bufio.NewReaderSize(r, 256<<10)
	applied, offset, err := snapshotHeader(br)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 0, chunkSize+64<<10)
	var lenBuf [binary.MaxVarintLen64]byte
	err = snapshotRecords(br, func(area byte, key, value []byte) error {
		buf = append(buf, area)
		buf = append(buf, lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(key)))]...)
		buf = append(buf, key...)
		buf = append(buf, lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(value)))]...)
		buf = append(buf, value...)
		if len(buf) >= chunkSize {
			if err := chunk(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if len(buf) > 0 {
		if err := chunk(buf); err != nil {
			return 0, err
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return 0, errors.New("snapshot stream goes on after its end mark")
	}
	return applied + offset, nil
}
