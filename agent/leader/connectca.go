package leader

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/heraldhq/herald/connectca"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// caCheckEvery is how often a server that leads the catalog shard looks
// for a missing CA root, besides whenever the CA changes.
const caCheckEvery = time.Second

// CAState reads the Connect CA (projections.ConnectCA).
type CAState interface {
	State(watch bool) (*event.ConnectCA, uint64, <-chan struct{})
}

// ConnectCAInit creates the Connect CA's first root where this server leads
// the catalog shard and the CA has none: at the cluster's first leadership,
// and again if a snapshot restore took the CA away. The command carries
// "no active root" as its expectation, so however often leadership changes
// mid-way, and however many servers try, exactly one root is created; the
// others are refused and find the root in their projection.
type ConnectCAInit struct {
	Raft Proposer
	CA   CAState
	// Provider and Config are the agent's connect { ca_provider, ca_config }.
	Provider string
	Config   map[string]any
	Logger   *slog.Logger
}

// Run checks until ctx ends.
func (c *ConnectCAInit) Run(ctx context.Context) {
	t := time.NewTicker(caCheckEvery)
	defer t.Stop()
	for {
		state, _, changed := c.CA.State(true)
		if state.ActiveRoot() == nil && c.Raft.IsLeader(command.ShardCatalog) {
			if err := c.createRoot(ctx, state); err != nil && ctx.Err() == nil {
				c.Logger.Warn("cannot create the Connect CA root yet", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-t.C:
		}
	}
}

func (c *ConnectCAInit) createRoot(ctx context.Context, state *event.ConnectCA) error {
	cfg, err := connectca.ParseConfig(c.Config)
	if err != nil {
		return err
	}
	clusterID := ""
	if state != nil {
		clusterID = state.ClusterID
	}
	if clusterID == "" {
		clusterID = cfg.ClusterID
	}
	if clusterID == "" {
		clusterID = event.NewUUID()
	}
	now := time.Now()
	root, err := connectca.NewRoot(clusterID, cfg, now)
	if err != nil {
		return err
	}
	public, err := json.Marshal(cfg.Public())
	if err != nil {
		return err
	}
	provider := c.Provider
	if provider == "" {
		provider = connectca.Provider
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := c.Raft.Propose(pctx, command.Command{Time: now.UnixNano(), Body: &command.ConnectCASetBody{
		ClusterID: clusterID, Provider: provider, Config: public, Root: root}})
	if err != nil {
		return err
	}
	if res.Succeeded {
		c.Logger.Info("created the Connect CA root", "root", root.ID, "trust_domain", connectca.TrustDomain(clusterID))
	} else {
		c.Logger.Debug("Connect CA root not created", "reason", res.Refusal)
	}
	return nil
}
