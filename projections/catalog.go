package projections

import (
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/heraldhq/herald/event"
)

// Instance is a service instance with the node it runs on and every check
// that bears on its health: the node's own checks and the instance's.
type Instance struct {
	Node    *event.Node
	Service *event.Service
	Checks  []*event.Check
}

// Catalog is the catalog shard's read model: nodes, service instances and
// checks, indexed by name for discovery.
//
// Index bookkeeping follows Consul's: each table (nodes, services, checks)
// has the last index that changed it, each service name the last index that
// changed one of its instances or their health (a node-level check counts for
// every service on the node), and each node the last index that changed it or
// anything on it.
type Catalog struct {
	mu       sync.RWMutex
	nodes    map[string]*event.Node               // lower-case name
	services map[string]map[string]*event.Service // node -> service ID (lower case)
	checks   map[string]map[string]*event.Check   // node -> check ID (lower case)
	// checksOf holds the same checks by node, then service ID ("" for
	// the node's own), then check ID, all lower case: an instance's
	// checks are looked up, not filtered out of every check on its node,
	// which cost O(checks on the node) per instance.
	checksOf map[string]map[string]map[string]*event.Check
	byName   map[string]map[string]*event.Service // service name -> node\x00ID (lower case)
	queries  map[string]*event.PreparedQuery      // lower-case ID (query.go)
	byDest   map[string]map[string]*event.Service // proxied service name -> node\x00ID of its proxies (mesh.go)
	destsOf  map[string]map[string]int            // proxy service name -> proxied name -> its instances proxying it (mesh.go)

	nodesIndex, servicesIndex, checksIndex uint64
	queriesIndex                           uint64
	serviceIndex                           map[string]uint64
	connectIndex                           map[string]uint64 // by proxied service name (mesh.go)
	nodeIndex                              map[string]uint64

	serviceWatch notifier // by lower-case service name
	nodeWatch    notifier // by lower-case node name
	tableWatch   notifier // "nodes", "services", "checks"

	// built keeps each service's answer of ServiceInstances until the
	// service changes: one change can wake thousands of waiters that all
	// read the same list. Readers fill it under the shared lock, so it has
	// a lock of its own.
	builtMu sync.Mutex
	built   map[string][]Instance
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	c := &Catalog{serviceWatch: notifier{}, nodeWatch: notifier{}, tableWatch: notifier{}}
	c.reset()
	return c
}

func (c *Catalog) reset() {
	c.nodes = map[string]*event.Node{}
	c.services = map[string]map[string]*event.Service{}
	c.checks = map[string]map[string]*event.Check{}
	c.checksOf = map[string]map[string]map[string]*event.Check{}
	c.byName = map[string]map[string]*event.Service{}
	c.queries = map[string]*event.PreparedQuery{}
	c.serviceIndex = map[string]uint64{}
	c.connectIndex = map[string]uint64{}
	c.byDest = map[string]map[string]*event.Service{}
	c.destsOf = map[string]map[string]int{}
	c.nodeIndex = map[string]uint64{}
	c.builtMu.Lock()
	c.built = map[string][]Instance{}
	c.builtMu.Unlock()
}

func lower(s string) string { return strings.ToLower(s) }

func instanceKey(s *event.Service) string { return lower(s.Node) + "\x00" + lower(s.ID) }

