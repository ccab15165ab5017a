package httpapi

// The JSON shapes of the agent and operator endpoints that the Agent
// interface fills in. Field names are Consul's.

// Member is a cluster member as /v1/agent/members lists it and
// /v1/agent/self's Member shows the agent itself.
type Member struct {
	Name   string
	Addr   string
	Port   int
	Tags   map[string]string
	Status int // 0 none, 1 alive, 2 leaving, 3 left, 4 failed
	// Protocol versions.
	ProtocolMin, ProtocolMax, ProtocolCur int
	DelegateMin, DelegateMax, DelegateCur int
}

// RaftServer is an element of /v1/operator/raft/configuration.
type RaftServer struct {
	ID              string
	Node            string
	Address         string
	Leader          bool
	ProtocolVersion string
	Voter           bool
}

// RaftConfiguration is the body of /v1/operator/raft/configuration. Servers
// and Index are Consul's, for the catalog shard (the shard that stands for
// "the" Raft cluster where Consul has one); Shards adds every shard's own
// voters and leader, which Consul's clients ignore.
type RaftConfiguration struct {
	Servers []RaftServer
	Index   uint64
	Shards  map[string]ShardRaft
}

// ShardRaft is one shard's Raft configuration as this server sees it.
type ShardRaft struct {
	// Leader is the leader's Raft address, LeaderNode and LeaderID its node
	// name and ID; all empty when no leader is known.
	Leader     string
	LeaderNode string
	LeaderID   string
	// Index is the last index this server has applied in the shard.
	Index uint64
	// Servers are the shard's voters, in the shape of the top-level ones.
	Servers []RaftServer
	// Error says why the shard's voters could not be read (no leader, for
	// one); the other fields are then what is known here.
	Error string `json:",omitempty"`
}
