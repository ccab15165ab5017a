package httpapi

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/connectca"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// The built-in Connect CA's endpoints. The CA's state comes from the
// catalog shard (projections.ConnectCA), without its private keys, which
// only the servers' replicas hold (event.ConnectCA): this agent makes each
// leaf's key and has it signed (CASigner: by its own replica on a server,
// by a server on a client agent), and keeps the certificate until it is
// due for renewal or the root changes. A configuration change that rotates
// needs the old key to cross-sign, so a client agent sends it to a server.
// With connect { enabled = false } (a nil Config.ConnectCA) every endpoint
// answers as Consul does then.

// CASigner signs with the Connect CA's private keys.
type CASigner interface {
	// HasKeys says whether this agent holds the keys (a server).
	HasKeys() bool
	// WithKeys is the CA with its roots' private keys, nil when there is
	// none yet; only where HasKeys.
	WithKeys() (*event.ConnectCA, error)
	// SignKey signs a certificate for service's public key pub with the
	// active root.
	SignKey(ctx context.Context, service string, pub crypto.PublicKey) (*connectca.Leaf, error)
}

// errConnectDisabled is Consul's answer when Connect is off.
var errConnectDisabled = &apiError{http.StatusInternalServerError, "Connect must be enabled in order to use this endpoint"}

// routeConnectCA registers the Connect CA endpoints.
func (s *Server) routeConnectCA() {
	s.route("/v1/connect/ca/roots", s.connectCARoots, "GET")
	s.route("/v1/agent/connect/ca/roots", s.connectCARoots, "GET")
	s.route("/v1/connect/ca/configuration", s.connectCAConfiguration, "GET", "PUT")
	s.route("/v1/agent/connect/ca/leaf/", s.connectCALeaf, "GET")
}

// apiCARoot is a root as Consul's server answers it (structs.CARoot, of
// which the api package decodes a part); never with its private key.
type apiCARoot struct {
	ID                  string
	Name                string
	SerialNumber        uint64
	SigningKeyID        string
	ExternalTrustDomain string
	NotBefore           time.Time
	NotAfter            time.Time
	RootCert            string
	IntermediateCerts   []string
	Active              bool
	PrivateKeyType      string
	PrivateKeyBits      int
	CreateIndex         uint64
	ModifyIndex         uint64
}

type apiCARootList struct {
	ActiveRootID string
	TrustDomain  string
	Roots        []apiCARoot
}

func toCARoots(ca *event.ConnectCA) apiCARootList {
	out := apiCARootList{Roots: []apiCARoot{}}
	if ca == nil {
		return out
	}
	out.ActiveRootID, out.TrustDomain = ca.ActiveRootID, ca.TrustDomain()
	for _, r := range ca.Roots {
		out.Roots = append(out.Roots, apiCARoot{
			ID: r.ID, Name: r.Name, SerialNumber: r.SerialNumber, SigningKeyID: r.SigningKeyID,
			ExternalTrustDomain: ca.ClusterID,
			NotBefore:           time.Unix(0, r.NotBefore).UTC(), NotAfter: time.Unix(0, r.NotAfter).UTC(),
			RootCert: r.RootCert, IntermediateCerts: r.IntermediateCerts, Active: r.Active,
			PrivateKeyType: r.PrivateKeyType, PrivateKeyBits: r.PrivateKeyBits,
			CreateIndex: r.CreateIndex, ModifyIndex: r.ModifyIndex,
		})
	}
	return out
}

// connectCARoots serves /v1/connect/ca/roots and /v1/agent/connect/ca/roots
// (blocking): the same list, from this agent's copy of the catalog shard.
func (s *Server) connectCARoots(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.ConnectCA == nil {
		return errConnectDisabled
	}
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	if err := s.prepareRead(r, q, command.ShardCatalog); err != nil {
		return err
	}
	state, index := blocking(r.Context(), q, s.cfg.ConnectCA.State)
	s.setMeta(w, q, command.ShardCatalog, index)
	if pem, _ := strconv.ParseBool(r.URL.Query().Get("pem")); pem {
		// ?pem=true: every root and intermediate, as one PEM bundle.
		var b strings.Builder
		if state != nil {
			for _, root := range state.Roots {
				b.WriteString(strings.TrimSpace(root.RootCert) + "\n")
				for _, ic := range root.IntermediateCerts {
					b.WriteString(strings.TrimSpace(ic) + "\n")
				}
			}
		}
		w.Header().Set("Content-Type", "application/pem-certificate-chain")
		_, err := io.WriteString(w, b.String())
		return err
	}
	return writeJSON(w, http.StatusOK, toCARoots(state))
}

