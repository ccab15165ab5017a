package hostinfo

import "time"

// Info is the body of /v1/agent/host.
type Info struct {
	Memory         *Memory
	CPU            []CPU
	Host           *Host
	Disk           *Disk
	CollectionTime int64
	// Errors says what could not be read. Consul's are Go errors, which
	// encode as empty objects; Herald's are their messages.
	Errors []string
}

// Memory has the fields of gopsutil's VirtualMemoryStat that Linux reports
// (bytes).
type Memory struct {
	Total        uint64  `json:"total"`
	Available    uint64  `json:"available"`
	Used         uint64  `json:"used"`
	UsedPercent  float64 `json:"usedPercent"`
	Free         uint64  `json:"free"`
	Active       uint64  `json:"active"`
	Inactive     uint64  `json:"inactive"`
	Buffers      uint64  `json:"buffers"`
	Cached       uint64  `json:"cached"`
	WriteBack    uint64  `json:"writeBack"`
	Dirty        uint64  `json:"dirty"`
	Shared       uint64  `json:"shared"`
	Slab         uint64  `json:"slab"`
	Sreclaimable uint64  `json:"sreclaimable"`
	Sunreclaim   uint64  `json:"sunreclaim"`
	PageTables   uint64  `json:"pageTables"`
	SwapCached   uint64  `json:"swapCached"`
	CommitLimit  uint64  `json:"commitLimit"`
	CommittedAS  uint64  `json:"committedAS"`
	SwapTotal    uint64  `json:"swapTotal"`
	SwapFree     uint64  `json:"swapFree"`
	Mapped       uint64  `json:"mapped"`
}

// CPU is one logical processor, as gopsutil's cpu.InfoStat.
type CPU struct {
	CPU        int32    `json:"cpu"`
	VendorID   string   `json:"vendorId"`
	Family     string   `json:"family"`
	Model      string   `json:"model"`
	Stepping   int32    `json:"stepping"`
	PhysicalID string   `json:"physicalId"`
	CoreID     string   `json:"coreId"`
	Cores      int32    `json:"cores"`
	ModelName  string   `json:"modelName"`
	Mhz        float64  `json:"mhz"`
	CacheSize  int32    `json:"cacheSize"`
	Flags      []string `json:"flags"`
	Microcode  string   `json:"microcode"`
}

// Host is gopsutil's host.InfoStat.
type Host struct {
	Hostname             string `json:"hostname"`
	Uptime               uint64 `json:"uptime"`
	BootTime             uint64 `json:"bootTime"`
	Procs                uint64 `json:"procs"`
	OS                   string `json:"os"`
	Platform             string `json:"platform"`
	PlatformFamily       string `json:"platformFamily"`
	PlatformVersion      string `json:"platformVersion"`
	KernelVersion        string `json:"kernelVersion"`
	KernelArch           string `json:"kernelArch"`
	VirtualizationSystem string `json:"virtualizationSystem"`
	VirtualizationRole   string `json:"virtualizationRole"`
	HostID               string `json:"hostId"`
}

// Disk is gopsutil's disk.UsageStat.
type Disk struct {
	Path              string  `json:"path"`
	Fstype            string  `json:"fstype"`
	Total             uint64  `json:"total"`
	Free              uint64  `json:"free"`
	Used              uint64  `json:"used"`
	UsedPercent       float64 `json:"usedPercent"`
	InodesTotal       uint64  `json:"inodesTotal"`
	InodesUsed        uint64  `json:"inodesUsed"`
	InodesFree        uint64  `json:"inodesFree"`
	InodesUsedPercent float64 `json:"inodesUsedPercent"`
}

// diskPath is the file system Consul reports.
const diskPath = "/"

// Collect reads the host's information now.
func Collect() Info {
	var info Info
	fail := func(err error) {
		if err != nil {
			info.Errors = append(info.Errors, err.Error())
		}
	}
	var err error
	info.Memory, err = memory()
	fail(err)
	info.CPU, err = cpus()
	fail(err)
	info.Host, err = host()
	fail(err)
	info.Disk, err = disk(diskPath)
	fail(err)
	info.CollectionTime = time.Now().UTC().UnixNano()
	return info
}

func percent(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole) * 100
}
