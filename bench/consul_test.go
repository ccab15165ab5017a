//go:build unix

package bench

import (
	"slices"
	"testing"
)

func TestConsulArgs(t *testing.T) {
	args := consulArgs("/d/consul-data", 8501, 8301, 8302, -1)
	for _, want := range []string{"agent", "-server", "-bootstrap-expect=1", "-data-dir=/d/consul-data",
		"-http-port=8501", "-server-port=8301", "-serf-lan-port=8302", "-dns-port=-1", "-serf-wan-port=-1"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	if slices.Contains(args, "-dev") {
		t.Error("a -dev Consul keeps nothing on disk; the comparison needs fsync")
	}

	args = consulArgs("/d/consul-data", 8501, 8301, 8302, 8600)
	if !slices.Contains(args, "-dns-port=8600") || slices.Contains(args, "-dns-port=-1") {
		t.Errorf("args %v: want DNS on 8600 only", args)
	}
}
