package command

import "fmt"

// KV replication between datacenters (kv shard): a replicator on the
// destination's kv leader pulls the source datacenter's kv events and
// proposes each batch as one command, whose apply writes the keys and
// records the source index it reached, in the same Pebble batch.
const (
	// TypeKVReplicate applies one batch of another datacenter's KV
	// changes (KVReplicateBody). 85 to 87 are kept for KV replication.
	TypeKVReplicate Type = 84
)

// KVReplicateBody is one batch of a KV replication: the changes of the
// source datacenter's keys under Prefix, as DestinationPrefix keys here.
//
// The state machine keeps, per SourceDatacenter, Prefix and
// DestinationPrefix, the source index the replication reached. A batch
// applies only if that index is Expect (what the replicator read before it
// pulled the batch): a batch whose start is not right after the recorded
// index (one applied already, or pulled by a replicator that lost its
// leadership meanwhile) is refused whole and changes nothing. So every
// source change applies once, in order.
type KVReplicateBody struct {
	SourceDatacenter  string
	Prefix            string
	DestinationPrefix string
	// Expect is the recorded source index the batch continues from; Last
	// the one recorded once it applied (> Expect, >= every op's Index).
	Expect uint64
	Last   uint64
	Ops    []KVReplicateOp
}

// KVReplicateOp is one change of a replicated key: Key is the destination
// key (DestinationPrefix and the part of the source key after Prefix);
// Index the source index of the change.
type KVReplicateOp struct {
	Index  uint64
	Key    string
	Delete bool
	Flags  uint64
	Value  []byte
}

func (b *KVReplicateBody) Type() Type { return TypeKVReplicate }

func (b *KVReplicateBody) encode(e *encoder) {
	e.string(b.SourceDatacenter)
	e.string(b.Prefix)
	e.string(b.DestinationPrefix)
	e.uvarint(b.Expect)
	e.uvarint(b.Last)
	e.uvarint(uint64(len(b.Ops)))
	for _, op := range b.Ops {
		e.uvarint(op.Index)
		e.string(op.Key)
		e.bool(op.Delete)
		e.uvarint(op.Flags)
		e.bytes(op.Value)
	}
}

func (b *KVReplicateBody) decode(d *decoder) error {
	b.SourceDatacenter, b.Prefix, b.DestinationPrefix = d.string(), d.string(), d.string()
	b.Expect, b.Last = d.uvarint(), d.uvarint()
	// Every op takes at least 5 bytes.
	n := d.count(5)
	if n > 0 {
		b.Ops = make([]KVReplicateOp, n)
	}
	for i := range b.Ops {
		op := &b.Ops[i]
		op.Index, op.Key, op.Delete, op.Flags, op.Value = d.uvarint(), d.string(), d.bool(), d.uvarint(), d.bytes()
	}
	if d.err != nil {
		return d.err
	}
	if b.Last <= b.Expect {
		return fmt.Errorf("%w: kv replication batch ends at %d, not after %d", ErrInvalidCommand, b.Last, b.Expect)
	}
	return nil
}
