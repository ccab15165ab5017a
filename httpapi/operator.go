package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// Operator is what the operator endpoints beyond the Raft configuration
// (autopilot, leader transfer, keyring) and the coordinate endpoints ask
// of the agent.
type Operator interface {
	// AutopilotConfiguration is the configuration autopilot follows: the
	// one written through the API, or the config file's until then.
	AutopilotConfiguration(ctx context.Context) (event.AutopilotConfig, error)
	// AutopilotServers are the voters with their health, as autopilot
	// judges it.
	AutopilotServers(ctx context.Context) ([]ServerHealth, error)
	// TransferLeader moves the shards' leadership to the server with the
	// given ID, or to another voter when id is "".
	TransferLeader(ctx context.Context, id string) error
	// Keyring runs a keyring operation over the gossip pool.
	Keyring(req KeyringRequest) ([]KeyringResponse, error)
	// Coordinates are the network coordinates of the nodes this agent
	// knows, by node name; UpdateCoordinate sets one.
	Coordinates() []CoordinateEntry
	UpdateCoordinate(c CoordinateEntry) error
}

// routeOperator registers the operator endpoints of this file.
func (s *Server) routeOperator() {
	if s.cfg.Operator == nil {
		return // an API without an agent behind it (tests)
	}
	s.route("/v1/operator/autopilot/configuration", s.operatorAutopilotConfiguration, "GET", "PUT")
	s.route("/v1/operator/autopilot/health", s.operatorAutopilotHealth, "GET")
	s.route("/v1/operator/autopilot/state", s.operatorAutopilotState, "GET")
	s.route("/v1/operator/raft/transfer-leader", s.operatorRaftTransferLeader, "POST")
	s.route("/v1/operator/usage", s.operatorUsage, "GET")
	s.route("/v1/operator/keyring", s.operatorKeyring, "GET", "POST", "PUT", "DELETE")
}

// ReadableDuration is a duration as Consul's API writes it ("200ms") and
// reads it (that, or a number of nanoseconds).
type ReadableDuration time.Duration

func (d ReadableDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *ReadableDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = ReadableDuration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("invalid duration %s", b)
	}
	*d = ReadableDuration(time.Duration(n))
	return nil
}

func readable(ns int64) *ReadableDuration {
	d := ReadableDuration(ns)
	return &d
}

// autopilotConfiguration is Consul's AutopilotConfiguration.
type autopilotConfiguration struct {
	CleanupDeadServers      bool
	LastContactThreshold    *ReadableDuration
	MaxTrailingLogs         uint64
	MinQuorum               uint
	ServerStabilizationTime *ReadableDuration
	RedundancyZoneTag       string
	DisableUpgradeMigration bool
	UpgradeVersionTag       string
	CreateIndex             uint64
	ModifyIndex             uint64
}

func (s *Server) operatorAutopilotConfiguration(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	if r.Method == http.MethodPut {
		return s.operatorAutopilotSet(w, r)
	}
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	if err := s.prepareRead(r, q, command.ShardCatalog); err != nil {
		return err
	}
	c, err := s.cfg.Operator.AutopilotConfiguration(r.Context())
	if err != nil {
		return err
	}
	s.setMeta(w, q, command.ShardCatalog, c.ModifyIndex)
	return writeJSON(w, http.StatusOK, autopilotConfiguration{
		CleanupDeadServers: c.CleanupDeadServers, LastContactThreshold: readable(c.LastContactThreshold),
		MaxTrailingLogs: c.MaxTrailingLogs, MinQuorum: uint(c.MinQuorum),
		ServerStabilizationTime: readable(c.ServerStabilizationTime), RedundancyZoneTag: c.RedundancyZoneTag,
		DisableUpgradeMigration: c.DisableUpgradeMigration, UpgradeVersionTag: c.UpgradeVersionTag,
		CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex,
	})
}

