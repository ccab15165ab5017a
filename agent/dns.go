package agent

import (
	"context"
	"net"
	"strconv"
	"strings"

	"github.com/heraldhq/herald/dnsserver"
	"github.com/heraldhq/herald/log/command"
)

// startDNS serves the DNS interface on the DNS address (default the client
// address) and port, UDP and TCP.
func (a *Agent) startDNS() error {
	if a.cfg.Ports.DNS < 0 {
		return nil
	}
	host := firstAddr(a.cfg.Addresses.DNS)
	if strings.TrimSpace(a.cfg.Addresses.DNS) == "" {
		host = firstAddr(a.cfg.ClientAddr)
	}
	d := a.cfg.DNS
	cfg := dnsserver.DefaultConfig()
	cfg.Datacenter, cfg.Domain, cfg.AltDomain = a.cfg.Datacenter, a.cfg.Domain, a.cfg.AltDomain
	cfg.NodeTTL, cfg.ServiceTTL = d.NodeTTL, d.ServiceTTL
	cfg.OnlyPassing, cfg.EnableTruncate = d.OnlyPassing, d.EnableTruncate
	cfg.UDPAnswerLimit, cfg.ARecordLimit = d.UDPAnswerLimit, d.ARecordLimit
	cfg.DisableNodeMetaTXT = !d.EnableAdditionalNodeMetaTXT
	cfg.Recursors, cfg.RecursorTimeout = a.cfg.Recursors, d.RecursorTimeout
	cfg.Catalog = dnsserver.FromProjections(a.catalog, a.configEntries)
	if authorizer := a.dnsAuthorizer(); authorizer != nil {
		cfg.Catalog = dnsserver.WithACL(cfg.Catalog, authorizer)
	}
	cfg.Logger = a.log
	cfg.Remote = a.ForwardDNS
	cfg.QueryFailover = a.dnsQueryFailover
	a.wan.dnsConfig = cfg
	cfg.Metrics = a.metrics
	if !d.AllowStale {
		raft := a.raft
		cfg.ReadBarrier = func(ctx context.Context) error { return raft.ReadIndex(ctx, command.ShardCatalog) }
		a.log.Info("DNS answers wait on a read barrier (dns_config.allow_stale = false)",
			"shard", command.ShardCatalog.String(),
			"cost", "one round trip to the shard's leader per query",
			"on_failure", "SERVFAIL", "timeout", cfg.ReadBarrierTimeout)
	}
	srv, err := dnsserver.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(net.JoinHostPort(host, strconv.Itoa(a.cfg.Ports.DNS))); err != nil {
		return err
	}
	a.dns = srv
	return nil
}

// DNSAddr is the address the DNS interface listens on, "" when off.
func (a *Agent) DNSAddr() string {
	if a.dns == nil {
		return ""
	}
	return a.dns.Addr()
}
