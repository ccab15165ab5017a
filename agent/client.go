package agent

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/agent/clientproxy"
	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/statemachine"
)

// A client agent holds no replica: its Raft is the servers, through a
// clientproxy.Proxy, and it answers every read from projections of its
// own that the proxy keeps current.

// startClient runs a client agent.
func (a *Agent) startClient(ctx context.Context) error {
	natsOpts, err := a.natsTLSOptions()
	if err != nil {
		return err
	}
	a.client = clientproxy.New(clientproxy.Config{
		RecordOrigin: a.serversReadOrigin, // audit.go

		Datacenter: a.cfg.Datacenter,
		NodeName:   a.cfg.NodeName,
		Servers:    a.serverNATS,
		Sinks: map[command.Shard]statemachine.Sink{command.ShardCatalog: catalogSink{a}, command.ShardKV: a.kv,
			command.ShardSystem: a.acl},
		Connected: func(nc *nats.Conn) {
			a.clientNATS.Store(nc)
			if err := a.events.Connect(nc); err != nil {
				a.log.Warn("user events stay on this agent", "error", err)
			}
		},
		// TLS (tls.go), then the agent's credentials (natsacl.go).
		NATSOptions: append(natsOpts, a.natsAgentOptions()...),
		Logger:      a.log,
	})
	a.raft = a.client
	a.newLocal()
	if err := a.startGossip(ctx); err != nil {
		return err
	}
	a.local.Start()
	// User events reach the other agents once the connection to the
	// servers' NATS exists (Connected above); until then they stay here.
	if err := a.startEvents(nil); err != nil {
		return err
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.client.Run(ctx)
	}()
	if err := a.registerSelf(); err != nil {
		return err
	}
	if err := a.startDNS(); err != nil {
		return fmt.Errorf("DNS interface: %w", err)
	}
	if err := a.startHTTP(); err != nil {
		return err
	}
	return a.watches.apply(a, a.cfg.Watches)
}

// serverNATS lists the NATS URLs of the alive servers that gossip knows.
func (a *Agent) serverNATS() []string {
	if a.gossip == nil {
		return nil
	}
	var urls []string
	for _, m := range a.gossip.Members() {
		port, _ := strconv.Atoi(m.Tags["nats_port"])
		if m.Status == membership.StatusAlive && m.IsServer() && m.Tags["dc"] == a.cfg.Datacenter && port > 0 {
			urls = append(urls, fmt.Sprintf("nats://%s:%d", m.Addr, port))
		}
	}
	return urls
}
