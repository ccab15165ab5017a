package agent_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/testutil/freeport"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
)

// tlsServer is one server of a TLS test cluster.
type tlsServer struct {
	agent     *agent.Agent
	client    *api.Client
	raftPort  int
	serfPort  int
	natsPort  int
	bind      string
	name      string
	cert, key string
}

// internalRPCHCL verifies everything between agents.
func internalRPCHCL(caFile, cert, key string) string {
	return fmt.Sprintf(`tls { internal_rpc { ca_file = %q cert_file = %q key_file = %q
		verify_incoming = true verify_outgoing = true verify_server_hostname = true } }
		performance { raft_multiplier = 1 }`, caFile, cert, key)
}

// startTLSServer starts a server of a cluster of expect servers joining
// at join (a serf address; "" for none) with a server certificate of ca.
// It does not wait for a leader: a new cluster has none until its servers
// are all there.
func startTLSServer(t *testing.T, ca *tlstest.CA, name string, expect int, join string) *tlsServer {
	t.Helper()
	return startTLSServerAt(t, ca, "127.0.0.1", name, expect, join)
}

// freePortOn is a port free for TCP and UDP on host.
func freePortOn(t *testing.T, host string) int {
	t.Helper()
	port, err := freeport.On(host)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// startTLSServerAt is startTLSServer with the server's cluster traffic
// on bind (a loopback address), named in its certificate, and more flags.
func startTLSServerAt(t *testing.T, ca *tlstest.CA, bind, name string, expect int, join string, extra ...string) *tlsServer {
	t.Helper()
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc1", net.ParseIP(bind))
	// Free on the address the server binds, not only on 127.0.0.1.
	s := &tlsServer{raftPort: freePortOn(t, bind), serfPort: freePortOn(t, bind), natsPort: freePortOn(t, bind),
		bind: bind, name: name, cert: cert, key: key}
	args := []string{
		"-bind=" + bind, "-client=127.0.0.1", "-http-port=0", "-dns-port=0", "-serf-wan-port=-1",
		fmt.Sprintf("-nats-port=%d", s.natsPort), fmt.Sprintf("-server-port=%d", s.raftPort),
		fmt.Sprintf("-serf-lan-port=%d", s.serfPort), "-server", fmt.Sprintf("-bootstrap-expect=%d", expect),
		"-data-dir=" + t.TempDir(), "-node=" + name, "-hcl", internalRPCHCL(ca.CertFile, cert, key),
	}
	if join != "" {
		args = append(args, "-retry-join="+join)
	}
	args = append(args, extra...)
	cfg, err := config.Load(args)
	if err != nil {
		t.Fatal(err)
	}
	s.agent = agent.New(cfg, nil)
	if err := s.agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.agent.Shutdown)
	s.client = agenttest.Client(t, s.agent.HTTPAddr())
	return s
}

// kvValue reads key on c, "" when it is absent or the read fails.
func kvValue(c *api.Client, key string) string {
	p, _, err := c.KV().Get(key, &api.QueryOptions{AllowStale: true})
	if err != nil || p == nil {
		return ""
	}
	return string(p.Value)
}

// Three servers with mutual TLS on Raft form a cluster and replicate; a
// server whose certificate is from another CA cannot take part: the Raft
// listeners refuse its certificate, and it gets none of the data.
func TestRaftMutualTLS(t *testing.T) {
	ca, other := tlstest.NewCA(t), tlstest.NewCA(t)
	first := startTLSServer(t, ca, "tls-s0", 3, "")
	join := fmt.Sprintf("127.0.0.1:%d", first.serfPort)
	servers := []*tlsServer{first, startTLSServer(t, ca, "tls-s1", 3, join), startTLSServer(t, ca, "tls-s2", 3, join)}

	// The cluster may still be electing: retry until the write takes.
	poll.Eventually(t, 60*time.Second, "a write to the new cluster", func() (bool, string) {
		_, err := first.client.KV().Put(&api.KVPair{Key: "tls/a", Value: []byte("1")}, nil)
		return err == nil, fmt.Sprint(err)
	})
	for _, s := range servers {
		poll.Eventually(t, 30*time.Second, s.name+" has the write", func() (bool, string) {
			v := kvValue(s.client, "tls/a")
			return v == "1", v
		})
	}
	peers, err := first.client.Operator().RaftGetConfiguration(nil)
	if err != nil || len(peers.Servers) != 3 {
		t.Fatalf("raft peers %+v, %v", peers, err)
	}

	// Dialed directly, a Raft listener speaks TLS with a certificate of
	// the CA...
	good, err := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: first.cert, KeyFile: first.key,
		VerifyOutgoing: true}.ClientConfig("dc1", "consul")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", first.raftPort), good)
	if err != nil {
		t.Fatalf("TLS to the Raft port with the CA's certificate: %v", err)
	}
	conn.Close()
	// ...and refuses a certificate of another CA.
	foreignCert, foreignKey := other.Cert(t, tlsutil.KindServer, "dc1")
	tc, err := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: foreignCert, KeyFile: foreignKey,
		VerifyOutgoing: true}.ClientConfig("dc1", "consul")
	if err != nil {
		t.Fatal(err)
	}
	if err := refusedHandshake(fmt.Sprintf("127.0.0.1:%d", first.raftPort), tc); err != nil {
		t.Fatal(err)
	}

	// A server of another CA joins gossip but not Raft.
	intruder := startTLSServer(t, other, "tls-intruder", 3, join)
	poll.Eventually(t, 30*time.Second, "the cluster sees the other CA's server in gossip", func() (bool, string) {
		m := membersOf(t, first.client)["tls-intruder"]
		return m != nil && m.Status == 1, fmt.Sprintf("%+v", m)
	})
	if _, err := first.client.KV().Put(&api.KVPair{Key: "tls/b", Value: []byte("2")}, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		poll.Eventually(t, 30*time.Second, s.name+" has the second write", func() (bool, string) {
			v := kvValue(s.client, "tls/b")
			return v == "2", v
		})
	}
	if v := kvValue(intruder.client, "tls/a"); v != "" {
		t.Fatalf("the server of another CA has the cluster's data: tls/a = %q", v)
	}
}

// refusedHandshake dials addr with tc and reports an error unless the
// other end refuses the TLS connection (on TLS 1.3 the refusal of a client
// certificate arrives on the first read).
func refusedHandshake(addr string, tc *tls.Config) error {
	conn, err := tls.Dial("tcp", addr, tc)
	if err != nil {
		return nil
	}
	defer conn.Close()
	// A safety net only: a refusal arrives at once.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%s accepted a certificate of another CA (read: %v)", addr, err)
	}
	return nil
}
