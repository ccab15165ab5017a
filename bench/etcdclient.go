package bench

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// EtcdKV is a Target speaking etcd v3's native gRPC API through etcd's own
// Go client, go.etcd.io/etcd/client/v3, the way etcd's users call it: one
// client (one HTTP/2 connection) shared by every caller, each with its
// request in flight on a stream of its own. Reads are etcd's default,
// linearizable.
//
// The JSON gateway etcd also serves translates every request into a gRPC
// call inside the server, which costs etcd much of its rate; measuring etcd
// through it would flatter whoever is compared with it.
type EtcdKV struct {
	client *clientv3.Client
	addr   string // host:port, the endpoint Status asks
}

// NewEtcdKV returns an EtcdKV for the etcd member serving clients at addr
// (host:port). The connection is made in the background: a call made before
// the member is up fails or waits for it, within its context.
func NewEtcdKV(addr string) (*EtcdKV, error) {
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{"http://" + addr},
		DialTimeout: 5 * time.Second,
		// The client logs its retries and reconnects through zap; a
		// benchmark's output is its table, and errors are counted there.
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, err
	}
	return &EtcdKV{client: c, addr: "http://" + addr}, nil
}

// Put implements Target.
func (e *EtcdKV) Put(ctx context.Context, key string, value []byte) error {
	_, err := e.client.Put(ctx, key, string(value))
	return err
}

// Get implements Target.
func (e *EtcdKV) Get(ctx context.Context, key string) error {
	resp, err := e.client.Get(ctx, key)
	if err != nil {
		return err
	}
	if len(resp.Kvs) == 0 {
		return ErrNotFound
	}
	return nil
}

// Status asks the member e speaks to for its own ID and its cluster's
// leader's; leader is 0 while there is none.
func (e *EtcdKV) Status(ctx context.Context) (member, leader uint64, err error) {
	st, err := e.client.Status(ctx, e.addr)
	if err != nil {
		return 0, 0, err
	}
	return st.Header.GetMemberId(), st.Leader, nil
}

// Close closes the client's connection.
func (e *EtcdKV) Close() { _ = e.client.Close() }