// operatorAutopilotSet writes the configuration; with ?cas only if its
// ModifyIndex is still the one given, answering true or false as Consul
// does (without ?cas, always true).
func (s *Server) operatorAutopilotSet(w http.ResponseWriter, r *http.Request) error {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return badRequest("Failed to read body: %v", err)
	}
	var in autopilotConfiguration
	if err := json.Unmarshal(raw, &in); err != nil {
		return badRequest("Error parsing autopilot config: %v", err)
	}
	body := &command.AutopilotSetBody{Config: event.AutopilotConfig{
		CleanupDeadServers: in.CleanupDeadServers, MaxTrailingLogs: in.MaxTrailingLogs, MinQuorum: uint64(in.MinQuorum),
		RedundancyZoneTag: in.RedundancyZoneTag, DisableUpgradeMigration: in.DisableUpgradeMigration,
		UpgradeVersionTag: in.UpgradeVersionTag,
	}}
	if in.LastContactThreshold != nil {
		body.Config.LastContactThreshold = int64(*in.LastContactThreshold)
	}
	if in.ServerStabilizationTime != nil {
		body.Config.ServerStabilizationTime = int64(*in.ServerStabilizationTime)
	}
	if _, ok := r.URL.Query()["cas"]; ok {
		body.CAS = true
		if body.Index, err = strconv.ParseUint(r.URL.Query().Get("cas"), 10, 64); err != nil {
			return badRequest("Error parsing cas value: %v", err)
		}
	}
	res, err := s.propose(r, command.Command{Body: body}, refusalIsAnswer)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, !body.CAS || res.Succeeded)
}

// ServerHealth is one server in Consul's OperatorHealthReply.
type ServerHealth struct {
	ID          string
	Name        string
	Address     string
	SerfStatus  string
	Version     string
	Leader      bool
	LastContact *ReadableDuration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	Voter       bool
	StableSince time.Time
}

// operatorHealthReply is Consul's OperatorHealthReply.
type operatorHealthReply struct {
	Healthy          bool
	FailureTolerance int
	Servers          []ServerHealth
}

// autopilotHealth judges the cluster as Consul's autopilot does: healthy
// when every server is; it tolerates the failure of as many healthy
// voters as it has beyond a quorum.
func autopilotHealth(servers []ServerHealth) operatorHealthReply {
	out := operatorHealthReply{Healthy: true, Servers: servers}
	voters, healthyVoters := 0, 0
	for _, sv := range servers {
		out.Healthy = out.Healthy && sv.Healthy
		if sv.Voter {
			voters++
			if sv.Healthy {
				healthyVoters++
			}
		}
	}
	out.FailureTolerance = max(healthyVoters-(voters/2+1), 0)
	return out
}

func (s *Server) readAutopilotServers(r *http.Request) ([]ServerHealth, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	if err := s.prepareRead(r, q, command.ShardCatalog); err != nil {
		return nil, err
	}
	servers, err := s.cfg.Operator.AutopilotServers(r.Context())
	if err != nil {
		return nil, err
	}
	sort.Slice(servers, func(i, j int) bool { return servers[i].Name < servers[j].Name })
	return servers, nil
}

// operatorAutopilotHealth serves /v1/operator/autopilot/health: 429 when
// the cluster is not healthy, as in Consul.
func (s *Server) operatorAutopilotHealth(w http.ResponseWriter, r *http.Request) error {
	servers, err := s.readAutopilotServers(r)
	if err != nil {
		return err
	}
	reply := autopilotHealth(servers)
	code := http.StatusOK
	if !reply.Healthy {
		code = http.StatusTooManyRequests
	}
	return writeJSON(w, code, reply)
}

// autopilotState is Consul's AutopilotState (without the enterprise
// redundancy zones and upgrade state).
type autopilotState struct {
	Healthy                    bool
	FailureTolerance           int
	OptimisticFailureTolerance int
	Servers                    map[string]autopilotServer
	Leader                     string
	Voters                     []string
}

