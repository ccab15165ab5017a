package agent_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// A client agent holds no replica: it learns of prepared queries from a
// server's snapshot and event stream, and executes them itself.
func TestPreparedQueryOnAClientAgent(t *testing.T) {
	// The server's NATS port is fixed: gossip advertises the configured
	// port, and a client reaches the server through it.
	srv := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-node=srv", "-data-dir="+t.TempDir(),
		fmt.Sprintf("-nats-port=%d", agenttest.FreePort(t)))
	cs, _ := api.NewClient(&api.Config{Address: srv.HTTPAddr()})
	self := membersOf(t, cs)["srv"]
	// One query before the client starts (it comes in the snapshot), one
	// after (it comes as an event).
	if _, _, err := cs.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "before",
		Service: api.ServiceQuery{Service: "consul"}}, nil); err != nil {
		t.Fatal(err)
	}
	cli := agenttest.Start(t, "-node=cli", "-data-dir="+t.TempDir(), fmt.Sprintf("-retry-join=%s:%d", self.Addr, self.Port))
	cc, _ := api.NewClient(&api.Config{Address: cli.HTTPAddr()})
	if _, _, err := cc.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "after",
		Service: api.ServiceQuery{Service: "consul"}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"before", "after"} {
		poll.Eventually(t, 10*time.Second, "the client agent executes "+name, func() (bool, string) {
			res, _, err := cc.PreparedQuery().Execute(name, nil)
			if err != nil {
				return false, err.Error()
			}
			return len(res.Nodes) == 1 && res.Nodes[0].Node.Node == "srv", fmt.Sprintf("%+v", res.Nodes)
		})
	}
}
