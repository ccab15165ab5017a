package bench

import (
	"context"
	"io"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// PutBatch writes every key of keys with its value in one etcd transaction,
// as a bulk loader does (etcd takes up to 128 operations per transaction
// by default).
func (e *EtcdKV) PutBatch(ctx context.Context, keys []string, value []byte) error {
	ops := make([]clientv3.Op, len(keys))
	for i, k := range keys {
		ops[i] = clientv3.OpPut(k, string(value))
	}
	_, err := e.client.Txn(ctx).Then(ops...).Commit()
	return err
}

// Snapshot streams the member's snapshot (etcd's Maintenance.Snapshot, what
// `etcdctl snapshot save` calls) to w and returns its size.
func (e *EtcdKV) Snapshot(ctx context.Context, w io.Writer) (int64, error) {
	rc, err := e.client.Snapshot(ctx)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(w, rc)
}

// PeakRSS samples a process's resident memory (VmRSS) every interval
// until stopped, and reports the highest sample: the peak of one phase of
// a run, which VmHWM (the peak since the process started) cannot give.
type PeakRSS struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak int64
}

// SamplePeakRSS starts sampling pid's VmRSS.
func SamplePeakRSS(pid int, interval time.Duration) *PeakRSS {
	p := &PeakRSS{stop: make(chan struct{}), done: make(chan struct{})}
	id := strconv.Itoa(pid)
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if v, err := ProcStatus(id, "VmRSS"); err == nil {
				p.mu.Lock()
				p.peak = max(p.peak, v)
				p.mu.Unlock()
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// Stop ends the sampling and returns the peak, in bytes.
func (p *PeakRSS) Stop() int64 {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}
