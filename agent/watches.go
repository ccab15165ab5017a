package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/watch/plan"
)

// watches runs the `watches` blocks of the agent's configuration, each a
// watch plan over this agent's own HTTP API. A reload leaves a watch whose
// definition did not change running, so a reload never fires a handler by
// itself; changed and removed watches are stopped, new ones started.
type watches struct {
	mu      sync.Mutex
	running map[string]context.CancelFunc // by the definition's JSON
	wg      sync.WaitGroup
}

// apply makes the running watches those of defs.
func (w *watches) apply(a *Agent, defs []map[string]any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running == nil {
		w.running = map[string]context.CancelFunc{}
	}
	plans := map[string]*plan.Plan{}
	for _, def := range defs {
		key, _ := json.Marshal(def)
		p, err := plan.Parse(def)
		if err != nil {
			return fmt.Errorf("watch %s: %w", key, err)
		}
		plans[string(key)] = p
	}
	for key, cancel := range w.running {
		if plans[key] == nil {
			cancel()
			delete(w.running, key)
		}
	}
	if len(plans) == 0 {
		return nil
	}
	client, err := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	if err != nil {
		return err
	}
	for key, p := range plans {
		if w.running[key] != nil {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		w.running[key] = cancel
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			if err := p.Run(ctx, client); err != nil && ctx.Err() == nil {
				a.log.Error("watch stopped", "watch", key, "error", err)
			}
		}()
	}
	return nil
}

// stop ends every watch and waits for them.
func (w *watches) stop() {
	w.mu.Lock()
	for key, cancel := range w.running {
		cancel()
		delete(w.running, key)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
