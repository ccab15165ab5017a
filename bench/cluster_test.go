//go:build unix

package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// clusterAgent is a stand-in for the status endpoints of one server of a
// Herald cluster and etcd's status; never a benchmark target.
func clusterAgent(t *testing.T) string {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/status/leader", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `"127.0.0.1:8300"`)
	})
	mux.HandleFunc("/v1/operator/raft/configuration", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"Index":9,"Servers":[{"ID":"a-1","Node":"s1","Address":"127.0.0.1:8300","Leader":true,"ProtocolVersion":"3","Voter":true},`+
			`{"ID":"b-2","Node":"s2","Address":"127.0.0.1:8310","Leader":false,"ProtocolVersion":"3","Voter":true}]}`)
	})
	mux.HandleFunc("/v1/agent/members", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"Name":"s1","Addr":"127.0.0.1","Port":8301,"Status":1,"Tags":{"role":"consul","rid":"ff"}},`+
			`{"Name":"c1","Addr":"127.0.0.1","Port":8311,"Status":4,"Tags":{"role":"node"}}]`)
	})
	mux.HandleFunc("/v1/kv/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("raw") && r.URL.Path == "/v1/kv/a/b c" {
			fmt.Fprint(w, "value")
			if r.URL.Query().Has("stale") {
				fmt.Fprint(w, " (stale)")
			}
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestClusterStatusReads(t *testing.T) {
	addr := clusterAgent(t)
	c := NewConsulHTTP(addr)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if l, err := c.Leader(ctx); err != nil || l != "127.0.0.1:8300" {
		t.Errorf("Leader = %q, %v", l, err)
	}
	rs, err := c.RaftServers(ctx)
	if err != nil || len(rs) != 2 || !rs[0].Leader || !rs[1].Voter || rs[1].Node != "s2" || rs[1].Address != "127.0.0.1:8310" {
		t.Errorf("RaftServers = %+v, %v", rs, err)
	}
	ms, err := c.Members(ctx)
	if err != nil || len(ms) != 2 || ms[0].Tags["rid"] != "ff" || ms[1].Status != 4 {
		t.Errorf("Members = %+v, %v", ms, err)
	}
	if v, found, err := c.KVValue(ctx, "a/b c", false); err != nil || !found || string(v) != "value" {
		t.Errorf("KVValue = %q, %v, %v", v, found, err)
	}
	if v, found, err := c.KVValue(ctx, "a/b c", true); err != nil || !found || string(v) != "value (stale)" {
		t.Errorf("stale KVValue = %q, %v, %v", v, found, err)
	}
	if _, found, err := c.KVValue(ctx, "missing", false); err != nil || found {
		t.Errorf("KVValue of a missing key: found %v, %v", found, err)
	}

}

func TestEtcdStatus(t *testing.T) {
	f, _ := newFake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := NewEtcdKV(f.etcdAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if m, l, err := e.Status(ctx); err != nil || m != fakeMember || l != fakeMember {
		t.Errorf("etcd Status = %d, %d, %v", m, l, err)
	}
	if i, err := EtcdLeader(ctx, []*Etcd{{Server: &Server{Name: "etcd1"}, ClientAddr: f.etcdAddr}}); err != nil || i != 0 {
		t.Errorf("EtcdLeader = %d, %v", i, err)
	}
}
