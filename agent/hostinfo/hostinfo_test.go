package hostinfo

import (
	"os"
	"runtime"
	"testing"
)

func TestCollectReadsThisHost(t *testing.T) {
	info := Collect()
	if info.CollectionTime == 0 {
		t.Error("no CollectionTime")
	}
	if runtime.GOOS != "linux" {
		if info.Memory != nil || len(info.Errors) == 0 {
			t.Errorf("off Linux the sections are null and Errors says why: %+v", info)
		}
		return
	}
	if len(info.Errors) > 0 {
		t.Errorf("errors: %q", info.Errors)
	}
	if info.Memory == nil || info.Memory.Total == 0 || info.Memory.Used > info.Memory.Total {
		t.Errorf("memory: %+v", info.Memory)
	}
	if len(info.CPU) == 0 {
		t.Errorf("no CPUs")
	}
	name, _ := os.Hostname()
	if info.Host == nil || info.Host.Hostname != name || info.Host.OS != "linux" || info.Host.KernelVersion == "" || info.Host.Procs == 0 {
		t.Errorf("host: %+v", info.Host)
	}
	if info.Disk == nil || info.Disk.Path != "/" || info.Disk.Total == 0 || info.Disk.Used > info.Disk.Total {
		t.Errorf("disk: %+v", info.Disk)
	}
}
