package bench

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeKV is a throwaway in-memory server for the runner's tests. It speaks
// just enough of Consul's KV HTTP API and, on a gRPC listener of its own
// (etcdAddr), of etcd's v3 KV and Maintenance services to check that the
// targets send what those servers expect; it is never a benchmark target.
type fakeKV struct {
	etcdAddr string // host:port of the gRPC listener
	mu       sync.Mutex
	data     map[string][]byte
	puts     atomic.Int64
	gets     atomic.Int64
	conns    atomic.Int64 // connections accepted (HTTP and gRPC), to check keep-alive
	// failEvery, if > 0, answers HTTP 500 to every n-th request.
	failEvery int64
	reqs      atomic.Int64
}

// newFake starts a fake server; it is closed when the test ends.
func newFake(t testing.TB) (*fakeKV, string) {
	f := &fakeKV{data: map[string][]byte{}}
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	etcdserverpb.RegisterKVServer(gs, &fakeEtcdKV{f: f})
	etcdserverpb.RegisterMaintenanceServer(gs, &fakeEtcdMaintenance{})
	go gs.Serve(countingListener{lis, &f.conns})
	t.Cleanup(gs.Stop)
	f.etcdAddr = lis.Addr().String()
	return f, strings.TrimPrefix(srv.URL, "http://")
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// fakeMember is the member ID, and leader, the fake's etcd side reports.
const fakeMember = 42

// fakeEtcdKV is fakeKV's etcd KV service: Put and a single-key Range.
type fakeEtcdKV struct {
	etcdserverpb.UnimplementedKVServer
	f *fakeKV
}

// fakeHeader is the header of every answer of the fake's etcd side.
func fakeHeader() *etcdserverpb.ResponseHeader {
	return &etcdserverpb.ResponseHeader{ClusterId: 1, MemberId: fakeMember, Revision: 2}
}

func (e *fakeEtcdKV) Put(_ context.Context, req *etcdserverpb.PutRequest) (*etcdserverpb.PutResponse, error) {
	e.f.set(string(req.Key), req.Value)
	e.f.puts.Add(1)
	return &etcdserverpb.PutResponse{Header: fakeHeader()}, nil
}

func (e *fakeEtcdKV) Range(_ context.Context, req *etcdserverpb.RangeRequest) (*etcdserverpb.RangeResponse, error) {
	if len(req.RangeEnd) > 0 {
		return nil, status.Error(codes.Unimplemented, "the fake reads single keys only")
	}
	e.f.gets.Add(1)
	resp := &etcdserverpb.RangeResponse{Header: fakeHeader()}
	if v, ok := e.f.get(string(req.Key)); ok {
		resp.Kvs = []*mvccpb.KeyValue{{Key: req.Key, Value: v}}
		resp.Count = 1
	}
	return resp, nil
}

// fakeEtcdMaintenance is fakeKV's etcd Maintenance service: Status, which
// names the fake its own leader.
type fakeEtcdMaintenance struct {
	etcdserverpb.UnimplementedMaintenanceServer
}

func (*fakeEtcdMaintenance) Status(context.Context, *etcdserverpb.StatusRequest) (*etcdserverpb.StatusResponse, error) {
	return &etcdserverpb.StatusResponse{Header: fakeHeader(), Leader: fakeMember}, nil
}

func (f *fakeKV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n := f.reqs.Add(1); f.failEvery > 0 && n%f.failEvery == 0 {
		http.Error(w, "injected failure", http.StatusInternalServerError)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/kv/"):
		f.consul(w, r, strings.TrimPrefix(r.URL.Path, "/v1/kv/"))
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeKV) consul(w http.ResponseWriter, r *http.Request, key string) {
	switch r.Method {
	case http.MethodPut:
		v, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.set(key, v)
		f.puts.Add(1)
		io.WriteString(w, "true")
	case http.MethodGet:
		f.gets.Add(1)
		v, ok := f.get(key)
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode([]map[string]any{{"Key": key, "Value": v, "Flags": 0}})
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

func (f *fakeKV) set(k string, v []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data[k] = v
}

func (f *fakeKV) get(k string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.data[k]
	return v, ok
}

func (f *fakeKV) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.data)
}
