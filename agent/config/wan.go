package config

import (
	"fmt"
	"time"
)

// WAN is how a server joins the other datacenters (docs/multi-datacenter.md):
// Consul's WAN gossip keys, and the port of the NATS gateway that carries
// requests between the datacenters.
type WAN struct {
	// StartJoin and RetryJoin are Consul's start_join_wan (-join-wan) and
	// retry_join_wan (-retry-join-wan): Serf WAN addresses of servers of
	// other datacenters.
	StartJoin []string
	RetryJoin []string
	// RetryInterval is the wait between WAN join attempts (default 30s);
	// RetryMax their number, 0 for no limit.
	RetryInterval time.Duration
	RetryMax      int
	// AdvertiseAddr is the address the other datacenters reach this server
	// at (advertise_addr_wan, -advertise-wan); default AdvertiseAddr.
	AdvertiseAddr string
	// TranslateAddrs is Consul's translate_wan_addrs: answers for another
	// datacenter's nodes give their WAN addresses.
	TranslateAddrs bool
	// PrimaryDatacenter is Consul's primary_datacenter; default this
	// datacenter. Another datacenter's name makes this one a secondary,
	// which replicates that one's ACL state (agent/aclrep.go).
	PrimaryDatacenter string
	// GatewayPort is the embedded NATS gateway listener of a server
	// (ports.nats_gateway, -nats-gateway-port; default DefaultGatewayPort,
	// -1 disables); GatewayPortSet says it was chosen, as Ports.NATSSet.
	GatewayPort    int
	GatewayPortSet bool
	// SerfPortSet says ports.serf_wan was chosen: left at its default, a
	// port another process holds is replaced by one the system picks.
	SerfPortSet bool
}

// DefaultGatewayPort is the NATS gateway port's default, NATS's own
// conventional gateway port.
const DefaultGatewayPort = 7222

// wanFields are the top-level keys of WAN federation.
func (l *loader) wanFields() fields {
	w := &l.cfg.WAN
	return fields{
		"start_join_wan":      appendStrings(&w.StartJoin),
		"retry_join_wan":      appendStrings(&w.RetryJoin),
		"retry_interval_wan":  durationField(&w.RetryInterval),
		"retry_max_wan":       intField(&w.RetryMax),
		"advertise_addr_wan":  stringField(&w.AdvertiseAddr),
		"translate_wan_addrs": boolField(&w.TranslateAddrs),
		"primary_datacenter":  stringField(&w.PrimaryDatacenter),
	}
}

// finishWAN fills the WAN defaults that depend on other keys.
func (c *Config) finishWAN() {
	if c.WAN.AdvertiseAddr == "" {
		c.WAN.AdvertiseAddr = c.AdvertiseAddr
	}
	if c.WAN.PrimaryDatacenter == "" {
		c.WAN.PrimaryDatacenter = c.Datacenter
	}
	if c.WAN.RetryInterval <= 0 {
		c.WAN.RetryInterval = 30 * time.Second
	}
}

// validateWAN checks the WAN keys.
func (c *Config) validateWAN() error {
	if err := checkIP("advertise_addr_wan", c.WAN.AdvertiseAddr); err != nil {
		return err
	}
	if p := c.WAN.GatewayPort; p < -1 || p > 65535 {
		return fmt.Errorf("ports.nats_gateway cannot be %d: it must be between 0 and 65535, or -1 to disable", p)
	}
	return nil
}
