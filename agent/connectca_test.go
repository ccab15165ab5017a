package agent_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// certsOf parses every certificate of a PEM text.
func certsOf(t *testing.T, text string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	rest := []byte(text)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatalf("no certificate in %q", text)
	}
	return out
}

// activeRoots waits until the agent lists a CA root and returns the list.
func activeRoots(t *testing.T, c *api.Client) (*api.CARootList, *api.QueryMeta) {
	t.Helper()
	var list *api.CARootList
	var meta *api.QueryMeta
	poll.Eventually(t, 30*time.Second, "a Connect CA root", func() (bool, string) {
		var err error
		list, meta, err = c.Agent().ConnectCARoots(nil)
		if err != nil {
			return false, err.Error()
		}
		return len(list.Roots) > 0 && list.ActiveRootID != "", fmt.Sprintf("%+v", list)
	})
	return list, meta
}

// verifyLeaf checks a leaf against exactly the given roots, its SPIFFE ID
// and that its key is the certificate's.
func verifyLeaf(t *testing.T, leaf *api.LeafCert, trustDomain, service string, roots ...string) {
	t.Helper()
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AppendCertsFromPEM([]byte(r))
	}
	chain := certsOf(t, leaf.CertPEM)
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("the leaf of %s does not verify: %v", service, err)
	}
	want := "spiffe://" + trustDomain + "/ns/default/dc/dc1/svc/" + service
	if len(chain[0].URIs) != 1 || chain[0].URIs[0].String() != want || leaf.ServiceURI != want || leaf.Service != service {
		t.Fatalf("leaf URIs %v, ServiceURI %q, Service %q; want %s", chain[0].URIs, leaf.ServiceURI, leaf.Service, want)
	}
	block, _ := pem.Decode([]byte(leaf.PrivateKeyPEM))
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil || !key.PublicKey.Equal(chain[0].PublicKey) {
		t.Fatalf("the leaf's private key is not the certificate's: %v", err)
	}
	if !leaf.ValidBefore.After(time.Now()) || leaf.ValidAfter.After(time.Now()) {
		t.Fatalf("leaf valid from %v to %v", leaf.ValidAfter, leaf.ValidBefore)
	}
}

