package event

// ConnectCAUpdated: the Connect CA changed (catalog shard): its first root
// was created, a rotation made a new root active, or its configuration
// changed. ConnectCA holds the whole CA state after the change.
const ConnectCAUpdated Type = "connect.ca.updated"

// ConnectCA is the built-in Connect CA's replicated state: the cluster's
// trust domain, the provider configuration, and every root still valid,
// the active one with its private key. Like Consul's built-in provider,
// which keeps its key in the Raft state, Herald keeps the keys in the
// servers' replicas (and so in operators' snapshots), and nowhere else: the
// CA on the event stream, in the projections and in what client agents
// load has none (WithoutKeys). Servers sign leaf certificates and
// rotations from their replica; a client agent has a server sign the key
// it made.
type ConnectCA struct {
	// ClusterID is a UUID chosen once, when the first root is created; the
	// trust domain is "<ClusterID>.consul".
	ClusterID string
	// Provider is the CA provider ("consul", the built-in one).
	Provider string
	// Config is the provider's configuration as Consul's API shows it
	// (LeafCertTTL, RootCertTTL, PrivateKeyType, ...), without the private
	// key, which lives in the root.
	Config       map[string]any `json:",omitempty"`
	ActiveRootID string
	Roots        []CARoot
	CreateIndex  uint64
	ModifyIndex  uint64
}

// WithoutKeys is a copy of the CA with its roots' private keys left out:
// what leaves a server's replica.
func (c *ConnectCA) WithoutKeys() *ConnectCA {
	if c == nil {
		return nil
	}
	out := *c
	out.Roots = make([]CARoot, len(c.Roots))
	for i, r := range c.Roots {
		r.PrivateKey = ""
		out.Roots[i] = r
	}
	return &out
}

// ActiveRoot is the root that signs new certificates, nil when there is
// none yet.
func (c *ConnectCA) ActiveRoot() *CARoot {
	if c == nil {
		return nil
	}
	for i := range c.Roots {
		if c.Roots[i].ID == c.ActiveRootID {
			return &c.Roots[i]
		}
	}
	return nil
}

// TrustDomain is the SPIFFE trust domain of the cluster's certificates.
func (c *ConnectCA) TrustDomain() string {
	if c == nil || c.ClusterID == "" {
		return ""
	}
	return c.ClusterID + ".consul"
}

// CARoot is one CA root in Consul's api.CARoot shape, plus its private key
// (PEM), which the API never shows and which only the servers' replicas
// hold.
type CARoot struct {
	ID                string
	Name              string
	SerialNumber      uint64
	SigningKeyID      string
	NotBefore         int64 // Unix nanoseconds
	NotAfter          int64 // Unix nanoseconds
	RootCert          string
	IntermediateCerts []string `json:",omitempty"`
	Active            bool
	PrivateKeyType    string
	PrivateKeyBits    int
	PrivateKey        string `json:",omitempty"`
	CreateIndex       uint64
	ModifyIndex       uint64
}

// ConnectCASource is what a Source offers when its shard holds the Connect
// CA (the catalog shard): its state, nil when no root was ever created.
type ConnectCASource interface {
	ConnectCA() (*ConnectCA, error)
}
