package log

import (
	"fmt"

	"github.com/heraldhq/herald/log/command"
)

// TransferLeader asks the shard's Raft to hand its leadership to the
// replica target. Any replica may ask: a follower passes the request to
// the leader. It returns once the request is made; whether and when the
// target takes over is for the caller to watch (Leader).
func (h *Host) TransferLeader(shard command.Shard, target uint64) error {
	if err := h.nh.RequestLeaderTransfer(uint64(shard), target); err != nil {
		return fmt.Errorf("transfer the leadership of shard %s: %w", shard.String(), err)
	}
	return nil
}
