package command

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/heraldhq/herald/event"
)

// CatalogRegisterBody registers or updates a node and, optionally, one
// service instance on it and checks (TypeCatalogRegister), as Consul's
// /v1/catalog/register does. Unchanged parts are left alone: re-registering
// the same definition changes no index.
type CatalogRegisterBody struct {
	Node event.Node
	// SkipNodeUpdate keeps an existing node's address and meta as they are.
	SkipNodeUpdate bool
	Service        *event.Service
	Checks         []event.Check
}

// CatalogDeregisterBody removes a check, a service instance with its checks,
// or (both empty) a node with everything on it (TypeCatalogDeregister).
type CatalogDeregisterBody struct {
	Node      string
	ServiceID string
	CheckID   string
}

// CheckStatusBody records a check's new status (TypeCheckStatus). Agents
// propose it on status transitions and, coalesced, on output changes.
type CheckStatusBody struct {
	Node    string
	CheckID string
	Status  string
	Output  string
}

func (b *CatalogRegisterBody) Type() Type   { return TypeCatalogRegister }
func (b *CatalogDeregisterBody) Type() Type { return TypeCatalogDeregister }
func (b *CheckStatusBody) Type() Type       { return TypeCheckStatus }

func (b *CatalogRegisterBody) encode(e *encoder) {
	encodeNode(e, &b.Node)
	e.bool(b.SkipNodeUpdate)
	e.bool(b.Service != nil)
	if b.Service != nil {
		encodeService(e, b.Service)
	}
	e.uvarint(uint64(len(b.Checks)))
	for i := range b.Checks {
		encodeCheck(e, &b.Checks[i])
	}
	encodeRegisterExtension(e, b)
}

// registerExtension numbers the layouts of the fields added to a register
// body after its first release. They follow the checks, and only when one
// of them is set, so a command without them keeps its original bytes (and
// older logs decode unchanged). Append to a layout only by adding a new
// number; each layout holds the fields of the one before it.
const (
	registerExtension1 = 1 // node Locality; service SocketPath, Ports, Locality
	registerExtension2 = 2 // and the service's mesh fields (Proxy, Connect)
)

func encodeRegisterExtension(e *encoder, b *CatalogRegisterBody) {
	s := b.Service
	switch {
	case s != nil && hasMeshFields(s):
		e.uvarint(registerExtension2)
	case b.Node.Locality != nil || (s != nil && hasServiceExtension1(s)):
		e.uvarint(registerExtension1)
	default:
		return
	}
	encodeLocality(e, b.Node.Locality)
	if s != nil {
		encodeServiceExtension(e, s, hasMeshFields(s))
	}
}

func decodeRegisterExtension(d *decoder, b *CatalogRegisterBody) {
	if len(d.buf) == 0 || d.err != nil {
		return
	}
	v := d.uvarint()
	if v != registerExtension1 && v != registerExtension2 {
		d.fail(fmt.Errorf("%w: register extension %d", ErrInvalidCommand, v))
		return
	}
	b.Node.Locality = decodeLocality(d)
	if s := b.Service; s != nil {
		decodeServiceExtension(d, s, v == registerExtension2)
	}
}

func hasServiceExtension1(s *event.Service) bool {
	return s.SocketPath != "" || len(s.Ports) > 0 || s.Locality != nil
}

// hasMeshFields reports whether the service carries a Proxy or Connect
// block, which only the second extension holds.
func hasMeshFields(s *event.Service) bool { return s.Proxy != nil || s.Connect != nil }

// encodeServiceExtension writes the service fields of the extensions: those
// of the first, then, with mesh, the mesh blocks as one JSON document (a
// proxy's Config is free-form JSON; encoding/json writes map keys sorted,
// so the bytes are deterministic).
func encodeServiceExtension(e *encoder, s *event.Service, mesh bool) {
	e.string(s.SocketPath)
	e.uvarint(uint64(len(s.Ports)))
	for _, p := range s.Ports {
		e.string(p.Name)
		e.varint(int64(p.Port))
		e.bool(p.Default)
	}
	encodeLocality(e, s.Locality)
	if mesh {
		b, err := json.Marshal(meshFields{Proxy: s.Proxy, Connect: s.Connect})
		if err != nil {
			// Only a Config holding values JSON cannot write (NaN)
			// gets here; the HTTP layer decoded it from JSON.
			panic(fmt.Sprintf("command: encoding mesh fields: %v", err))
		}
		e.bytes(b)
	}
}

func decodeServiceExtension(d *decoder, s *event.Service, mesh bool) {
	s.SocketPath = d.string()
	if n := d.count(3); n > 0 {
		s.Ports = make([]event.ServicePort, n)
		for i := range s.Ports {
			s.Ports[i] = event.ServicePort{Name: d.string(), Port: int(d.varint()), Default: d.bool()}
		}
	}
	s.Locality = decodeLocality(d)
	if mesh {
		raw := d.bytes()
		if d.err != nil {
			return
		}
		var m meshFields
		if err := json.Unmarshal(raw, &m); err != nil {
			d.fail(fmt.Errorf("%w: mesh fields: %v", ErrInvalidCommand, err))
			return
		}
		s.Proxy, s.Connect = m.Proxy, m.Connect
	}
}

// meshFields is the JSON document of a service's mesh blocks in the log.
type meshFields struct {
	Proxy   *event.ServiceProxy   `json:",omitempty"`
	Connect *event.ServiceConnect `json:",omitempty"`
}

