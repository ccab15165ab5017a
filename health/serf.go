package health

// SerfCheckID is the ID of the check every agent keeps for its own node's
// gossip health, Consul's; the catalog shard's leader turns the other
// nodes' gossip status into it.
const SerfCheckID = "serfHealth"
