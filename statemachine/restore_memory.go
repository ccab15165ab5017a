package statemachine

import (
	"runtime/debug"
	"sync"
)

// restoreGCPercent is the garbage collector's headroom (GOGC) while the
// projections are built again after a restore. The old projections serve
// reads until the new ones are whole, so for that time the live heap holds
// both; with Go's default headroom (100: the heap may grow to twice what
// is live) the heap's goal, and the memory the process keeps afterwards,
// grew by twice the new projections. A smaller headroom costs a few more
// collections, once per restore.
const restoreGCPercent = 25

// restoreGC counts the shards building their projections again: each
// shard applies on its own goroutine, and the setting is the process's.
var restoreGC struct {
	sync.Mutex
	active  int
	percent int // the setting before the first of them
}

// lowGCHeadroom sets restoreGCPercent until release is called, unless the
// process runs with a smaller headroom or none (GOGC=off, which a memory
// limit then governs).
func lowGCHeadroom() (release func()) {
	restoreGC.Lock()
	defer restoreGC.Unlock()
	if restoreGC.active == 0 {
		restoreGC.percent = debug.SetGCPercent(restoreGCPercent)
		if restoreGC.percent < restoreGCPercent { // smaller already, or off (-1)
			debug.SetGCPercent(restoreGC.percent)
		}
	}
	restoreGC.active++
	var once sync.Once
	return func() {
		once.Do(func() {
			restoreGC.Lock()
			defer restoreGC.Unlock()
			restoreGC.active--
			if restoreGC.active == 0 {
				debug.SetGCPercent(restoreGC.percent)
			}
		})
	}
}

// reloadAfterRestore builds the projections again from the restored state,
// with a small GC headroom (restoreGCPercent), and then gives the memory
// the old projections held back to the system: a restore is rare, and
// without this the process kept its peak size.
func (s *StateMachine) reloadAfterRestore(index uint64) error {
	release := lowGCHeadroom()
	err := s.cfg.Sink.Load(index, dbSource{s.db})
	release()
	debug.FreeOSMemory()
	return err
}
