package checks

import (
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestGRPCFlips(t *testing.T) {
	const interval = 100 * time.Millisecond
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	hs.SetServingStatus("billing", healthpb.HealthCheckResponse_SERVING)
	go srv.Serve(l)
	defer srv.Stop()

	r, rec := newTestRunner(t, Config{})
	for _, d := range []Definition{
		{CheckID: "server", GRPC: addr, Interval: interval},
		{CheckID: "billing", GRPC: addr + "/billing", Interval: interval},
		{CheckID: "unknown", GRPC: addr + "/nope", Interval: interval, Status: "passing"},
	} {
		if err := r.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	if out := waitStatus(t, r, "server", "passing", interval+slack); out != "gRPC check "+addr+": success" {
		t.Errorf("server passing output %q", out)
	}
	if out := waitStatus(t, r, "billing", "passing", interval+slack); out != "gRPC check "+addr+"/billing: success" {
		t.Errorf("billing passing output %q", out)
	}
	if out := waitStatus(t, r, "unknown", "critical", interval+slack); !strings.Contains(out, "NotFound") {
		t.Errorf("unknown service output %q", out)
	}

	hs.SetServingStatus("billing", healthpb.HealthCheckResponse_NOT_SERVING)
	if out := waitStatus(t, r, "billing", "critical", interval+slack); out != "gRPC "+addr+"/billing serving status: NOT_SERVING" {
		t.Errorf("billing critical output %q", out)
	}
	if s, _, _ := r.Status("server"); s != "passing" {
		t.Errorf("one service's status changed the server's check: %s", s)
	}
	hs.SetServingStatus("billing", healthpb.HealthCheckResponse_SERVING)
	waitStatus(t, r, "billing", "passing", interval+slack)

	r.Remove("billing")
	if got := strings.Join(rec.transitions("billing"), " "); got != "passing critical passing" {
		t.Errorf("billing reported %s", got)
	}

	srv.Stop()
	// Refused (Unavailable), or, on a machine too busy to be told of the
	// refusal within the check's timeout, DeadlineExceeded.
	if out := waitStatus(t, r, "server", "critical", interval+slack); !strings.Contains(out, "Unavailable") && !strings.Contains(out, "DeadlineExceeded") {
		t.Errorf("stopped server output %q", out)
	}
}
