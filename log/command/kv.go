package command

import "fmt"

// Verb is a key/value operation, as in Consul's KV and transaction APIs.
// ONLY ADD TO THE END: verbs are stored in the log by number.
type Verb uint8

const (
	verbInvalid Verb = iota
	KVSet
	KVCAS
	KVGet
	KVGetTree
	KVCheckIndex
	KVCheckNotExists
	KVDelete
	KVDeleteTree
	KVDeleteCAS
	KVLock
	KVUnlock
	KVCheckSession
	verbEnd // keep last
)

var verbNames = [...]string{
	KVSet:            "set",
	KVCAS:            "cas",
	KVGet:            "get",
	KVGetTree:        "get-tree",
	KVCheckIndex:     "check-index",
	KVCheckNotExists: "check-not-exists",
	KVDelete:         "delete",
	KVDeleteTree:     "delete-tree",
	KVDeleteCAS:      "delete-cas",
	KVLock:           "lock",
	KVUnlock:         "unlock",
	KVCheckSession:   "check-session",
}

// String is the verb's name in Consul's API ("set", "delete-cas", ...).
func (v Verb) String() string {
	if v > verbInvalid && v < verbEnd {
		return verbNames[v]
	}
	return fmt.Sprintf("verb-%d", uint8(v))
}

// ParseVerb maps Consul's verb name to a Verb.
func ParseVerb(s string) (Verb, bool) {
	for v := verbInvalid + 1; v < verbEnd; v++ {
		if verbNames[v] == s {
			return v, true
		}
	}
	return verbInvalid, false
}

// IsWrite reports whether the verb changes state, that is whether a
// transaction holding it must go through the log.
func (v Verb) IsWrite() bool {
	switch v {
	case KVGet, KVGetTree, KVCheckIndex, KVCheckNotExists, KVCheckSession:
		return false
	}
	return true
}

// InvalidSession is the refusal of an operation naming a session that does
// not exist, in Consul's words. The KV endpoint answers it with a 500 rather
// than false, as Consul does.
func InvalidSession(id string) string { return fmt.Sprintf("invalid session %q", id) }

// KVOp is one key/value operation. Index is the CAS or check index; Session
// the session ID for lock verbs and check-session.
type KVOp struct {
	Verb    Verb
	Key     string
	Value   []byte
	Flags   uint64
	Index   uint64
	Session string
}

func (op *KVOp) encode(e *encoder) {
	e.uvarint(uint64(op.Verb))
	e.string(op.Key)
	e.bytes(op.Value)
	e.uvarint(op.Flags)
	e.uvarint(op.Index)
	e.string(op.Session)
}

func (op *KVOp) decode(d *decoder) error {
	v := d.uvarint()
	op.Key = d.string()
	op.Value = d.bytes()
	op.Flags = d.uvarint()
	op.Index = d.uvarint()
	op.Session = d.string()
	if d.err != nil {
		return d.err
	}
	if v == uint64(verbInvalid) || v >= uint64(verbEnd) {
		return fmt.Errorf("%w: kv verb %d", ErrInvalidCommand, v)
	}
	op.Verb = Verb(v)
	return nil
}

// KVBody is a single key/value write (TypeKV).
type KVBody struct{ Op KVOp }

func (b *KVBody) Type() Type              { return TypeKV }
func (b *KVBody) encode(e *encoder)       { b.Op.encode(e) }
func (b *KVBody) decode(d *decoder) error { return b.Op.decode(d) }

// KVTxnBody is an all-or-nothing transaction (TypeKVTxn): either every
// operation applies or none does.
type KVTxnBody struct{ Ops []KVOp }

func (b *KVTxnBody) Type() Type { return TypeKVTxn }

func (b *KVTxnBody) encode(e *encoder) {
	e.uvarint(uint64(len(b.Ops)))
	for i := range b.Ops {
		b.Ops[i].encode(e)
	}
}

func (b *KVTxnBody) decode(d *decoder) error {
	n := d.uvarint()
	if d.err != nil {
		return d.err
	}
	// Every op takes at least 6 bytes; a count beyond that is corrupt.
	if n > uint64(len(d.buf))/6 {
		return fmt.Errorf("%w: txn of %d ops in %d bytes", ErrTruncated, n, len(d.buf))
	}
	b.Ops = make([]KVOp, n)
	for i := range b.Ops {
		if err := b.Ops[i].decode(d); err != nil {
			return err
		}
	}
	return nil
}
