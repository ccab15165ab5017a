package command

import (
	"encoding/json"
	"fmt"

	"github.com/heraldhq/herald/event"
)

// Result values a state machine returns in the Value field of Dragonboat's
// result.
const (
	ResultFailed    uint64 = 0 // refused: a stale CAS index, an invalid session
	ResultSucceeded uint64 = 1
)

// Result is what applying a command answered. It travels as Dragonboat's
// result (a value and bytes, see EncodeResult) from the state machine to
// the proposer, and on to a client agent that forwarded the command.
type Result struct {
	// Succeeded is false when the state machine refused the command:
	// Consul's rules said no, or its deadline had passed.
	Succeeded bool
	// Refusal says why a command was refused. A transaction's refusals are
	// in Txn.Errors instead.
	Refusal string
	// Txn is a kv-txn command's answer.
	Txn *KVTxnResult
}

// Refused is the result of a command refused for the reason why.
func Refused(why string) Result { return Result{Refusal: why} }

// Succeeded is the result of a command that took effect.
var Succeeded = Result{Succeeded: true}

// KVTxnResult is what applying a KVTxnBody answers: the entries the
// operations report, or, when the transaction was rolled back, why.
type KVTxnResult struct {
	Results []*event.KVEntry `json:",omitempty"`
	Errors  []KVTxnError     `json:",omitempty"`
	// Catalog holds a catalog-txn command's answers, in op order; its
	// refusals are in Errors too.
	Catalog []CatalogTxnResult `json:",omitempty"`
	// ACL holds the record an ACL write stored (acl.go).
	ACL *ACLResult `json:",omitempty"`
}

// CatalogTxnResult is the record one catalog transaction op reports.
type CatalogTxnResult struct {
	Node    *event.Node    `json:",omitempty"`
	Service *event.Service `json:",omitempty"`
	Check   *event.Check   `json:",omitempty"`
}

// KVTxnError names the operation that made a transaction roll back.
type KVTxnError struct {
	OpIndex int
	What    string
}

// EncodeResult is r as a state machine returns it: the value, and the data
// (a transaction's answer as a JSON object, a refusal as a JSON string).
func EncodeResult(r Result) (value uint64, data []byte) {
	value = ResultFailed
	if r.Succeeded {
		value = ResultSucceeded
	}
	switch {
	case r.Txn != nil:
		data, _ = json.Marshal(r.Txn)
	case r.Refusal != "":
		data, _ = json.Marshal(r.Refusal)
	}
	return value, data
}

// DecodeResult is the one decoder of a state machine's answer.
func DecodeResult(value uint64, data []byte) (Result, error) {
	r := Result{Succeeded: value == ResultSucceeded}
	if value > ResultSucceeded {
		return r, fmt.Errorf("%w: result value %d", ErrInvalidCommand, value)
	}
	if len(data) == 0 {
		if !r.Succeeded {
			r.Refusal = "request refused"
		}
		return r, nil
	}
	var err error
	if data[0] == '{' {
		r.Txn = new(KVTxnResult)
		err = json.Unmarshal(data, r.Txn)
	} else {
		err = json.Unmarshal(data, &r.Refusal)
	}
	if err != nil {
		return r, fmt.Errorf("decode a state machine's result: %w", err)
	}
	return r, nil
}
