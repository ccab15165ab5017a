package command

import "github.com/heraldhq/herald/event"

// Result values a state machine returns for a TypeKV command, in the Value
// field of Dragonboat's result.
const (
	ResultFailed    uint64 = 0 // refused: a stale CAS index, an invalid session
	ResultSucceeded uint64 = 1
)

// KVTxnResult is what applying a KVTxnBody answers, JSON-encoded in the Data
// field of Dragonboat's result: the entries the operations report, or, when
// the transaction was rolled back, why.
type KVTxnResult struct {
	Results []*event.KVEntry `json:",omitempty"`
	Errors  []KVTxnError     `json:",omitempty"`
}

// KVTxnError names the operation that made a transaction roll back.
type KVTxnError struct {
	OpIndex int
	What    string
}
