package dnsserver

import (
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
)

// Service answers are packed once per catalog version and reused: a query
// for a service name costs a map lookup, a copy of the packed bytes and
// the query's ID written over them, where building it costs the instances'
// health, the SRV targets, the shuffle, the fit and the packing. Only
// positive answers to service names built from the catalog alone are kept
// (never NXDOMAIN or NODATA, so random names cannot fill the cache, and
// never what came from a recursor or another datacenter), and an entry is
// used only while the catalog is at the version it was built from.

// maxRotations is how many packed copies an answer keeps, each with its
// answers rotated by a different amount: queries take them in turn, so the
// first answer (the one most clients use) moves across the instances, as
// Consul's shuffle spreads the load.
const maxRotations = 16

// reshuffleAfter is how many queries an answer with more answers than
// rotations serves before it is built again with a new shuffle, so that
// every instance of a large service comes first in its turn, not only the
// ones the rotations start at.
const reshuffleAfter = 1024

// Bounds on what the cache holds; when either would be passed an entry is
// dropped at random to make room.
const (
	maxCachedAnswers = 1024
	maxCachedBytes   = 16 << 20
)

// version says what a Catalog's answers were built from: the catalog's
// index, the config entries' index (they are in another Raft shard, with
// indexes of their own) and, with ACLs, the authorizer that filtered them.
type version struct {
	catalog, entries uint64
	view             any
}

// versioned is a Catalog that knows its version; answers from a Catalog
// that is not one are never cached.
type versioned interface {
	// version returns the current version and false when answers read now
	// cannot be cached.
	version() (version, bool)
}

func (p projectionCatalog) version() (version, bool) {
	v := version{}
	v.catalog, _ = p.c.Changes(false)
	if p.entries != nil {
		// Get of no entry costs a read lock and returns the index alone.
		_, v.entries, _ = p.entries.Get("", "", false)
	}
	return v, true
}

func (c aclCatalog) version() (version, bool) {
	inner, ok := c.cat.(versioned)
	if !ok {
		return version{}, false
	}
	v, ok := inner.version()
	if !ok {
		return version{}, false
	}
	// The authorizer is resolved again when the token or the ACL state
	// changes (and at least every second): a new one is a new view.
	a := c.authorizer()
	if a == nil || !comparable(a) {
		return version{}, false
	}
	v.view = a
	return v, true
}

// comparable reports whether == on v cannot panic.
func comparable(v any) bool {
	switch reflect.TypeOf(v).Kind() {
	case reflect.Pointer, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.String:
		return true
	}
	return false
}

// cacheKey is everything of a query its answer depends on, besides the
// catalog: the name exactly as asked (its case is echoed), type, class, the
// header bits a reply copies, and the transport and buffer size that decide
// how much of the answer fits.
type cacheKey struct {
	name          string
	qtype, qclass uint16
	rd, cd, tcp   bool
	edns          bool
	udpSize       uint16
}

// keyOf returns req's cache key, false when its answer is not to be
// cached: anything but one plain query, or an EDNS0 client subnet (echoed
// back, so the answer differs per client).
func keyOf(req *dns.Msg, tcp bool) (cacheKey, bool) {
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery || req.Response {
		return cacheKey{}, false
	}
	q := req.Question[0]
	k := cacheKey{name: q.Name, qtype: q.Qtype, qclass: q.Qclass, rd: req.RecursionDesired, cd: req.CheckingDisabled, tcp: tcp}
	if opt := req.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if _, ok := o.(*dns.EDNS0_SUBNET); ok {
				return cacheKey{}, false
			}
		}
		k.edns, k.udpSize = true, opt.UDPSize()
	}
	return k, true
}

// packed is one cached answer: its rotations, packed, and the first of
// them as a message (for metrics and logs).
type packed struct {
	at    version
	wires [][]byte
	msg   *dns.Msg
	size  int
	next  atomic.Uint32
	// partial: the rotations do not start at every answer (see
	// reshuffleAfter).
	partial bool
}

// wire returns the next rotation and a copy of it carrying id, and a
// function to give the copy back once it is written.
func (p *packed) wire(id uint16) (*[]byte, []byte) {
	src := p.wires[int(p.next.Add(1)-1)%len(p.wires)]
	bp := wireBufs.Get().(*[]byte)
	b := append((*bp)[:0], src...)
	b[0], b[1] = byte(id>>8), byte(id)
	return bp, b
}

var wireBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// answerCache holds the packed answers by query.
type answerCache struct {
	mu      sync.RWMutex
	entries map[cacheKey]*packed
	bytes   int
}

func (c *answerCache) get(k cacheKey, at version) *packed {
	c.mu.RLock()
	p := c.entries[k]
	c.mu.RUnlock()
	if p == nil || p.at != at || (p.partial && p.next.Load() >= reshuffleAfter) {
		return nil
	}
	return p
}

func (c *answerCache) put(k cacheKey, p *packed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[cacheKey]*packed{}
	}
	if old := c.entries[k]; old != nil {
		c.bytes -= old.size
		delete(c.entries, k)
	}
	for len(c.entries) > 0 && (len(c.entries) >= maxCachedAnswers || c.bytes+p.size > maxCachedBytes) {
		for victim, e := range c.entries { // map order: a random entry
			c.bytes -= e.size
			delete(c.entries, victim)
			break
		}
	}
	if p.size > maxCachedBytes {
		return
	}
	c.entries[k] = p
	c.bytes += p.size
}

// len is how many answers are cached, for tests.
func (c *answerCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// respond is Answer for ServeDNS: the message, and its packed bytes when
// they came from (or went into) the cache; release gives those back once
// written.
func (s *Server) respond(req *dns.Msg, tcp bool) (m *dns.Msg, wire []byte, release func()) {
	k, ok := keyOf(req, tcp)
	vc, isVersioned := s.cat.(versioned)
	if !ok || !isVersioned || s.st.barrier != nil {
		return s.Answer(req, tcp), nil, nil
	}
	at, ok := vc.version()
	if !ok {
		return s.Answer(req, tcp), nil, nil
	}
	if p := s.cache.get(k, at); p != nil {
		bp, b := p.wire(req.Id)
		return p.msg, b, func() { *bp = b; wireBufs.Put(bp) }
	}
	m, n, local := s.reply(req, tcp)
	if !local || !s.cacheable(n, m) {
		if local {
			s.finish(req, m, tcp)
		}
		return m, nil, nil
	}
	p, err := s.pack(req, m, tcp)
	if err != nil {
		// Left to WriteMsg, which reports the error.
		s.finish(req, m, tcp)
		return m, nil, nil
	}
	p.at = at
	s.cache.put(k, p)
	bp, b := p.wire(req.Id)
	return p.msg, b, func() { *bp = b; wireBufs.Put(bp) }
}

// cacheable reports whether m, the unfinished answer to a name n, depends
// on what the version covers and is worth keeping: a service name's
// answers, with no target resolved outside the zones (a recursor's answer
// is not the catalog's to invalidate) or through a prepared query (whose
// definitions the version does not follow).
func (s *Server) cacheable(n name, m *dns.Msg) bool {
	if n.kind != kindService || m.Rcode != dns.RcodeSuccess || len(m.Answer) == 0 || m.Truncated {
		return false
	}
	followed := func(host string) bool {
		t, ok := s.st.zones.parse(host, dns.TypeA)
		return ok && t.kind != kindQuery
	}
	for _, rrs := range [][]dns.RR{m.Answer, m.Extra} {
		for _, rr := range rrs {
			switch rr := rr.(type) {
			case *dns.SRV:
				if !followed(rr.Target) {
					return false
				}
			case *dns.CNAME:
				if !followed(rr.Target) {
					return false
				}
			}
		}
	}
	return true
}

// pack finishes m once per rotation of its answers (which it already has
// in a random order) and packs each.
func (s *Server) pack(req, m *dns.Msg, tcp bool) (*packed, error) {
	answers := m.Answer
	rotations := min(len(answers), maxRotations)
	start := rand.IntN(len(answers))
	p := &packed{wires: make([][]byte, 0, rotations), partial: rotations < len(answers)}
	for i := range rotations {
		shift := (start + i*len(answers)/rotations) % len(answers)
		v := *m
		v.Answer = append(append(make([]dns.RR, 0, len(answers)), answers[shift:]...), answers[:shift]...)
		v.Extra = append([]dns.RR(nil), m.Extra...)
		s.finish(req, &v, tcp)
		b, err := v.Pack()
		if err != nil {
			return nil, err
		}
		p.wires = append(p.wires, b)
		p.size += len(b)
		if i == 0 {
			p.msg = &v
		}
	}
	return p, nil
}