// Load replaces the catalog with the state in src, read at index.
func (c *Catalog) Load(index uint64, src event.Source) error {
	fresh := &Catalog{}
	fresh.reset()
	err := src.ScanCatalog(
		func(n *event.Node) error { fresh.nodes[lower(n.Node)] = n; return nil },
		func(s *event.Service) error { fresh.putService(s); return nil },
		func(ch *event.Check) error { fresh.putCheck(ch); return nil },
	)
	if err == nil {
		err = fresh.loadQueries(src)
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes, c.services, c.checks, c.checksOf, c.byName = fresh.nodes, fresh.services, fresh.checks, fresh.checksOf, fresh.byName
	c.queries, c.queriesIndex = fresh.queries, index
	c.serviceIndex, c.nodeIndex = fresh.serviceIndex, fresh.nodeIndex
	c.byDest, c.destsOf, c.connectIndex = fresh.byDest, fresh.destsOf, fresh.connectIndex
	c.nodesIndex, c.servicesIndex, c.checksIndex = index, index, index
	c.builtMu.Lock()
	c.built = map[string][]Instance{}
	c.builtMu.Unlock()
	c.serviceWatch.fireAll()
	c.nodeWatch.fireAll()
	c.tableWatch.fireAll()
	return nil
}

func (c *Catalog) putService(s *event.Service) {
	node := lower(s.Node)
	if c.services[node] == nil {
		c.services[node] = map[string]*event.Service{}
	}
	if old := c.services[node][lower(s.ID)]; old != nil {
		c.dropProxy(old)
		if lower(old.Service) != lower(s.Service) {
			c.dropByName(old)
		}
	}
	c.services[node][lower(s.ID)] = s
	c.putProxy(s)
	name := lower(s.Service)
	if c.byName[name] == nil {
		c.byName[name] = map[string]*event.Service{}
	}
	c.byName[name][instanceKey(s)] = s
}

func (c *Catalog) dropByName(s *event.Service) {
	name := lower(s.Service)
	delete(c.byName[name], instanceKey(s))
	if len(c.byName[name]) == 0 {
		delete(c.byName, name)
	}
}

func (c *Catalog) putCheck(ch *event.Check) {
	node, id := lower(ch.Node), lower(ch.CheckID)
	c.dropCheck(node, id)
	if c.checks[node] == nil {
		c.checks[node] = map[string]*event.Check{}
	}
	c.checks[node][id] = ch
	if c.checksOf[node] == nil {
		c.checksOf[node] = map[string]map[string]*event.Check{}
	}
	svc := lower(ch.ServiceID)
	if c.checksOf[node][svc] == nil {
		c.checksOf[node][svc] = map[string]*event.Check{}
	}
	c.checksOf[node][svc][id] = ch
}

// dropCheck removes a check, given its lower-case node and ID.
func (c *Catalog) dropCheck(node, id string) {
	old := c.checks[node][id]
	if old == nil {
		return
	}
	delete(c.checks[node], id)
	svc := lower(old.ServiceID)
	delete(c.checksOf[node][svc], id)
	if len(c.checksOf[node][svc]) == 0 {
		delete(c.checksOf[node], svc)
	}
}

// Apply folds one index's events into the catalog and wakes exactly the
// waiters of what changed.
func (c *Catalog) Apply(index uint64, events []event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	touchService := func(name string) {
		name = lower(name)
		c.serviceIndex[name] = index
		c.builtMu.Lock()
		delete(c.built, name)
		c.builtMu.Unlock()
		c.serviceWatch.fire(name)
		c.touchConnectOf(index, name)
	}
	touchNode := func(node string) {
		node = lower(node)
		c.nodeIndex[node] = index
		c.nodeWatch.fire(node)
	}
	// servicesOn marks every service on a node as changed: the node's
	// address and its node-level checks are part of each instance's answer.
	servicesOn := func(node string) {
		for _, s := range c.services[lower(node)] {
			touchService(s.Service)
		}
	}
	for _, ev := range events {
		switch ev.Type {
		case event.NodeUpdated:
			c.nodes[lower(ev.Node.Node)] = ev.Node
			c.nodesIndex = index
			touchNode(ev.Node.Node)
			servicesOn(ev.Node.Node)
			c.tableWatch.fire("nodes")
		case event.NodeDeleted:
			delete(c.nodes, lower(ev.Node.Node))
			delete(c.services, lower(ev.Node.Node))
			delete(c.checks, lower(ev.Node.Node))
			delete(c.checksOf, lower(ev.Node.Node))
			c.nodesIndex = index
			touchNode(ev.Node.Node)
			c.tableWatch.fire("nodes")
		case event.ServiceUpdated:
			if old := c.services[lower(ev.Service.Node)][lower(ev.Service.ID)]; old != nil {
				touchService(old.Service)
			}
			c.putService(ev.Service)
			c.servicesIndex = index
			touchService(ev.Service.Service)
			touchNode(ev.Service.Node)
			c.tableWatch.fire("services")
		case event.ServiceDeleted:
			s := ev.Service
			if old := c.services[lower(s.Node)][lower(s.ID)]; old != nil {
				c.touchConnect(index, proxyDest(old))
				c.dropProxy(old)
				c.dropByName(old)
				delete(c.services[lower(s.Node)], lower(s.ID))
			}
			c.servicesIndex = index
			touchService(s.Service)
			touchNode(s.Node)
			c.tableWatch.fire("services")
		case event.CheckUpdated, event.CheckDeleted:
			ch := ev.Check
			touchChecked := func(ch *event.Check) {
				if ch.ServiceID != "" {
					touchService(ch.ServiceName)
				} else {
					servicesOn(ch.Node)
				}
			}
			// A check registered again for another service (or for the
			// node) leaves the answers of the one it was on.
			if old := c.checks[lower(ch.Node)][lower(ch.CheckID)]; old != nil && !strings.EqualFold(old.ServiceID, ch.ServiceID) {
				touchChecked(old)
			}
			if ev.Type == event.CheckUpdated {
				c.putCheck(ch)
			} else {
				c.dropCheck(lower(ch.Node), lower(ch.CheckID))
			}
			c.checksIndex = index
			touchChecked(ch)
			touchNode(ch.Node)
			c.tableWatch.fire("checks")
		case event.QueryUpdated, event.QueryDeleted:
			c.applyQuery(index, ev)
		}
	}
	c.tableWatch.fire(anyChange) // see Changes
}

func (c *Catalog) lock(watch bool) func() {
	if watch {
		c.mu.Lock()
		return c.mu.Unlock
	}
	c.mu.RLock()
	return c.mu.RUnlock
}

func watchOf(n notifier, name string, watch bool) <-chan struct{} {
	if !watch {
		return nil
	}
	return n.watch(name)
}

// Nodes returns every node, sorted by name.
func (c *Catalog) Nodes(watch bool) ([]*event.Node, uint64, <-chan struct{}) {
	defer c.lock(watch)()
	out := make([]*event.Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out, nonZero(c.nodesIndex), watchOf(c.tableWatch, "nodes", watch)
}

// Services returns every service name with the union of its instances'
// tags, as /v1/catalog/services answers.
func (c *Catalog) Services(watch bool) (map[string][]string, uint64, <-chan struct{}) {
	defer c.lock(watch)()
	out := map[string][]string{}
	for _, instances := range c.byName {
		var name string
		tags := map[string]bool{}
		for _, s := range instances {
			name = s.Service
			for _, t := range s.Tags {
				tags[t] = true
			}
		}
		list := make([]string, 0, len(tags))
		for t := range tags {
			list = append(list, t)
		}
		sort.Strings(list)
		out[name] = list
	}
	return out, nonZero(max(c.servicesIndex, c.nodesIndex)), watchOf(c.tableWatch, "services", watch)
}

// ServiceInstances returns the instances of a service (the name matches
// without regard to case), each with its node and checks, ordered by node
// and ID. The list is shared: callers must not modify it.
func (c *Catalog) ServiceInstances(name string, watch bool) ([]Instance, uint64, <-chan struct{}) {
	defer c.lock(watch)()
	name = lower(name)
	index, ok := c.serviceIndex[name]
	if !ok {
		index = max(c.servicesIndex, c.nodesIndex)
	}
	c.builtMu.Lock()
	out, ok := c.built[name]
	c.builtMu.Unlock()
	if !ok {
		out = c.buildInstances(name)
		c.builtMu.Lock()
		c.built[name] = out
		c.builtMu.Unlock()
	}
	return out, nonZero(index), watchOf(c.serviceWatch, name, watch)
}

// buildInstances assembles a service's instances; callers hold c.mu.
func (c *Catalog) buildInstances(name string) []Instance {
	return c.instancesOf(maps.Values(c.byName[name]), len(c.byName[name]))
}

// instance is a service instance with its node and the checks that bear
// on its health; callers hold c.mu.
func (c *Catalog) instance(node *event.Node, s *event.Service) Instance {
	inst := Instance{Node: node, Service: s}
	of := c.checksOf[lower(s.Node)]
	for _, ch := range of[""] {
		inst.Checks = append(inst.Checks, ch)
	}
	for _, ch := range of[lower(s.ID)] {
		inst.Checks = append(inst.Checks, ch)
	}
	sortChecks(inst.Checks)
	return inst
}

func sortChecks(list []*event.Check) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].Node != list[j].Node {
			return list[i].Node < list[j].Node
		}
		return list[i].CheckID < list[j].CheckID
	})
}

