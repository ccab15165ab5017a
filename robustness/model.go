package robustness

import (
	"fmt"
	"strings"

	"github.com/anishathalye/porcupine"
)

// Keys name what they hold: registers are written with put, CAS and
// delete; locks with acquire and release.
const (
	registerPrefix = "robustness/reg/"
	lockPrefix     = "robustness/lock/"
)

func isLock(key string) bool { return strings.HasPrefix(key, lockPrefix) }

// model is the sequential specification of Herald's KV store that
// histories are checked against, one key at a time (porcupine partitions
// the history by key, so each check is small). A key's state is a string:
// for a register its value ("" when absent: clients never write an empty
// value), for a lock the session holding it ("" when free). An
// operation's Input is its *Op, outcome included; Output is unused.
//
// A CAS names the index its client read; the model names the value read
// with that index instead. Values are unique, so while each write is
// applied once the two say the same; a write applied twice makes them
// differ, which is a bug the check should report anyway.
var model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(*Op).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, _ any) (bool, any) {
		return step(state.(string), input.(*Op))
	},
	DescribeOperation: func(input, _ any) string { return input.(*Op).String() },
	DescribeState: func(state any) string {
		if state.(string) == "" {
			return "(none)"
		}
		return state.(string)
	},
}

// step applies op to a key in state s: whether op's outcome is possible
// there, and the state after it.
func step(s string, op *Op) (bool, string) {
	unknown := op.Outcome == Unknown
	switch op.Kind {
	case Get:
		if !op.Found {
			return s == "", s
		}
		return s == op.Got, s
	case Put:
		return true, op.Value
	case Delete:
		return true, ""
	case CAS:
		match := s == op.Expect
		switch {
		case unknown && match, op.Result && match:
			return true, op.Value
		case unknown, !op.Result:
			return !match || unknown, s
		}
		return false, s
	case Acquire:
		free := s == "" || s == op.Value
		switch {
		case unknown && free, op.Result && free:
			return true, op.Value
		case unknown, !op.Result:
			return !free || unknown, s
		}
		return false, s
	case Release:
		held := s == op.Value
		switch {
		case unknown && held, op.Result && held:
			return true, ""
		case unknown, !op.Result:
			return !held || unknown, s
		}
		return false, s
	}
	panic(fmt.Sprintf("unknown kind %d", op.Kind))
}
