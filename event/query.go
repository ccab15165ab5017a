package event

// Prepared query event types (catalog shard).
const (
	// QueryUpdated: a prepared query was created or updated. Query holds it.
	QueryUpdated Type = "catalog.query.updated"
	// QueryDeleted: a prepared query was deleted. Query holds it as it was.
	QueryDeleted Type = "catalog.query.deleted"
)

// PreparedQuery is a prepared query in the JSON shape of Consul's
// api.PreparedQueryDefinition, plus its indexes.
type PreparedQuery struct {
	ID       string
	Name     string
	Session  string
	Token    string
	Service  ServiceQuery
	DNS      QueryDNSOptions
	Template QueryTemplate

	CreateIndex uint64
	ModifyIndex uint64
}

// ServiceQuery is what a prepared query looks for: Consul's
// api.ServiceQuery.
type ServiceQuery struct {
	Service        string
	SamenessGroup  string `json:",omitempty"`
	Near           string
	Failover       QueryFailoverOptions
	IgnoreCheckIDs []string
	OnlyPassing    bool
	Tags           []string
	NodeMeta       map[string]string
	ServiceMeta    map[string]string
	Peer           string `json:",omitempty"`
	Connect        bool
}

// QueryFailoverOptions is where a query looks when the local datacenter
// has no healthy instance.
type QueryFailoverOptions struct {
	NearestN    int
	Datacenters []string
	Targets     []QueryFailoverTarget `json:",omitempty"`
}

// QueryFailoverTarget is a datacenter or a peer to fail over to.
type QueryFailoverTarget struct {
	Peer       string
	Datacenter string
}

// QueryDNSOptions are how a query's answers are served over DNS.
type QueryDNSOptions struct {
	TTL string
}

// QueryTemplate makes a query a template: it answers every name that
// starts with its Name, rendered for that name.
type QueryTemplate struct {
	Type            string
	Regexp          string
	RemoveEmptyTags bool
}