// A dev agent has a root once it has a leader (what Consul's test harness
// waits for); it signs leaves that verify against it, keeps them until
// they are due, and a rotation through the configuration endpoint makes a
// cross-signed new root active, keeps the old one listed inactive, and
// wakes blocking queries on the roots and on the leaf.
func TestConnectCARootsLeafAndRotation(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c, _ := api.NewClient(&api.Config{Address: a.HTTPAddr()})

	list, meta := activeRoots(t, c)
	if len(list.Roots) != 1 || !list.Roots[0].Active || list.Roots[0].ID != list.ActiveRootID || meta.LastIndex == 0 {
		t.Fatalf("roots %+v, index %d", list, meta.LastIndex)
	}
	clusterID, ok := strings.CutSuffix(list.TrustDomain, ".consul")
	if !ok || len(clusterID) != 36 {
		t.Fatalf("trust domain %q is not <cluster UUID>.consul", list.TrustDomain)
	}
	same, _, err := c.Connect().CARoots(nil)
	if err != nil || same.ActiveRootID != list.ActiveRootID || same.TrustDomain != list.TrustDomain {
		t.Fatalf("/v1/connect/ca/roots: %+v %v", same, err)
	}
	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/connect/ca/roots?pem=true")
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/pem-certificate-chain" || len(certsOf(t, string(bundle))) != 1 {
		t.Fatalf("?pem=true: %s %q", resp.Header.Get("Content-Type"), bundle)
	}
	oldRoot := list.Roots[0]
	rootCert := certsOf(t, oldRoot.RootCertPEM)[0]
	if !rootCert.IsCA || len(rootCert.URIs) != 1 || rootCert.URIs[0].String() != "spiffe://"+list.TrustDomain {
		t.Fatalf("root: CA %v, URIs %v", rootCert.IsCA, rootCert.URIs)
	}
	conf, _, err := c.Connect().CAGetConfig(nil)
	if err != nil || conf.Provider != "consul" || conf.Config["LeafCertTTL"] != "72h" || conf.Config["PrivateKey"] != nil {
		t.Fatalf("CA configuration: %+v %v", conf, err)
	}

	leaf, leafMeta, err := c.Agent().ConnectCALeaf("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	verifyLeaf(t, leaf, list.TrustDomain, "web", oldRoot.RootCertPEM)
	if leaf.ValidBefore.Sub(leaf.ValidAfter) < 71*time.Hour || leafMeta.LastIndex != leaf.ModifyIndex {
		t.Fatalf("leaf valid %v–%v, index %d (ModifyIndex %d)", leaf.ValidAfter, leaf.ValidBefore, leafMeta.LastIndex, leaf.ModifyIndex)
	}
	again, _, err := c.Agent().ConnectCALeaf("web", nil)
	if err != nil || again.SerialNumber != leaf.SerialNumber {
		t.Fatalf("the leaf was not kept: %v, serial %s then %s", err, leaf.SerialNumber, again.SerialNumber)
	}

	type rootsAnswer struct {
		list *api.CARootList
		err  error
	}
	type leafAnswer struct {
		leaf *api.LeafCert
		err  error
	}
	rootsCh := make(chan rootsAnswer, 1)
	leafCh := make(chan leafAnswer, 1)
	go func() {
		l, _, err := c.Connect().CARoots(&api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		rootsCh <- rootsAnswer{l, err}
	}()
	go func() {
		l, _, err := c.Agent().ConnectCALeaf("web", &api.QueryOptions{WaitIndex: leafMeta.LastIndex, WaitTime: time.Minute})
		leafCh <- leafAnswer{l, err}
	}()

	// A key of another size asks for a new root.
	_, err = c.Connect().CASetConfig(&api.CAConfig{Provider: "consul",
		Config: map[string]any{"LeafCertTTL": "24h", "PrivateKeyType": "ec", "PrivateKeyBits": 384}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rotated *api.CARootList
	select {
	case got := <-rootsCh:
		if got.err != nil {
			t.Fatal(got.err)
		}
		rotated = got.list
	case <-time.After(30 * time.Second):
		t.Fatal("the blocking roots query did not wake on the rotation")
	}
	if len(rotated.Roots) != 2 || rotated.ActiveRootID == oldRoot.ID || rotated.TrustDomain != list.TrustDomain {
		t.Fatalf("after the rotation: %+v", rotated)
	}
	var newRoot *api.CARoot
	for _, r := range rotated.Roots {
		switch {
		case r.ID == oldRoot.ID && r.Active:
			t.Fatal("the old root is still active")
		case r.ID == rotated.ActiveRootID && r.Active:
			newRoot = r
		}
	}
	if newRoot == nil {
		t.Fatalf("no active new root in %+v", rotated)
	}

	var renewed *api.LeafCert
	select {
	case got := <-leafCh:
		if got.err != nil {
			t.Fatal(got.err)
		}
		renewed = got.leaf
	case <-time.After(30 * time.Second):
		t.Fatal("the blocking leaf query did not wake on the rotation")
	}
	if renewed.SerialNumber == leaf.SerialNumber || renewed.ModifyIndex <= leaf.ModifyIndex {
		t.Fatalf("the leaf was not renewed: serial %s, index %d", renewed.SerialNumber, renewed.ModifyIndex)
	}
	// Signed by the new root, with the cross-signed new root after it: it
	// verifies for peers that trust either root.
	verifyLeaf(t, renewed, list.TrustDomain, "web", newRoot.RootCertPEM)
	chain := certsOf(t, renewed.CertPEM)
	if len(chain) != 2 {
		t.Fatalf("the renewed leaf carries %d certificates, want the leaf and the cross-signed root", len(chain))
	}
	oldPool := x509.NewCertPool()
	oldPool.AddCert(rootCert)
	inter := x509.NewCertPool()
	inter.AddCert(chain[1])
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: oldPool, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("the new leaf does not verify through the cross-signed root against the old one: %v", err)
	}
	if renewed.ValidBefore.Sub(renewed.ValidAfter) > 25*time.Hour {
		t.Fatalf("the new LeafCertTTL (24h) is not applied: %v–%v", renewed.ValidAfter, renewed.ValidBefore)
	}

	// Herald has only the built-in provider; another is refused, and the
	// CA stays as it was.
	_, err = c.Connect().CASetConfig(&api.CAConfig{Provider: "vault", Config: map[string]any{"Address": "http://vault"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), `"vault" is not supported`) {
		t.Fatalf("a vault provider: %v", err)
	}
	if l, _, err := c.Connect().CARoots(nil); err != nil || l.ActiveRootID != newRoot.ID {
		t.Fatalf("after a refused change: %+v %v", l, err)
	}
}

// ca_config's cluster_id, which Consul's test harness sets, names the
// trust domain.
func TestConnectCAClusterIDFromConfig(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-hcl", `connect { ca_config { cluster_id = "11111111-2222-3333-4444-555555555555" } }`)
	c, _ := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	list, _ := activeRoots(t, c)
	if list.TrustDomain != "11111111-2222-3333-4444-555555555555.consul" {
		t.Fatalf("trust domain %q", list.TrustDomain)
	}
}

// With connect { enabled = false } the endpoints answer as Consul's do.
func TestConnectCADisabled(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "connect.hcl")
	if err := os.WriteFile(conf, []byte("connect {\n  enabled = false\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := agenttest.Start(t, "-dev", "-config-file="+conf)
	c, _ := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	_, _, err := c.Connect().CARoots(nil)
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "Connect must be enabled in order to use this endpoint") {
		t.Fatalf("roots with Connect disabled: %v", err)
	}
	_, _, err = c.Agent().ConnectCALeaf("web", nil)
	if err == nil || !strings.Contains(err.Error(), "Connect must be enabled") {
		t.Fatalf("leaf with Connect disabled: %v", err)
	}
}

// A client agent has the servers' CA (from a snapshot of the catalog shard
// and its event stream) without its private keys: a server signs the keys
// of its services' leaves, with the same root, and makes the rotation the
// client agent is asked for. The event stream carries no private key. A
// server restarted on its data keeps its CA.
func TestConnectCAOnClientAgentAndAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	// Client agents find a server's NATS through its gossip tag, which an
	// ephemeral NATS port leaves out.
	// A restarted server must keep its Raft address, which its data
	// directory is bound to.
	ports := []string{fmt.Sprintf("-nats-port=%d", agenttest.FreePort(t)), fmt.Sprintf("-server-port=%d", agenttest.FreePort(t))}
	serverArgs := append([]string{"-server", "-bootstrap-expect=1", "-data-dir=" + dir, "-node=ca-server"}, ports...)
	server := agenttest.Start(t, serverArgs...)
	sc, _ := api.NewClient(&api.Config{Address: server.HTTPAddr()})
	list, _ := activeRoots(t, sc)
	self := membersOf(t, sc)["ca-server"]
	if self == nil {
		t.Fatal("the server does not list itself")
	}

	client := agenttest.Start(t, "-data-dir="+t.TempDir(), "-node=ca-client",
		fmt.Sprintf("-retry-join=%s:%d", self.Addr, self.Port))
	cc, _ := api.NewClient(&api.Config{Address: client.HTTPAddr()})
	onClient, _ := activeRoots(t, cc)
	if onClient.ActiveRootID != list.ActiveRootID || onClient.TrustDomain != list.TrustDomain {
		t.Fatalf("client agent's roots %+v, the server's %+v", onClient, list)
	}
	leaf, _, err := cc.Agent().ConnectCALeaf("db", nil)
	if err != nil {
		t.Fatal(err)
	}
	verifyLeaf(t, leaf, list.TrustDomain, "db", list.Roots[0].RootCertPEM)
	// A rotation reaches the client agent through the event stream.
	if _, err := cc.Connect().CASetConfig(&api.CAConfig{Provider: "consul",
		Config: map[string]any{"PrivateKeyType": "rsa", "PrivateKeyBits": 2048}}, nil); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "the client agent sees the rotation", func() (bool, string) {
		l, _, err := cc.Agent().ConnectCARoots(nil)
		if err != nil {
			return false, err.Error()
		}
		return len(l.Roots) == 2 && l.ActiveRootID != list.ActiveRootID, fmt.Sprintf("%+v", l)
	})
	rotated, _ := activeRoots(t, sc)
	leaf, _, err = cc.Agent().ConnectCALeaf("db", nil)
	if err != nil {
		t.Fatal(err)
	}
	verifyLeaf(t, leaf, list.TrustDomain, "db", rotated.Roots[len(rotated.Roots)-1].RootCertPEM)
	noKeyOnTheStream(t, server.NATSURL(), "herald.dc1.catalog.connect.ca", 2)
	client.Shutdown()
	list = rotated

	server.Shutdown()
	again := agenttest.Start(t, serverArgs...)
	ac, _ := api.NewClient(&api.Config{Address: again.HTTPAddr()})
	after, _ := activeRoots(t, ac)
	if after.ActiveRootID != list.ActiveRootID || after.TrustDomain != list.TrustDomain || len(after.Roots) != 2 {
		t.Fatalf("after a restart the CA is %+v, was %+v", after, list)
	}
}

// Three servers forming a cluster together all serve the one root their
// first catalog leader created: there is exactly one, however the
// leadership went while they formed.
func TestConnectCASameRootOnEveryServer(t *testing.T) {
	clients := agenttest.StartServers(t, 3, "ca")
	first, _ := activeRoots(t, clients[0])
	for i, c := range clients {
		poll.Eventually(t, 30*time.Second, fmt.Sprintf("server %d lists the root", i), func() (bool, string) {
			l, _, err := c.Connect().CARoots(nil)
			if err != nil {
				return false, err.Error()
			}
			return len(l.Roots) == 1 && l.ActiveRootID == first.ActiveRootID && l.TrustDomain == first.TrustDomain,
				fmt.Sprintf("%+v", l)
		})
	}
}

// noKeyOnTheStream checks that the newest CA event on the event stream,
// once it lists roots roots, carries no private key.
func noKeyOnTheStream(t *testing.T, url, subject string, roots int) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var data []byte
	poll.Eventually(t, 20*time.Second, "the rotation on the event stream", func() (bool, string) {
		name, err := js.StreamNameBySubject(ctx, subject)
		if err != nil {
			return false, err.Error()
		}
		st, err := js.Stream(ctx, name)
		if err != nil {
			return false, err.Error()
		}
		msg, err := st.GetLastMsgForSubject(ctx, subject)
		if err != nil {
			return false, err.Error()
		}
		data = msg.Data
		return strings.Count(string(data), "BEGIN CERTIFICATE") >= roots, string(data)
	})
	if strings.Contains(string(data), "PRIVATE KEY") || strings.Contains(string(data), `"PrivateKey"`) {
		t.Fatalf("the CA event on the stream carries a private key: %s", data)
	}
}
