package command

import (
	"fmt"

	"github.com/heraldhq/herald/event"
)

// TypeCatalogTxn is an all-or-nothing list of Node, Service and Check
// operations of Consul's /v1/txn (CatalogTxnBody), applied in the catalog
// shard as one command.
const TypeCatalogTxn Type = 48

// CatalogOpKind says which record a catalog transaction op is about.
// ONLY ADD TO THE END: kinds are stored in the log by number.
type CatalogOpKind uint8

const (
	catalogOpInvalid CatalogOpKind = iota
	CatalogOpNode
	CatalogOpService
	CatalogOpCheck
	catalogOpEnd // keep last
)

// String names the kind as Consul's TxnOp field does.
func (k CatalogOpKind) String() string {
	switch k {
	case CatalogOpNode:
		return "Node"
	case CatalogOpService:
		return "Service"
	case CatalogOpCheck:
		return "Check"
	}
	return fmt.Sprintf("kind-%d", uint8(k))
}

// CatalogVerbs are the verbs of Node, Service and Check operations, as
// Consul's API spells them.
var CatalogVerbs = []string{"set", "cas", "get", "delete", "delete-cas"}

// CatalogOp is one Node, Service or Check operation. Node is the node the
// op is about (for a Service op only its name is used); Service and Check
// are the records of Service and Check ops. Index is the ModifyIndex that
// cas and delete-cas compare with (0 for cas: only if absent).
type CatalogOp struct {
	Kind    CatalogOpKind
	Verb    string
	Node    event.Node
	Service *event.Service
	Check   *event.Check
	Index   uint64
}

// CatalogTxnBody is a catalog transaction (TypeCatalogTxn).
type CatalogTxnBody struct {
	Ops []CatalogOp
}

func (b *CatalogTxnBody) Type() Type { return TypeCatalogTxn }

func (b *CatalogTxnBody) encode(e *encoder) {
	e.uvarint(uint64(len(b.Ops)))
	for i := range b.Ops {
		op := &b.Ops[i]
		e.uvarint(uint64(op.Kind))
		e.string(op.Verb)
		encodeNode(e, &op.Node)
		e.bool(op.Service != nil)
		if op.Service != nil {
			encodeService(e, op.Service)
		}
		e.bool(op.Check != nil)
		if op.Check != nil {
			encodeCheck(e, op.Check)
		}
		e.uvarint(op.Index)
	}
	encodeTxnExtension(e, b)
}

// txnExtension1 is the layout of the service fields added after the first
// release of catalog transactions (SocketPath, Ports, Locality and the
// mesh blocks), written after the ops only when one of their services has
// one, so that older commands keep their bytes: for each op with a
// service, in order, whether it has mesh fields, then its extension fields.
const txnExtension1 = 1

func encodeTxnExtension(e *encoder, b *CatalogTxnBody) {
	needed := false
	for _, op := range b.Ops {
		if s := op.Service; s != nil && (hasServiceExtension1(s) || hasMeshFields(s)) {
			needed = true
		}
	}
	if !needed {
		return
	}
	e.uvarint(txnExtension1)
	for _, op := range b.Ops {
		if s := op.Service; s != nil {
			mesh := hasMeshFields(s)
			e.bool(mesh)
			encodeServiceExtension(e, s, mesh)
		}
	}
}

func decodeTxnExtension(d *decoder, b *CatalogTxnBody) {
	if len(d.buf) == 0 || d.err != nil {
		return
	}
	if v := d.uvarint(); v != txnExtension1 {
		d.fail(fmt.Errorf("%w: catalog txn extension %d", ErrInvalidCommand, v))
		return
	}
	for _, op := range b.Ops {
		if s := op.Service; s != nil && d.err == nil {
			decodeServiceExtension(d, s, d.bool())
		}
	}
}

func (b *CatalogTxnBody) decode(d *decoder) error {
	n := d.count(8)
	if n > 0 {
		b.Ops = make([]CatalogOp, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		op := &b.Ops[i]
		kind := d.uvarint()
		if d.err == nil && (kind == uint64(catalogOpInvalid) || kind >= uint64(catalogOpEnd)) {
			d.fail(fmt.Errorf("%w: catalog op kind %d", ErrInvalidCommand, kind))
			break
		}
		op.Kind = CatalogOpKind(kind)
		op.Verb = d.string()
		decodeNode(d, &op.Node)
		if d.bool() {
			op.Service = new(event.Service)
			decodeService(d, op.Service)
		}
		if d.bool() {
			op.Check = new(event.Check)
			decodeCheck(d, op.Check)
		}
		op.Index = d.uvarint()
	}
	decodeTxnExtension(d, b)
	return d.err
}