func encodeLocality(e *encoder, l *event.Locality) {
	e.bool(l != nil)
	if l != nil {
		e.string(l.Region)
		e.string(l.Zone)
	}
}

func decodeLocality(d *decoder) *event.Locality {
	if !d.bool() {
		return nil
	}
	return &event.Locality{Region: d.string(), Zone: d.string()}
}

func (b *CatalogRegisterBody) decode(d *decoder) error {
	decodeNode(d, &b.Node)
	b.SkipNodeUpdate = d.bool()
	if d.bool() {
		b.Service = new(event.Service)
		decodeService(d, b.Service)
	}
	n := d.count(8)
	if n > 0 {
		b.Checks = make([]event.Check, n)
		for i := range b.Checks {
			decodeCheck(d, &b.Checks[i])
		}
	}
	decodeRegisterExtension(d, b)
	return d.err
}

func (b *CatalogDeregisterBody) encode(e *encoder) {
	e.string(b.Node)
	e.string(b.ServiceID)
	e.string(b.CheckID)
}

func (b *CatalogDeregisterBody) decode(d *decoder) error {
	b.Node, b.ServiceID, b.CheckID = d.string(), d.string(), d.string()
	return d.err
}

func (b *CheckStatusBody) encode(e *encoder) {
	e.string(b.Node)
	e.string(b.CheckID)
	e.string(b.Status)
	e.string(b.Output)
}

func (b *CheckStatusBody) decode(d *decoder) error {
	b.Node, b.CheckID, b.Status, b.Output = d.string(), d.string(), d.string(), d.string()
	return d.err
}

// Records are laid out field by field in declaration order. Indexes are not
// encoded: the state machine assigns them from the entry's Raft index.

func encodeNode(e *encoder, n *event.Node) {
	e.string(n.ID)
	e.string(n.Node)
	e.string(n.Address)
	e.string(n.Datacenter)
	e.stringMap(n.TaggedAddresses)
	e.stringMap(n.Meta)
}

func decodeNode(d *decoder, n *event.Node) {
	n.ID, n.Node, n.Address, n.Datacenter = d.string(), d.string(), d.string(), d.string()
	n.TaggedAddresses = d.stringMap()
	n.Meta = d.stringMap()
}

func encodeService(e *encoder, s *event.Service) {
	e.string(s.Node)
	e.string(s.Kind)
	e.string(s.ID)
	e.string(s.Service)
	e.strings(s.Tags)
	e.stringMap(s.Meta)
	e.varint(int64(s.Port))
	e.string(s.Address)
	keys := sortedKeys(s.TaggedAddresses)
	e.uvarint(uint64(len(keys)))
	for _, k := range keys {
		e.string(k)
		e.string(s.TaggedAddresses[k].Address)
		e.varint(int64(s.TaggedAddresses[k].Port))
	}
	e.varint(int64(s.Weights.Passing))
	e.varint(int64(s.Weights.Warning))
	e.bool(s.EnableTagOverride)
}

func decodeService(d *decoder, s *event.Service) {
	s.Node, s.Kind, s.ID, s.Service = d.string(), d.string(), d.string(), d.string()
	s.Tags = d.strings()
	s.Meta = d.stringMap()
	s.Port = int(d.varint())
	s.Address = d.string()
	if n := d.count(3); n > 0 {
		s.TaggedAddresses = make(map[string]event.ServiceAddress, n)
		for i := 0; i < n; i++ {
			k := d.string()
			s.TaggedAddresses[k] = event.ServiceAddress{Address: d.string(), Port: int(d.varint())}
		}
	}
	s.Weights.Passing = int(d.varint())
	s.Weights.Warning = int(d.varint())
	s.EnableTagOverride = d.bool()
}

func encodeCheck(e *encoder, c *event.Check) {
	for _, s := range []string{c.Node, c.CheckID, c.Name, c.Status, c.Notes, c.Output, c.ServiceID, c.ServiceName} {
		e.string(s)
	}
	e.strings(c.ServiceTags)
	e.string(c.Type)
	def := &c.Definition
	for _, s := range []string{def.HTTP, def.Method, def.Body, def.TLSServerName, def.TCP, def.UDP, def.GRPC,
		def.Interval, def.Timeout, def.DeregisterCriticalServiceAfter} {
		e.string(s)
	}
	keys := sortedKeys(def.Header)
	e.uvarint(uint64(len(keys)))
	for _, k := range keys {
		e.string(k)
		e.strings(def.Header[k])
	}
	e.bool(def.TLSSkipVerify)
	e.bool(def.GRPCUseTLS)
}

func decodeCheck(d *decoder, c *event.Check) {
	for _, s := range []*string{&c.Node, &c.CheckID, &c.Name, &c.Status, &c.Notes, &c.Output, &c.ServiceID, &c.ServiceName} {
		*s = d.string()
	}
	c.ServiceTags = d.strings()
	c.Type = d.string()
	def := &c.Definition
	for _, s := range []*string{&def.HTTP, &def.Method, &def.Body, &def.TLSServerName, &def.TCP, &def.UDP, &def.GRPC,
		&def.Interval, &def.Timeout, &def.DeregisterCriticalServiceAfter} {
		*s = d.string()
	}
	if n := d.count(2); n > 0 {
		def.Header = make(map[string][]string, n)
		for i := 0; i < n; i++ {
			k := d.string()
			def.Header[k] = d.strings()
		}
	}
	def.TLSSkipVerify = d.bool()
	def.GRPCUseTLS = d.bool()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