// NodeInfo is a node with everything registered on it.
type NodeInfo struct {
	Node     *event.Node
	Services []*event.Service
	Checks   []*event.Check
}

// Node returns a node (nil if unknown) with its services and checks.
func (c *Catalog) Node(name string, watch bool) (*NodeInfo, uint64, <-chan struct{}) {
	defer c.lock(watch)()
	key := lower(name)
	index, ok := c.nodeIndex[key]
	if !ok {
		index = max(c.nodesIndex, c.servicesIndex)
	}
	ch := watchOf(c.nodeWatch, key, watch)
	n := c.nodes[key]
	if n == nil {
		return nil, nonZero(index), ch
	}
	info := &NodeInfo{Node: n}
	for _, s := range c.services[key] {
		info.Services = append(info.Services, s)
	}
	sort.Slice(info.Services, func(i, j int) bool { return info.Services[i].ID < info.Services[j].ID })
	for _, chk := range c.checks[key] {
		info.Checks = append(info.Checks, chk)
	}
	sortChecks(info.Checks)
	return info, nonZero(index), ch
}

// Checks returns the checks that pass the filter, sorted by node and ID;
// keep may be nil for all of them.
func (c *Catalog) Checks(keep func(*event.Check) bool, watch bool) ([]*event.Check, uint64, <-chan struct{}) {
	defer c.lock(watch)()
	var out []*event.Check
	for _, checks := range c.checks {
		for _, ch := range checks {
			if keep == nil || keep(ch) {
				out = append(out, ch)
			}
		}
	}
	sortChecks(out)
	return out, nonZero(c.checksIndex), watchOf(c.tableWatch, "checks", watch)
}

// ServiceChecks returns the checks of every instance of a service.
func (c *Catalog) ServiceChecks(name string, watch bool) ([]*event.Check, uint64, <-chan struct{}) {
	defer c.lock(watch)()
	key := lower(name)
	var out []*event.Check
	for _, s := range c.byName[key] {
		for _, ch := range c.checksOf[lower(s.Node)][lower(s.ID)] {
			out = append(out, ch)
		}
	}
	sortChecks(out)
	index, ok := c.serviceIndex[key]
	if !ok {
		index = max(c.servicesIndex, c.nodesIndex)
	}
	return out, nonZero(index), watchOf(c.serviceWatch, key, watch)
}
