package command

import (
	"reflect"
	"testing"

	"github.com/heraldhq/herald/event"
)

func TestResultRoundTrip(t *testing.T) {
	for _, r := range []Result{
		Succeeded,
		Refused("CAS index 3 is stale"),
		{Succeeded: true, Txn: &KVTxnResult{Results: []*event.KVEntry{{Key: "k", Value: []byte("v"), ModifyIndex: 4}}}},
		{Txn: &KVTxnResult{Errors: []KVTxnError{{OpIndex: 1, What: "key is locked"}}}},
	} {
		got, err := DecodeResult(EncodeResult(r))
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("round trip of %+v: %+v, %v", r, got, err)
		}
	}
	// A refusal without a reason still says it was refused; corrupt data
	// is an error, never a silent success.
	if got, _ := DecodeResult(ResultFailed, nil); got.Succeeded || got.Refusal == "" {
		t.Errorf("a bare refusal decodes to %+v", got)
	}
	if _, err := DecodeResult(ResultFailed, []byte("{nope")); err == nil {
		t.Error("corrupt data decoded without an error")
	}
	if _, err := DecodeResult(7, nil); err == nil {
		t.Error("an unknown result value decoded without an error")
	}
}
