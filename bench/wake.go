package bench

import (
	"strconv"
	"time"
)

// Tick is the unit of /proc's CPU times (USER_HZ, 100 a second on Linux).
const Tick = 10 * time.Millisecond

// WakeMeter reads, around the change that wakes a fan-out's waiters, the
// server's memory and the CPU time the server and this process used from
// the change until the last waiter was reached, to tell the server's cost
// from the waiters'. Its Start, Before and After fit a fan-out's hooks.
type WakeMeter struct {
	Server *Server
	// RSSBefore is the server's VmRSS before the waiters were set up,
	// RSSDuring with them set.
	RSSBefore, RSSDuring int64
	// From the change until every waiter was reached or given up on: the
	// time, and the CPU time the server and this process used.
	Wall, ServerCPU, OwnCPU time.Duration

	serverTicks, ownTicks uint64
	changeAt              time.Time
}

// Start runs before the waiters are set up.
func (m *WakeMeter) Start() { m.RSSBefore, _ = m.Server.ProcStatus("VmRSS") }

// Before runs once every waiter is set, just before the change.
func (m *WakeMeter) Before() {
	m.RSSDuring, _ = m.Server.ProcStatus("VmRSS")
	m.serverTicks, m.ownTicks, m.changeAt = ProcTicks(m.pid()), ProcTicks("self"), time.Now()
}

// After runs once every waiter was reached or given up on.
func (m *WakeMeter) After() {
	if m.serverTicks > 0 {
		m.Wall = time.Since(m.changeAt)
		m.ServerCPU = time.Duration(ProcTicks(m.pid())-m.serverTicks) * Tick
		m.OwnCPU = time.Duration(ProcTicks("self")-m.ownTicks) * Tick
	}
}

func (m *WakeMeter) pid() string { return strconv.Itoa(m.Server.Pid()) }
