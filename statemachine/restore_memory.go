package statemachine

import (
	"runtime/debug"
	"sync"
	"time"
)

// restoreGCPercent is the garbage collector's headroom (GOGC) during a
// restore. Staging a chunk makes garbage of several times its size (the
// command, Raft's copies, the batch) and the old projections serve reads
// until the new ones are whole, so for that time the live heap holds
// both; with Go's default headroom (100: the heap may grow to twice what
// is live) the heap grew to twice the live state during a restore, and the
// process kept that size afterwards. A smaller headroom costs more
// collections, during a restore only.
const restoreGCPercent = 25

// restoreGC counts the restores under way (a restore request, a shard
// building its projections again): each shard applies on its own
// goroutine, and the setting is the process's.
var restoreGC struct {
	sync.Mutex
	active  int
	percent int // the setting before the first of them
}

// LowGCHeadroom sets restoreGCPercent until release is called, unless the
// process runs with a smaller headroom or none (GOGC=off, which a memory
// limit then governs). The server that reads a restore's archive holds it
// for the whole restore; every replica holds it while it builds its
// projections again. The last release gives the memory freed meanwhile
// back to the system.
func LowGCHeadroom() (release func()) {
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
				// What the old state held goes back to the system: a
				// restore is rare, and without this the process kept
				// its peak size. Once, at the end, as it costs a full
				// collection; before the headroom grows again, which
				// would let the heap grow first.
				debug.FreeOSMemory()
				debug.SetGCPercent(restoreGC.percent)
			}
		})
	}
}

// reloadAfterRestore builds the projections again from the restored state,
// with a small GC headroom (restoreGCPercent); the old projections' memory
// goes back to the system when the last restore under way is done.
func (s *StateMachine) reloadAfterRestore(index uint64) error {
	start := time.Now()
	release := LowGCHeadroom()
	err := s.cfg.Sink.Load(index, dbSource{s.db})
	release()
	s.log.Info("projections loaded again after a restore", "took", time.Since(start).Round(time.Millisecond))
	return err
}
