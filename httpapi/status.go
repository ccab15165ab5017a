package httpapi

import (
	"github.com/heraldhq/herald/acl"
	"net/http"
	"strings"
)

// statusLeader serves /v1/status/leader: the catalog shard leader's server
// address as a JSON string, "" when there is none. The kv shard's leader is
// in /v1/operator/raft/configuration's Shards.
func (s *Server) statusLeader(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.cfg.Agent.LeaderAddress())
}

// statusPeers serves /v1/status/peers: the voters' server addresses.
func (s *Server) statusPeers(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	peers, err := s.cfg.Agent.Peers(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, peers)
}

// agentSelf serves /v1/agent/self.
func (s *Server) agentSelf(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.cfg.Agent.Self())
}

// agentMembers serves /v1/agent/members.
func (s *Server) agentMembers(w http.ResponseWriter, r *http.Request) error {
	list := s.cfg.Agent.Members()
	if wanQuery(r) && s.cfg.Remote != nil {
		list = s.cfg.Remote.WANMembers()
	}
	members := aclFilter(w, r, list, func(a acl.Authorizer, m Member) bool {
		return a.Allowed(acl.ResourceNode, m.Name, acl.Read)
	})
	return writeJSON(w, http.StatusOK, members)
}

func (s *Server) agentJoin(w http.ResponseWriter, r *http.Request) error {
	addr := strings.TrimPrefix(r.URL.Path, "/v1/agent/join/")
	if addr == "" {
		return badRequest("Missing address to join")
	}
	join := s.cfg.Agent.Join
	if wanQuery(r) && s.cfg.Remote != nil {
		join = s.cfg.Remote.JoinWAN
	}
	if err := join(addr); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) agentLeave(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Agent.Leave(); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) agentForceLeave(w http.ResponseWriter, r *http.Request) error {
	node := strings.TrimPrefix(r.URL.Path, "/v1/agent/force-leave/")
	if node == "" {
		return badRequest("Missing node name")
	}
	_, prune := r.URL.Query()["prune"]
	forceLeave := s.cfg.Agent.ForceLeave
	if wanQuery(r) && s.cfg.Remote != nil {
		forceLeave = s.cfg.Remote.ForceLeaveWAN
	}
	if err := forceLeave(node, prune); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// operatorRaftConfiguration serves /v1/operator/raft/configuration.
func (s *Server) operatorRaftConfiguration(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	conf, err := s.cfg.Agent.RaftConfiguration(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, conf)
}

// operatorRaftRemovePeer serves DELETE /v1/operator/raft/peer?id=|address=.
func (s *Server) operatorRaftRemovePeer(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	q := r.URL.Query()
	id, address := q.Get("id"), q.Get("address")
	if (id == "") == (address == "") {
		return badRequest("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove")
	}
	if err := s.cfg.Agent.RemovePeer(r.Context(), id, address); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