// autopilotServer is Consul's AutopilotServer.
type autopilotServer struct {
	ID          string
	Name        string
	Address     string
	NodeStatus  string
	Version     string
	LastContact *ReadableDuration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	StableSince time.Time
	ReadReplica bool
	Status      string
	Meta        map[string]string
	NodeType    string
}

func (s *Server) operatorAutopilotState(w http.ResponseWriter, r *http.Request) error {
	servers, err := s.readAutopilotServers(r)
	if err != nil {
		return err
	}
	health := autopilotHealth(servers)
	out := autopilotState{Healthy: health.Healthy, FailureTolerance: health.FailureTolerance,
		Servers: map[string]autopilotServer{}, Voters: []string{}}
	voters := 0
	for _, sv := range servers {
		status := "non-voter"
		if sv.Voter {
			status = "voter"
			voters++
			out.Voters = append(out.Voters, sv.ID)
		}
		if sv.Leader {
			status = "leader"
			out.Leader = sv.ID
		}
		out.Servers[sv.ID] = autopilotServer{ID: sv.ID, Name: sv.Name, Address: sv.Address, NodeStatus: sv.SerfStatus,
			Version: sv.Version, LastContact: sv.LastContact, LastTerm: sv.LastTerm, LastIndex: sv.LastIndex,
			Healthy: sv.Healthy, StableSince: sv.StableSince, Status: status, Meta: map[string]string{}, NodeType: "voter"}
	}
	// Optimistically, every voter is healthy.
	out.OptimisticFailureTolerance = max(voters-(voters/2+1), 0)
	sort.Strings(out.Voters)
	return writeJSON(w, http.StatusOK, out)
}

// operatorRaftTransferLeader serves POST /v1/operator/raft/transfer-leader.
func (s *Server) operatorRaftTransferLeader(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	if err := s.cfg.Operator.TransferLeader(r.Context(), r.URL.Query().Get("id")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"Success": true})
}

// serviceUsage is Consul's ServiceUsage for one datacenter.
type serviceUsage struct {
	Nodes                    int
	Services                 int
	ServiceInstances         int
	ConnectServiceInstances  map[string]int
	BillableServiceInstances int
}

// connectKinds are the service kinds Consul counts in
// ConnectServiceInstances; none of them is billable.
var connectKinds = []string{"api-gateway", "connect-native", "connect-proxy", "ingress-gateway", "mesh-gateway", "terminating-gateway"}

// operatorUsage serves /v1/operator/usage from the catalog: Consul counts
// every instance but the servers' own "consul" service as billable, and
// leaves proxies and gateways out.
func (s *Server) operatorUsage(w http.ResponseWriter, r *http.Request) error {
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	if err := s.prepareRead(r, q, command.ShardCatalog); err != nil {
		return err
	}
	nodes, index, _ := s.cfg.Catalog.Nodes(false)
	names, _, _ := s.cfg.Catalog.Services(false)
	u := serviceUsage{Nodes: len(nodes), Services: len(names), ConnectServiceInstances: map[string]int{}}
	for _, k := range connectKinds {
		u.ConnectServiceInstances[k] = 0
	}
	for name := range names {
		instances, _, _ := s.cfg.Catalog.ServiceInstances(name, false)
		for _, in := range instances {
			u.ServiceInstances++
			kind := in.Service.Kind
			if _, connect := u.ConnectServiceInstances[kind]; connect {
				u.ConnectServiceInstances[kind]++
			}
			if kind == "" && name != "consul" {
				u.BillableServiceInstances++
			}
		}
	}
	s.setMeta(w, q, command.ShardCatalog, index)
	return writeJSON(w, http.StatusOK, map[string]any{"Usage": map[string]serviceUsage{s.cfg.Datacenter: u}})
}

// KeyringOp is a keyring operation.
type KeyringOp string

