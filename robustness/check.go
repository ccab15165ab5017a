package robustness

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Verdict is the outcome of a linearizability check.
type Verdict struct {
	Result porcupine.CheckResult // Ok, Illegal, or Unknown (timed out)
	Stats  Stats
	// Checked is how many operations went to the checker.
	Checked int
	// Visualization is the HTML file showing the history, written when
	// the history is not linearizable.
	Visualization string
	// Explanation says, for each key whose history is not linearizable,
	// how far the checker got and which operation it could not place.
	Explanation string
	Took        time.Duration
}

// CheckLinearizable checks ops against model, giving the checker up to
// timeout; when the history is not linearizable it writes porcupine's
// visualization to dir/name.html and every operation, refused ones
// included, one a line, to dir/name.txt.
func CheckLinearizable(ops []*Op, timeout time.Duration, dir, name string) (Verdict, error) {
	kept, st := prune(ops)
	history := make([]porcupine.Operation, len(kept))
	for i, o := range kept {
		history[i] = porcupine.Operation{ClientId: o.Client, Input: o, Call: o.Call, Return: o.Return}
	}
	start := time.Now()
	res, info := porcupine.CheckOperationsVerbose(model, history, timeout)
	v := Verdict{Result: res, Stats: st, Checked: len(history), Took: time.Since(start)}
	if res != porcupine.Illegal {
		return v, nil
	}
	v.Explanation = explain(history, info)
	v.Visualization = filepath.Join(dir, name+".html")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return v, err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(summarize(ops, len(ops))), 0o644); err != nil {
		return v, err
	}
	return v, porcupine.VisualizePath(model, info, v.Visualization)
}

// Overlap is two sessions seen holding one lock at the same time.
type Overlap struct {
	Key        string
	First      *Op // the acquire that began the first hold
	Second     *Op // the acquire, or the read, that shows the second holder
	FirstUntil int64
}

func (o Overlap) String() string {
	return fmt.Sprintf("%s: held by %s from %v (%s) until at least %v, yet %s at %v–%v",
		o.Key, short(o.First.Value), dur(o.First.Return), o.First, dur(o.FirstUntil), o.Second, dur(o.Second.Call), dur(o.Second.Return))
}

func dur(ns int64) string {
	if ns == math.MaxInt64 {
		return "the end"
	}
	return time.Duration(ns).Round(time.Millisecond).String()
}

// hold is a time a session certainly held a lock: from the answer of its
// successful acquire to the call of its next release.
type hold struct {
	acquire  *Op
	from, to int64
}

// CheckLocks checks mutual exclusion directly, in the terms users think
// in (porcupine checks the same histories against the lock model, which
// is stricter): a session certainly holds a lock from the moment its
// acquire answered true until its client next calls release; no two such
// holds of one lock may overlap, and no read made entirely within a hold
// may name another session.
func CheckLocks(ops []*Op) []Overlap {
	holds := map[string][]hold{} // by key
	open := map[string]*hold{}   // by key + session
	for _, o := range ops {      // in call order
		if !isLock(o.Key) {
			continue
		}
		id := o.Key + "\x00" + o.Value
		switch o.Kind {
		case Acquire:
			if o.Outcome == OK && o.Result && open[id] == nil {
				open[id] = &hold{acquire: o, from: o.Return, to: math.MaxInt64}
			}
		case Release:
			if h := open[id]; h != nil {
				h.to = o.Call
				holds[o.Key] = append(holds[o.Key], *h)
				delete(open, id)
			}
		}
	}
	for _, h := range open {
		holds[h.acquire.Key] = append(holds[h.acquire.Key], *h)
	}
	var out []Overlap
	for key, hs := range holds {
		sort.Slice(hs, func(i, j int) bool { return hs[i].from < hs[j].from })
		for i := 1; i < len(hs); i++ {
			for j := 0; j < i; j++ {
				if hs[j].to > hs[i].from && hs[j].acquire.Value != hs[i].acquire.Value {
					out = append(out, Overlap{Key: key, First: hs[j].acquire, Second: hs[i].acquire, FirstUntil: hs[j].to})
				}
			}
		}
		for _, o := range ops {
			if o.Key != key || o.Kind != Get || o.Outcome != OK {
				continue
			}
			for _, h := range hs {
				if o.Call >= h.from && o.Return <= h.to && o.Got != h.acquire.Value {
					out = append(out, Overlap{Key: key, First: h.acquire, Second: o, FirstUntil: h.to})
				}
			}
		}
	}
	return out
}

// summarize lists up to n operations, for a failure message.
func summarize(ops []*Op, n int) string {
	var b strings.Builder
	for i, o := range ops {
		if i == n {
			fmt.Fprintf(&b, "  ... and %d more\n", len(ops)-n)
			break
		}
		fmt.Fprintf(&b, "  %v–%v %s\n", dur(o.Call), dur(o.Return), o)
	}
	return b.String()
}

// explain describes, for each key whose history is not linearizable, the
// end of the longest order the checker found (the state it reached) and
// the operations it could not place after it, earliest answer first: the
// first of them is usually the one to look at.
func explain(history []porcupine.Operation, info porcupine.LinearizationInfo) string {
	var b strings.Builder
	partitions := model.Partition(history)
	partials := info.PartialLinearizationsOperations()
	for p, ops := range partitions {
		if p >= len(partials) {
			break
		}
		var longest []porcupine.Operation
		for _, l := range partials[p] {
			if len(l) > len(longest) {
				longest = l
			}
		}
		if len(longest) == len(ops) {
			continue
		}
		placed := map[*Op]bool{}
		state := ""
		for _, o := range longest {
			op := o.Input.(*Op)
			placed[op] = true
			_, state = step(state, op)
		}
		key := ops[0].Input.(*Op).Key
		fmt.Fprintf(&b, "%s: %d of %d operations ordered, reaching %s after:\n", key, len(longest), len(ops), model.DescribeState(state))
		var tail []*Op
		for _, o := range longest[max(0, len(longest)-4):] {
			tail = append(tail, o.Input.(*Op))
		}
		b.WriteString(summarize(tail, 4))
		var left []*Op
		for _, o := range ops {
			if op := o.Input.(*Op); !placed[op] {
				left = append(left, op)
			}
		}
		sort.Slice(left, func(i, j int) bool { return left[i].Return < left[j].Return })
		b.WriteString("  and could not place next:\n")
		b.WriteString(summarize(left, 4))
	}
	return b.String()
}