// apiCAConfig is Consul's CAConfiguration.
type apiCAConfig struct {
	ClusterID                string `json:",omitempty"`
	Provider                 string
	Config                   map[string]any
	State                    map[string]string
	ForceWithoutCrossSigning bool
	CreateIndex              uint64
	ModifyIndex              uint64
}

func (s *Server) connectCAConfiguration(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.ConnectCA == nil {
		return errConnectDisabled
	}
	if r.Method == http.MethodPut {
		return s.connectCASetConfiguration(w, r)
	}
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	if err := s.prepareRead(r, q, command.ShardCatalog); err != nil {
		return err
	}
	state, index := blocking(r.Context(), q, s.cfg.ConnectCA.State)
	if state == nil {
		return &apiError{http.StatusInternalServerError, "CA configuration not initialized yet"}
	}
	s.setMeta(w, q, command.ShardCatalog, index)
	return writeJSON(w, http.StatusOK, apiCAConfig{ClusterID: state.ClusterID, Provider: state.Provider,
		Config: state.Config, CreateIndex: state.CreateIndex, ModifyIndex: state.ModifyIndex})
}

// connectCASetConfiguration changes the CA's configuration. A change of
// key material (a PrivateKey and RootCert of the operator's that are not
// the active root's, or another key type or size) rotates: a new root,
// cross-signed by the old one unless ForceWithoutCrossSigning, becomes
// active, and the old one stays listed, inactive, until it expires.
// Anything else only changes the configuration, such as LeafCertTTL.
func (s *Server) connectCASetConfiguration(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	if !s.cfg.CASigner.HasKeys() {
		// A client agent: a server of this datacenter, which holds the
		// keys, makes the change.
		if s.cfg.Remote == nil {
			return &apiError{http.StatusInternalServerError, "no server to change the CA configuration"}
		}
		s.cfg.Remote.Forward(w, r, s.cfg.Datacenter)
		return nil
	}
	var req apiCAConfig
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Provider != "" && req.Provider != connectca.Provider {
		return &apiError{http.StatusInternalServerError,
			fmt.Sprintf("CA provider %q is not supported: Herald has only the built-in %q", req.Provider, connectca.Provider)}
	}
	cfg, err := connectca.ParseConfig(req.Config)
	if err != nil {
		return &apiError{http.StatusInternalServerError, "error parsing CA config: " + err.Error()}
	}
	state, err := s.cfg.CASigner.WithKeys()
	if err != nil {
		return err
	}
	active := state.ActiveRoot()
	if active == nil {
		return &apiError{http.StatusInternalServerError, "CA not initialized yet: try again once it has a root"}
	}
	now := s.cfg.Now()
	body := &command.ConnectCASetBody{ExpectActiveRootID: active.ID, Provider: connectca.Provider}
	if rotates(cfg, active) {
		root, err := connectca.NewRoot(state.ClusterID, cfg, now)
		if err != nil {
			return &apiError{http.StatusInternalServerError, "error generating CA root certificate: " + err.Error()}
		}
		if root.ID == active.ID {
			return &apiError{http.StatusInternalServerError, "the new CA root is the active one"}
		}
		if !req.ForceWithoutCrossSigning {
			xc, err := connectca.CrossSign(active, root)
			if err != nil {
				return &apiError{http.StatusInternalServerError, err.Error()}
			}
			root.IntermediateCerts = append(root.IntermediateCerts, xc)
		}
		body.Root = root
	}
	if body.Config, err = json.Marshal(cfg.Public()); err != nil {
		return err
	}
	if _, err := s.propose(r, command.Command{Time: now.UnixNano(), Body: body}, http.StatusInternalServerError); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// rotates says whether cfg asks for another root than active.
func rotates(cfg connectca.Config, active *event.CARoot) bool {
	if cfg.PrivateKey != "" {
		return strings.TrimSpace(cfg.PrivateKey) != strings.TrimSpace(active.PrivateKey) ||
			strings.TrimSpace(cfg.RootCert) != strings.TrimSpace(active.RootCert)
	}
	return cfg.PrivateKeyType != active.PrivateKeyType || cfg.PrivateKeyBits != active.PrivateKeyBits
}

// apiLeafCert is Consul's LeafCert.
type apiLeafCert struct {
	SerialNumber  string
	CertPEM       string
	PrivateKeyPEM string
	Service       string
	ServiceURI    string
	ValidAfter    time.Time
	ValidBefore   time.Time
	CreateIndex   uint64
	ModifyIndex   uint64
}

// leafCache keeps this agent's leaf certificates by service name.
type leafCache struct {
	mu     sync.Mutex
	leaves map[string]*cachedLeaf
}

type cachedLeaf struct {
	cert    apiLeafCert
	rootID  string
	renewAt time.Time
}

// connectCALeaf serves /v1/agent/connect/ca/leaf/:service (blocking): a
// certificate for the service, signed by the active root. The same one is
// answered until it is due for renewal (at a random point between 60% and
// 90% of its lifetime, as Consul spreads them) or the active root changes;
// a blocking query with the current index wakes then, with the new one.
func (s *Server) connectCALeaf(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.ConnectCA == nil {
		return errConnectDisabled
	}
	service := strings.TrimPrefix(r.URL.Path, "/v1/agent/connect/ca/leaf/")
	if service == "" || strings.Contains(service, "/") {
		return badRequest("Missing or invalid service name")
	}
	if err := authorize(r, acl.ResourceService, service, acl.Write); err != nil {
		return err
	}
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	stop := stopping(ctx)
	wait := time.NewTimer(q.wait + rand.N(q.wait/16+1))
	defer wait.Stop()
	for {
		leaf, renewAt, changed, err := s.leaf(ctx, service)
		if err != nil {
			return err
		}
		if q.index == 0 || leaf.ModifyIndex > q.index {
			return s.writeLeaf(w, q, leaf)
		}
		renew := time.NewTimer(time.Until(renewAt))
		select {
		case <-changed:
		case <-renew.C:
		case <-wait.C:
			renew.Stop()
			return s.writeLeaf(w, q, leaf)
		case <-stop:
			renew.Stop()
			return s.writeLeaf(w, q, leaf)
		case <-ctx.Done():
			renew.Stop()
			return ctx.Err()
		}
		renew.Stop()
	}
}

func (s *Server) writeLeaf(w http.ResponseWriter, q query, leaf apiLeafCert) error {
	s.setMeta(w, q, command.ShardCatalog, leaf.ModifyIndex)
	return writeJSON(w, http.StatusOK, leaf)
}

// leaf is service's current certificate, signed now if there is none or it
// is due, with when it is due and a channel closed when the CA changes.
func (s *Server) leaf(ctx context.Context, service string) (apiLeafCert, time.Time, <-chan struct{}, error) {
	state, caIndex, changed := s.cfg.ConnectCA.State(true)
	root := state.ActiveRoot()
	if root == nil {
		return apiLeafCert{}, time.Time{}, nil, &apiError{http.StatusInternalServerError, "CA not initialized yet: it has no active root"}
	}
	c := &s.leaves
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.cfg.Now()
	old := c.leaves[service]
	if old != nil && old.rootID == root.ID && now.Before(old.renewAt) {
		return old.cert, old.renewAt, changed, nil
	}
	key, err := connectca.NewLeafKey()
	if err != nil {
		return apiLeafCert{}, time.Time{}, nil, err
	}
	signed, err := s.cfg.CASigner.SignKey(ctx, service, key.Public())
	if err != nil {
		return apiLeafCert{}, time.Time{}, nil, err
	}
	if signed.PrivateKeyPEM, err = connectca.EncodeLeafKey(key); err != nil {
		return apiLeafCert{}, time.Time{}, nil, err
	}
	// The index only grows: the CA's, or one past the previous leaf's
	// when a renewal happens without a CA change.
	index := caIndex
	if old != nil && old.cert.ModifyIndex >= index {
		index = old.cert.ModifyIndex + 1
	}
	life := signed.ValidBefore.Sub(signed.ValidAfter)
	fresh := &cachedLeaf{
		cert: apiLeafCert{SerialNumber: signed.SerialNumber, CertPEM: signed.CertPEM, PrivateKeyPEM: signed.PrivateKeyPEM,
			Service: service, ServiceURI: signed.ServiceURI, ValidAfter: signed.ValidAfter.UTC(), ValidBefore: signed.ValidBefore.UTC(),
			CreateIndex: index, ModifyIndex: index},
		rootID:  root.ID,
		renewAt: signed.ValidAfter.Add(life*6/10 + rand.N(life*3/10+1)),
	}
	if c.leaves == nil {
		c.leaves = map[string]*cachedLeaf{}
	}
	c.leaves[service] = fresh
	return fresh.cert, fresh.renewAt, changed, nil
}
