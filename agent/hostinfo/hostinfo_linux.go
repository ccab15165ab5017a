package hostinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func memory() (*Memory, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	kb := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, _ := strconv.ParseUint(f[0], 10, 64)
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		kb[name] = v
	}
	m := &Memory{
		Total: kb["MemTotal"], Available: kb["MemAvailable"], Free: kb["MemFree"],
		Active: kb["Active"], Inactive: kb["Inactive"], Buffers: kb["Buffers"],
		// gopsutil counts reclaimable slab as cache.
		Cached:    kb["Cached"] + kb["SReclaimable"],
		WriteBack: kb["Writeback"], Dirty: kb["Dirty"], Shared: kb["Shmem"], Slab: kb["Slab"],
		Sreclaimable: kb["SReclaimable"], Sunreclaim: kb["SUnreclaim"], PageTables: kb["PageTables"],
		SwapCached: kb["SwapCached"], CommitLimit: kb["CommitLimit"], CommittedAS: kb["Committed_AS"],
		SwapTotal: kb["SwapTotal"], SwapFree: kb["SwapFree"], Mapped: kb["Mapped"],
	}
	if used := m.Free + m.Buffers + m.Cached; m.Total > used {
		m.Used = m.Total - used
	}
	m.UsedPercent = percent(m.Used, m.Total)
	return m, nil
}

func cpus() ([]CPU, error) {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return nil, fmt.Errorf("cpu: %w", err)
	}
	var out []CPU
	for _, block := range strings.Split(string(b), "\n\n") {
		c := CPU{Cores: 1}
		seen := false
		for _, line := range strings.Split(block, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch k {
			case "processor":
				n, _ := strconv.ParseInt(v, 10, 32)
				c.CPU, seen = int32(n), true
			case "vendor_id":
				c.VendorID = v
			case "cpu family":
				c.Family = v
			case "model":
				c.Model = v
			case "model name":
				c.ModelName = v
			case "stepping":
				n, _ := strconv.ParseInt(v, 10, 32)
				c.Stepping = int32(n)
			case "physical id":
				c.PhysicalID = v
			case "core id":
				c.CoreID = v
			case "cpu MHz":
				c.Mhz, _ = strconv.ParseFloat(v, 64)
			case "cache size":
				n, _ := strconv.ParseInt(strings.TrimSuffix(v, " KB"), 10, 32)
				c.CacheSize = int32(n)
			case "flags", "Features":
				c.Flags = strings.Fields(v)
			case "microcode":
				c.Microcode = v
			}
		}
		if seen {
			out = append(out, c)
		}
	}
	return out, nil
}

func host() (*Host, error) {
	h := &Host{OS: runtime.GOOS}
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	var err error
	h.Hostname, err = os.Hostname()
	note(err)
	if b, err := os.ReadFile("/proc/uptime"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			up, _ := strconv.ParseFloat(f[0], 64)
			h.Uptime = uint64(up)
		}
	} else {
		note(err)
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
				h.BootTime, _ = strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			}
		}
	} else {
		note(err)
	}
	if ents, err := os.ReadDir("/proc"); err == nil {
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
				h.Procs++
			}
		}
	} else {
		note(err)
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		rel := map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				rel[k] = strings.Trim(v, `"'`)
			}
		}
		h.Platform, h.PlatformVersion = rel["ID"], rel["VERSION_ID"]
		h.PlatformFamily = h.Platform
		if like := strings.Fields(rel["ID_LIKE"]); len(like) > 0 {
			h.PlatformFamily = like[0]
		}
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		h.KernelVersion = unix.ByteSliceToString(u.Release[:])
		h.KernelArch = unix.ByteSliceToString(u.Machine[:])
	} else {
		note(err)
	}
	for _, p := range []string{"/sys/class/dmi/id/product_uuid", "/etc/machine-id", "/proc/sys/kernel/random/boot_id"} {
		if b, err := os.ReadFile(p); err == nil && len(bytes.TrimSpace(b)) > 0 {
			h.HostID = strings.ToLower(strings.TrimSpace(string(b)))
			break
		}
	}
	if len(errs) > 0 {
		return h, fmt.Errorf("host: %s", strings.Join(errs, "; "))
	}
	return h, nil
}

// fsTypes names the file system magic numbers statfs(2) reports most.
var fsTypes = map[int64]string{
	0xEF53: "ext2/ext3", 0x58465342: "xfs", 0x9123683E: "btrfs", 0x01021994: "tmpfs",
	0x794C7630: "overlayfs", 0x6969: "nfs", 0x2FC12FC1: "zfs", 0x65735546: "fuse",
	0x858458F6: "ramfs", 0x73717368: "squashfs",
}

func disk(path string) (*Disk, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return nil, fmt.Errorf("disk %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	d := &Disk{
		Path: path, Fstype: fsTypes[int64(st.Type)],
		Total: st.Blocks * bs, Free: st.Bavail * bs,
		InodesTotal: st.Files, InodesFree: st.Ffree,
	}
	d.Used = (st.Blocks - st.Bfree) * bs
	// As df does: the share of what non-root users may use.
	d.UsedPercent = percent(d.Used, d.Used+d.Free)
	if d.InodesTotal >= d.InodesFree {
		d.InodesUsed = d.InodesTotal - d.InodesFree
	}
	d.InodesUsedPercent = percent(d.InodesUsed, d.InodesTotal)
	return d, nil
}
