package command

// A chunked restore (PUT /v1/snapshot) replaces a shard's state through
// several commands, so that no Raft entry and no replica needs the whole
// snapshot at once: RestoreBegin opens a staging area on every replica,
// each RestoreChunk adds whole records of the snapshot stream to it, and
// RestoreCommit swaps the staged state in (RestoreAbort drops it). Each is
// a command of the shard being restored, so every replica stages the same
// records in the same order and swaps them in at the same index.
const (
	// TypeRestoreBegin starts a staged restore (RestoreBeginBody).
	TypeRestoreBegin Type = 88
	// TypeRestoreChunk stages records of the snapshot (RestoreChunkBody).
	TypeRestoreChunk Type = 89
	// TypeRestoreCommit replaces the state with the staged one
	// (RestoreCommitBody).
	TypeRestoreCommit Type = 90
	// TypeRestoreAbort drops a staged restore (RestoreAbortBody).
	TypeRestoreAbort Type = 91
)

// RestoreBeginBody starts the staged restore named ID, dropping whatever
// an earlier one left staged: one restore of a shard at a time, the newest
// winning.
type RestoreBeginBody struct{ ID string }

// RestoreChunkBody adds Records, whole records of a snapshot stream (the
// stream that statemachine's Export writes, without its header and end
// mark), as the Seq-th chunk (from 0) of the staged restore ID. A chunk
// out of order, or of another restore than the one staged, is refused.
type RestoreChunkBody struct {
	ID      string
	Seq     uint64
	Records []byte
}

// RestoreCommitBody replaces the shard's state with the staged restore ID,
// which must hold exactly Chunks chunks. Index is the snapshot's logical
// index (its applied index plus offset): the shard's indexes continue
// after it, as with RestoreBody.
type RestoreCommitBody struct {
	ID     string
	Chunks uint64
	Index  uint64
}

// RestoreAbortBody drops the staged restore ID, if it is the one staged.
type RestoreAbortBody struct{ ID string }

func (b *RestoreBeginBody) Type() Type  { return TypeRestoreBegin }
func (b *RestoreChunkBody) Type() Type  { return TypeRestoreChunk }
func (b *RestoreCommitBody) Type() Type { return TypeRestoreCommit }
func (b *RestoreAbortBody) Type() Type  { return TypeRestoreAbort }

// Redacted is the chunk without its records, which may hold secrets (see
// Redactor).
func (b *RestoreChunkBody) Redacted() Body {
	return &RestoreChunkBody{ID: b.ID, Seq: b.Seq, Records: []byte(RedactedText)}
}

func (b *RestoreBeginBody) encode(e *encoder) { e.string(b.ID) }
func (b *RestoreBeginBody) decode(d *decoder) error {
	b.ID = d.string()
	return d.err
}

func (b *RestoreChunkBody) encode(e *encoder) {
	e.string(b.ID)
	e.uvarint(b.Seq)
	e.bytes(b.Records)
}
func (b *RestoreChunkBody) decode(d *decoder) error {
	b.ID, b.Seq, b.Records = d.string(), d.uvarint(), d.bytes()
	return d.err
}

func (b *RestoreCommitBody) encode(e *encoder) {
	e.string(b.ID)
	e.uvarint(b.Chunks)
	e.uvarint(b.Index)
}
func (b *RestoreCommitBody) decode(d *decoder) error {
	b.ID, b.Chunks, b.Index = d.string(), d.uvarint(), d.uvarint()
	return d.err
}

func (b *RestoreAbortBody) encode(e *encoder) { e.string(b.ID) }
func (b *RestoreAbortBody) decode(d *decoder) error {
	b.ID = d.string()
	return d.err
}