const (
	KeyringList    KeyringOp = "list"
	KeyringInstall KeyringOp = "install"
	KeyringUse     KeyringOp = "use"
	KeyringRemove  KeyringOp = "remove"
)

// KeyringRequest is one keyring operation: Key (base64) for all but a
// list; RelayFactor has each member relay its answer through that many
// others; LocalOnly (lists only) asks for the LAN pool alone, not a
// server's WAN pool.
type KeyringRequest struct {
	Op          KeyringOp
	Key         string
	RelayFactor uint8
	LocalOnly   bool
}

// KeyringResponse is Consul's KeyringResponse for one gossip pool. Error
// is not in Consul's JSON: the endpoint answers it as an error.
type KeyringResponse struct {
	WAN         bool
	Datacenter  string
	Segment     string
	Partition   string            `json:",omitempty"`
	Messages    map[string]string `json:",omitempty"`
	Keys        map[string]int
	PrimaryKeys map[string]int
	NumNodes    int
	Error       string `json:"-"`
}

// operatorKeyring serves /v1/operator/keyring: GET lists, POST installs,
// PUT makes primary, DELETE removes, on every member of the gossip pool.
// A pool that reported failures makes the answer a 500 naming them, as
// Consul's does.
func (s *Server) operatorKeyring(w http.ResponseWriter, r *http.Request) error {
	req := KeyringRequest{Op: KeyringList}
	if r.Method != http.MethodGet {
		var in struct{ Key string }
		if err := decodeBody(r, &in); err != nil {
			return err
		}
		req.Op = map[string]KeyringOp{"POST": KeyringInstall, "PUT": KeyringUse, "DELETE": KeyringRemove}[r.Method]
		req.Key = in.Key
	}
	q := r.URL.Query()
	if v := q.Get("relay-factor"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return badRequest("Error parsing relay factor: %v", err)
		}
		if req.RelayFactor, err = membership.ParseRelayFactor(n); err != nil {
			return badRequest("Invalid relay-factor: %v", err)
		}
	}
	if v := q.Get("local-only"); v != "" {
		var err error
		if req.LocalOnly, err = strconv.ParseBool(v); err != nil {
			return badRequest("Error parsing local-only: %v", err)
		}
		if err := membership.ValidateLocalOnly(req.LocalOnly, req.Op == KeyringList); err != nil {
			return badRequest("Invalid use of local-only: %v", err)
		}
	}
	// As in Consul: keyring read to list, keyring write to change.
	need := acl.Write
	if req.Op == KeyringList {
		need = acl.Read
	}
	if err := acl.IdentityFrom(r.Context()).Check(acl.ResourceKeyring, "", need); err != nil {
		return err
	}
	responses, err := s.cfg.Operator.Keyring(req)
	if err != nil {
		return err
	}
	var failures []string
	for _, resp := range responses {
		if resp.Error == "" {
			continue
		}
		pool := resp.Datacenter + " (LAN)"
		if resp.WAN {
			pool = "WAN"
		}
		failures = append(failures, fmt.Sprintf("%s error: %s", pool, resp.Error))
		nodes := make([]string, 0, len(resp.Messages))
		for node := range resp.Messages {
			nodes = append(nodes, node)
		}
		sort.Strings(nodes)
		for _, node := range nodes {
			failures = append(failures, fmt.Sprintf("%s: %s", node, resp.Messages[node]))
		}
	}
	if len(failures) > 0 {
		return &apiError{http.StatusInternalServerError, multiError(failures)}
	}
	if req.Op != KeyringList {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return writeJSON(w, http.StatusOK, responses)
}

// multiError writes several errors as Consul's (go-multierror's) text.
func multiError(errs []string) string {
	if len(errs) == 1 {
		return "1 error occurred:\n\t* " + errs[0] + "\n"
	}
	return fmt.Sprintf("%d errors occurred:\n\t* %s\n", len(errs), strings.Join(errs, "\n\t* "))
}
