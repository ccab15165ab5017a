package statemachine

import (
	"testing"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// Builders for catalog commands, so the tables below stay one line a command.

func register(node, addr string, svc *event.Service, checks ...event.Check) *command.CatalogRegisterBody {
	return &command.CatalogRegisterBody{Node: event.Node{Node: node, Address: addr}, Service: svc, Checks: checks}
}

// registerSkip registers with SkipNodeUpdate, as agents do for their
// services and checks.
func registerSkip(node, addr string, svc *event.Service, checks ...event.Check) *command.CatalogRegisterBody {
	b := register(node, addr, svc, checks...)
	b.SkipNodeUpdate = true
	return b
}

func service(id, name string, port int, tags ...string) *event.Service {
	return &event.Service{ID: id, Service: name, Port: port, Tags: tags}
}

func check(id, serviceID, status string) event.Check {
	return event.Check{CheckID: id, Name: id, ServiceID: serviceID, Status: status}
}

func checkStatus(node, id, status, output string) *command.CheckStatusBody {
	return &command.CheckStatusBody{Node: node, CheckID: id, Status: status, Output: output}
}

func deregister(node, serviceID, checkID string) *command.CatalogDeregisterBody {
	return &command.CatalogDeregisterBody{Node: node, ServiceID: serviceID, CheckID: checkID}
}

// web1 is a node n1 with a service web1 (name web) and two checks: the
// node's serfHealth and the service's web1-alive.
var web1 = []command.Body{
	register("n1", "10.0.0.1", service("web1", "web", 80, "v1"),
		check("serfHealth", "", event.HealthPassing), check("web1-alive", "web1", event.HealthPassing)),
}

func TestCatalogRegisterRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name:   "a new node",
		apply:  register("n1", "10.0.0.1", nil),
		events: []string{"catalog.node.updated n1 addr=10.0.0.1 @1/1"},
	}, {
		name:    "a node needs a name",
		apply:   register("", "10.0.0.1", nil),
		refused: "Must provide node",
	}, {
		name:    "a node needs an address",
		apply:   register("n1", "", nil),
		refused: "Must provide address if SkipNodeUpdate is not set",
	}, {
		name:  "a service on an unknown node registers the node too",
		apply: register("n1", "10.0.0.1", service("web1", "web", 80)),
		events: []string{
			"catalog.node.updated n1 addr=10.0.0.1 @1/1",
			"catalog.service.updated web id=web1 node=n1 port=80 @1/1",
		},
	}, {
		// As in Consul: "if the node doesn't exist, it will still be created".
		name:  "SkipNodeUpdate on an unknown node with an address registers the node",
		apply: registerSkip("n1", "10.0.0.1", service("web1", "web", 80)),
		events: []string{
			"catalog.node.updated n1 addr=10.0.0.1 @1/1",
			"catalog.service.updated web id=web1 node=n1 port=80 @1/1",
		},
	}, {
		// As in Consul: the node is created even without an address.
		name:  "SkipNodeUpdate on an unknown node without an address registers the node",
		apply: registerSkip("n1", "", service("web1", "web", 80)),
		events: []string{
			"catalog.node.updated n1 addr= @1/1",
			"catalog.service.updated web id=web1 node=n1 port=80 @1/1",
		},
	}, {
		name:   "SkipNodeUpdate leaves a registered node as it is",
		setup:  []command.Body{register("n1", "10.0.0.1", nil)},
		apply:  registerSkip("n1", "10.9.9.9", service("web1", "web", 80)),
		events: []string{"catalog.service.updated web id=web1 node=n1 port=80 @2/2"},
	}, {
		name:   "SkipNodeUpdate files the service under the node's registered name",
		setup:  []command.Body{register("Node-1", "10.0.0.1", nil)},
		apply:  registerSkip("node-1", "", service("web1", "web", 80)),
		events: []string{"catalog.service.updated web id=web1 node=Node-1 port=80 @2/2"},
	}, {
		name:  "re-registering the same node, service and checks changes nothing",
		setup: web1,
		apply: web1[0],
	}, {
		name:  "re-registering with SkipNodeUpdate changes nothing",
		setup: web1,
		apply: registerSkip("n1", "", service("web1", "web", 80, "v1"), check("web1-alive", "web1", event.HealthPassing)),
	}, {
		name:   "a new address updates the node and keeps its CreateIndex",
		setup:  []command.Body{register("n1", "10.0.0.1", nil)},
		apply:  register("n1", "10.0.0.2", nil),
		events: []string{"catalog.node.updated n1 addr=10.0.0.2 @1/2"},
	}, {
		// differs from Consul: Consul's catalog replaces the node with
		// one without an ID (a change); Herald keeps the registered ID.
		name:  "re-registering without the node's ID keeps the ID",
		setup: []command.Body{&command.CatalogRegisterBody{Node: event.Node{ID: "id-1", Node: "n1", Address: "10.0.0.1"}}},
		apply: register("n1", "10.0.0.1", nil),
	}, {
		// differs from Consul: Consul compares node names without case
		// and sees no change; Herald stores the new spelling, with an
		// event.
		name:   "re-registering a node with its name in another case",
		setup:  []command.Body{register("n1", "10.0.0.1", nil)},
		apply:  register("N1", "10.0.0.1", nil),
		events: []string{"catalog.node.updated N1 addr=10.0.0.1 @1/2"},
	}, {
		// The checks keep the tags they copied when they were registered,
		// as in Consul's catalog, until they are registered again.
		name:   "new tags update the service and keep its CreateIndex",
		setup:  web1,
		apply:  registerSkip("n1", "", service("web1", "web", 80, "v2")),
		events: []string{"catalog.service.updated web id=web1 node=n1 port=80 tags=v2 @1/2"},
	}, {
		name:   "a service's ID defaults to its name",
		setup:  []command.Body{register("n1", "10.0.0.1", nil)},
		apply:  registerSkip("n1", "", service("", "web", 80)),
		events: []string{"catalog.service.updated web id=web node=n1 port=80 @2/2"},
	}, {
		name:   "a second instance of a service on the same node",
		setup:  web1,
		apply:  registerSkip("n1", "", service("web2", "web", 81)),
		events: []string{"catalog.service.updated web id=web2 node=n1 port=81 @2/2"},
	}, {
		name:  "weights default to 1/1, so sending 1/1 is no change",
		setup: web1,
		apply: registerSkip("n1", "", &event.Service{ID: "web1", Service: "web", Port: 80, Tags: []string{"v1"},
			Weights: event.Weights{Passing: 1, Warning: 1}}),
	}, {
		name:   "a node check without a status starts critical",
		setup:  []command.Body{register("n1", "10.0.0.1", nil)},
		apply:  registerSkip("n1", "", nil, check("serfHealth", "", "")),
		events: []string{"catalog.check.updated serfHealth node=n1 status=critical @2/2"},
	}, {
		name:  "a service and its check in one registration",
		apply: register("n1", "10.0.0.1", service("web1", "web", 80), check("web1-alive", "web1", event.HealthPassing)),
		events: []string{
			"catalog.node.updated n1 addr=10.0.0.1 @1/1",
			"catalog.service.updated web id=web1 node=n1 port=80 @1/1",
			"catalog.check.updated web1-alive node=n1 svc=web1 status=passing @1/1",
		},
	}, {
		name:   "a check on a service registered earlier, named in another case",
		setup:  web1,
		apply:  registerSkip("n1", "", nil, check("web1-ready", "WEB1", event.HealthWarning)),
		events: []string{"catalog.check.updated web1-ready node=n1 svc=web1 status=warning @2/2"},
	}, {
		// As in Consul, and nothing of the registration is applied: the
		// node is not created either.
		name:    "a check on an unknown service",
		apply:   register("n1", "10.0.0.1", nil, check("db-alive", "db1", event.HealthPassing)),
		refused: `Missing service registration for check "db-alive"`,
	}, {
		name:    "a check on a service of another node",
		setup:   then(web1, register("n2", "10.0.0.2", nil)),
		apply:   registerSkip("n2", "", nil, check("web1-alive", "web1", event.HealthPassing)),
		refused: `Missing service registration for check "web1-alive"`,
	}, {
		name:    "a check needs an ID",
		apply:   register("n1", "10.0.0.1", nil, check("", "", event.HealthPassing)),
		refused: "Must provide check ID",
	}, {
		name:   "re-registering a check with new output updates it",
		setup:  web1,
		apply:  registerSkip("n1", "", nil, event.Check{CheckID: "serfHealth", Name: "serfHealth", Status: event.HealthPassing, Output: "ok"}),
		events: []string{"catalog.check.updated serfHealth node=n1 status=passing output=ok @1/2"},
	}, {
		// As in Consul: a registration without a status means critical,
		// whatever the status was.
		name:   "re-registering a passing check without a status makes it critical",
		setup:  web1,
		apply:  registerSkip("n1", "", nil, check("serfHealth", "", "")),
		events: []string{"catalog.check.updated serfHealth node=n1 status=critical @1/2"},
	}})
}

func TestCheckStatusRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name:   "a transition updates the check",
		setup:  web1,
		apply:  checkStatus("n1", "web1-alive", event.HealthCritical, "connection refused"),
		events: []string{"catalog.check.updated web1-alive node=n1 svc=web1 status=critical output=connection refused @1/2"},
	}, {
		name:  "the same status and output is no change",
		setup: web1,
		apply: checkStatus("n1", "web1-alive", event.HealthPassing, ""),
	}, {
		name:   "new output alone updates the check",
		setup:  web1,
		apply:  checkStatus("n1", "web1-alive", event.HealthPassing, "200 OK"),
		events: []string{"catalog.check.updated web1-alive node=n1 svc=web1 status=passing output=200 OK @1/2"},
	}, {
		name:   "node and check are found without regard to case",
		setup:  web1,
		apply:  checkStatus("N1", "SERFHEALTH", event.HealthWarning, ""),
		events: []string{"catalog.check.updated serfHealth node=n1 status=warning @1/2"},
	}, {
		name:    "an unknown check",
		setup:   web1,
		apply:   checkStatus("n1", "db-alive", event.HealthCritical, ""),
		refused: `Unknown check "db-alive" on node "n1"`,
	}, {
		name:    "a check of another node",
		setup:   then(web1, register("n2", "10.0.0.2", nil)),
		apply:   checkStatus("n2", "web1-alive", event.HealthCritical, ""),
		refused: `Unknown check "web1-alive" on node "n2"`,
	}, {
		// Maintenance is a critical check of its own in Consul, never a
		// status.
		name:    "maintenance is not a status",
		setup:   web1,
		apply:   checkStatus("n1", "web1-alive", event.HealthMaint, ""),
		refused: `Invalid check status "maintenance"`,
	}})
}

func TestCatalogDeregisterRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name:   "a check",
		setup:  web1,
		apply:  deregister("n1", "", "web1-alive"),
		events: []string{"catalog.check.deleted web1-alive node=n1 svc=web1 status=passing @1/1"},
	}, {
		name:  "a service goes with its checks, not the node's",
		setup: web1,
		apply: deregister("n1", "web1", ""),
		events: []string{
			"catalog.check.deleted web1-alive node=n1 svc=web1 status=passing @1/1",
			"catalog.service.deleted web id=web1 node=n1 port=80 tags=v1 @1/1",
		},
	}, {
		name:  "a service named in another case",
		setup: web1,
		apply: deregister("N1", "WEB1", ""),
		events: []string{
			"catalog.check.deleted web1-alive node=n1 svc=web1 status=passing @1/1",
			"catalog.service.deleted web id=web1 node=n1 port=80 tags=v1 @1/1",
		},
	}, {
		name:  "a node goes with everything on it",
		setup: then(web1, registerSkip("n1", "", service("db1", "db", 5432), check("db1-alive", "db1", event.HealthCritical))),
		apply: deregister("n1", "", ""),
		events: []string{
			"catalog.check.deleted db1-alive node=n1 svc=db1 status=critical @2/2",
			"catalog.service.deleted db id=db1 node=n1 port=5432 @2/2",
			"catalog.check.deleted web1-alive node=n1 svc=web1 status=passing @1/1",
			"catalog.service.deleted web id=web1 node=n1 port=80 tags=v1 @1/1",
			"catalog.check.deleted serfHealth node=n1 status=passing @1/1",
			"catalog.node.deleted n1 addr=10.0.0.1 @1/1",
		},
	}, {
		name:   "other nodes stay",
		setup:  then(web1, register("n2", "10.0.0.2", nil)),
		apply:  deregister("n2", "", ""),
		events: []string{"catalog.node.deleted n2 addr=10.0.0.2 @2/2"},
	}, {
		// differs from Consul: Consul's FSM gives ServiceID precedence
		// and deregisters the service with its checks; Herald deletes
		// only the check.
		name:   "both a service and a check named",
		setup:  web1,
		apply:  deregister("n1", "web1", "serfHealth"),
		events: []string{"catalog.check.deleted serfHealth node=n1 status=passing @1/1"},
	}, {
		name:  "an unknown check is no change",
		setup: web1,
		apply: deregister("n1", "", "db1-alive"),
	}, {
		name:  "an unknown service is no change",
		setup: web1,
		apply: deregister("n1", "db1", ""),
	}, {
		name:  "an unknown node is no change",
		setup: web1,
		apply: deregister("n2", "", ""),
	}, {
		name:  "a service of another node is no change",
		setup: then(web1, register("n2", "10.0.0.2", nil)),
		apply: deregister("n2", "web1", ""),
	}, {
		name:    "a node must be named",
		setup:   web1,
		apply:   deregister("", "web1", ""),
		refused: "Must provide node",
	}})
}
