package checks

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/heraldhq/herald/event"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// grpcProber runs gRPC checks with the standard health protocol
// (grpc.health.v1.Health/Check): SERVING is passing, any other answer or
// error critical. The definition's address is host:port, optionally
// followed by /service to ask about one service instead of the server.
type grpcProber struct {
	target  string // as defined, for the output
	server  string
	service string
	creds   credentials.TransportCredentials
}

func newGRPCProber(d Definition) *grpcProber {
	server, service, _ := strings.Cut(d.GRPC, "/")
	creds := insecure.NewCredentials()
	if d.GRPCUseTLS {
		creds = credentials.NewTLS(&tls.Config{
			InsecureSkipVerify: d.TLSSkipVerify,
			ServerName:         d.TLSServerName,
		})
	}
	return &grpcProber{target: d.GRPC, server: server, service: service, creds: creds}
}

func (p *grpcProber) probe(ctx context.Context) (string, string) {
	// A new connection per probe: a long-lived one would, after the server
	// went away, sit in gRPC's reconnect backoff (up to minutes) and report
	// the server's return late.
	conn, err := grpc.NewClient(p.server, grpc.WithTransportCredentials(p.creds))
	if err != nil {
		return event.HealthCritical, err.Error()
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: p.service})
	if err != nil {
		return event.HealthCritical, fmt.Sprintf("gRPC %s: %v", p.target, err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return event.HealthCritical, fmt.Sprintf("gRPC %s serving status: %s", p.target, resp.GetStatus())
	}
	return event.HealthPassing, fmt.Sprintf("gRPC check %s: success", p.target)
}
