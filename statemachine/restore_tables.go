package statemachine

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/sstable"
	"github.com/cockroachdb/pebble/vfs"
)

// restoreTablesDir is where a restore commit writes the sorted tables it
// then ingests, a directory inside the database's own (so that Pebble can
// hard-link the tables instead of copying them; Pebble ignores the
// directory, whose name is none of its files'). It holds nothing between
// restores: a swap empties it before and after.
const restoreTablesDir = "restore-tables"

// maxRestoreTable bounds one ingested table, so that compactions after a
// large restore work on tables of an ordinary size.
const maxRestoreTable = 64 << 20

// tableSeq writes keys given in increasing order into numbered tables of
// at most about maxRestoreTable bytes: name-000.sst, name-001.sst, ...
// Tables of one sequence never overlap, since their keys increase.
type tableSeq struct {
	dir, name string
	opts      sstable.WriterOptions
	w         *sstable.Writer
	paths     []string
}

func (t *tableSeq) set(key, value []byte) error {
	if t.w == nil {
		path := filepath.Join(t.dir, fmt.Sprintf("%s-%03d.sst", t.name, len(t.paths)))
		f, err := vfs.Default.Create(path)
		if err != nil {
			return err
		}
		t.w = sstable.NewWriter(f, t.opts)
		t.paths = append(t.paths, path)
	}
	if err := t.w.Set(key, value); err != nil {
		return err
	}
	if t.w.EstimatedSize() >= maxRestoreTable {
		return t.finish()
	}
	return nil
}

// finish closes (and syncs) the table being written, if any.
func (t *tableSeq) finish() error {
	if t.w == nil {
		return nil
	}
	err := t.w.Close()
	t.w = nil
	return err
}

// writeStagedTables writes the staged records (areaRestoreStaging) into
// sorted tables under dir: one sequence for the data areas, one for their
// base twins (all base areas sort after all data areas, so the two never
// overlap). It returns the tables' paths, for Ingest, and the number of
// records. Memory holds a block at a time, whatever the number of records.
func (s *StateMachine) writeStagedTables(dir string) (paths []string, records int, err error) {
	opts := pebbleOptions().EnsureDefaults().MakeWriterOptions(0, s.db.FormatMajorVersion().MaxTableFormat())
	data := &tableSeq{dir: dir, name: "data", opts: opts}
	base := &tableSeq{dir: dir, name: "base", opts: opts}
	defer data.finish()
	defer base.finish()
	it := s.db.NewIter(&pebble.IterOptions{LowerBound: stagingRecords, UpperBound: prefixEnd(stagingRecords)})
	defer it.Close()
	var baseKey []byte
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()[len(stagingRecords):] // area | key
		if len(k) == 0 {
			continue
		}
		if err := data.set(k, it.Value()); err != nil {
			return nil, 0, err
		}
		baseKey = append(append(baseKey[:0], baseOf(k[0])), k[1:]...)
		if err := base.set(baseKey, it.Value()); err != nil {
			return nil, 0, err
		}
		records++
	}
	if err := it.Error(); err != nil {
		return nil, 0, err
	}
	if err := data.finish(); err != nil {
		return nil, 0, err
	}
	if err := base.finish(); err != nil {
		return nil, 0, err
	}
	return append(data.paths, base.paths...), records, nil
}

// emptyDir removes dir and whatever it holds, and makes it again.
func emptyDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o755)
}
