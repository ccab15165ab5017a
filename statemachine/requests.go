package statemachine

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/log/command"
)

// Exactly-once apply.
//
// Dragonboat's on-disk state machines get no client sessions, so a
// proposal retried after its leader died may be committed twice. Every
// command therefore names its request (command.RequestID) and carries the
// deadline of the proposer that waits for it, and apply keeps two rules:
//
//  1. A request ID is applied once. Its result is recorded in areaRequests,
//     in the same batch as the data it changed; a repeat gets that result
//     back and changes nothing.
//  2. A command applied after its deadline is refused. "After" is judged by
//     the replicated clock: the largest proposer Time among the commands
//     applied so far (including this one), never the wall clock of the
//     applying replica, so every replica decides alike.
//
// Rule 2 bounds what rule 1 must remember: a repeat of a request whose
// deadline the clock has passed is refused by rule 2 anyway, so its record
// can go. Records are keyed by deadline first, and one range deletion drops
// every expired record at once.
//
// Rule 2 is what makes an error answer final: a proposer that gave up at its
// deadline answered with an error, and no replica applies the command
// after any command proposed later than that deadline. It assumes the
// proposers' clocks differ by less than a request's timeout (seconds);
// a proposer whose clock runs far behind would see its writes refused.

// expired is the refusal of a command applied after its deadline.
const expired = "request expired before it was applied: its proposer had already answered"

// requestKey is a request's record key: deadline, then ID, so that records
// expire in key order.
func requestKey(deadline int64, id command.RequestID) []byte {
	k := make([]byte, 1+24)
	k[0] = areaRequests
	binary.BigEndian.PutUint64(k[1:], uint64(max(deadline, 0)))
	binary.BigEndian.PutUint64(k[9:], id.Proposer)
	binary.BigEndian.PutUint64(k[17:], id.Seq)
	return k
}

// encodeResult and decodeResult store a recorded result: the value
// (uvarint) then the data.
func encodeResult(r sm.Result) []byte {
	b := binary.AppendUvarint(make([]byte, 0, 1+len(r.Data)), r.Value)
	return append(b, r.Data...)
}

func decodeResult(b []byte) (sm.Result, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return sm.Result{}, errors.New("corrupt request record")
	}
	r := sm.Result{Value: v}
	if len(b) > n {
		r.Data = append([]byte(nil), b[n:]...)
	}
	return r, nil
}

// requests is the exactly-once bookkeeping of one Update batch.
type requests struct {
	batch *pebble.Batch
	clock int64 // the replicated clock after the commands seen so far
}

// admit advances the clock to cmd's Time and decides whether cmd may be
// applied. When it may not (done true), res is the answer instead: a
// refusal when cmd's deadline has passed, or the recorded result when cmd
// repeats an applied request.
func (r *requests) admit(cmd command.Command) (res sm.Result, done bool, err error) {
	r.clock = max(r.clock, cmd.Time)
	// The deadline first: a record whose deadline has passed may or may not
	// have been dropped yet, depending on how this replica's entries were
	// batched, and must not decide anything.
	if cmd.Deadline != 0 && r.clock > cmd.Deadline {
		res.Value, res.Data = command.EncodeResult(command.Refused(expired))
		return res, true, nil
	}
	if !cmd.ID.IsZero() {
		v, closer, err := r.batch.Get(requestKey(cmd.Deadline, cmd.ID))
		switch {
		case err == nil:
			res, err := decodeResult(v)
			closer.Close()
			return res, true, err
		case !errors.Is(err, pebble.ErrNotFound):
			return sm.Result{}, false, err
		}
	}
	return sm.Result{}, false, nil
}

// record remembers the result of an applied request until its deadline.
func (r *requests) record(cmd command.Command, res sm.Result) error {
	if cmd.ID.IsZero() || cmd.Deadline == 0 {
		return nil
	}
	return r.batch.Set(requestKey(cmd.Deadline, cmd.ID), encodeResult(res), nil)
}

// finish stores the clock and drops the records whose deadline it passed.
func (r *requests) finish(before int64) error {
	if r.clock == before {
		return nil
	}
	if err := r.batch.Set(keyClock, u64Bytes(uint64(r.clock)), nil); err != nil {
		return err
	}
	// Whole seconds: one range tombstone a second at most, not one per
	// batch.
	if r.clock/1e9 == before/1e9 {
		return nil
	}
	end := requestKey(r.clock, command.RequestID{})
	if err := r.batch.DeleteRange([]byte{areaRequests}, end, nil); err != nil {
		return fmt.Errorf("expire request records: %w", err)
	}
	return nil
}
