// Package hostinfo collects what /v1/agent/host reports about the machine
// an agent runs on, in the JSON shape of Consul's HostInfo: Memory, CPU,
// Host, Disk (of "/"), CollectionTime and Errors, with the field names of
// the gopsutil structures Consul fills it from.
//
// Herald reads the same facts from /proc, /sys, /etc/os-release and
// statfs(2) instead of depending on gopsutil, which would bring a dozen
// modules for one endpoint. That is Linux only: elsewhere the sections are
// null and Errors says why. A section that cannot be read is null too, with
// its error in Errors, as in Consul.
package hostinfo
