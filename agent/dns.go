package agent

import (
	"net"
	"strconv"
	"strings"

	"github.com/heraldhq/herald/dnsserver"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// dnsCatalog lets the DNS server read the catalog projection.
type dnsCatalog struct{ c *projections.Catalog }

func (d dnsCatalog) ServiceInstances(service string) []dnsserver.Instance {
	list, _, _ := d.c.ServiceInstances(service, false)
	return list
}

func (d dnsCatalog) Node(name string) (*event.Node, bool) {
	info, _, _ := d.c.Node(name, false)
	if info == nil {
		return nil, false
	}
	return info.Node, true
}

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
	srv, err := dnsserver.New(dnsserver.Config{
		Datacenter: a.cfg.Datacenter, Domain: a.cfg.Domain, AltDomain: a.cfg.AltDomain,
		NodeTTL: d.NodeTTL, ServiceTTL: d.ServiceTTL, OnlyPassing: d.OnlyPassing,
		EnableTruncate: d.EnableTruncate, UDPAnswerLimit: d.UDPAnswerLimit, ARecordLimit: d.ARecordLimit,
		Recursors: a.cfg.Recursors, RecursorTimeout: d.RecursorTimeout,
		Catalog: dnsCatalog{a.catalog},
		Logger:  a.log,
	})
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
