package ui_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// startDC starts a one-server datacenter with the WAN and the UI on.
func startDC(t *testing.T, dc string) (string, *api.Client) {
	t.Helper()
	a := agenttest.Start(t, "-server", "-bootstrap", "-data-dir="+t.TempDir(), "-node=s-"+dc, "-ui",
		"-datacenter="+dc, "-serf-wan-port=0", "-nats-gateway-port=0")
	return a.HTTPAddr(), agenttest.Client(t, a.HTTPAddr())
}

// Two datacenters federated over the WAN: dc1's page switches to dc2 with
// the header's select and shows dc2's services (read through ?dc=, the
// stream being dc1's own), and a key created in dc2's KV page is written
// to dc2, whose history the key's history page shows.
func TestDatacenterSwitcherShowsTheOtherDatacenter(t *testing.T) {
	addr1, c1 := startDC(t, "dc1")
	_, c2 := startDC(t, "dc2")
	var wan []*api.AgentMember
	poll.Eventually(t, 20*time.Second, "dc2's own WAN member", func() (bool, string) {
		var err error
		wan, err = c2.Agent().Members(true)
		return err == nil && len(wan) == 1, fmt.Sprint(wan, err)
	})
	if err := c1.Agent().Join(fmt.Sprintf("%s:%d", wan[0].Addr, wan[0].Port), true); err != nil {
		t.Fatalf("join -wan: %v", err)
	}
	poll.Eventually(t, 20*time.Second, "dc1 knows dc2", func() (bool, string) {
		dcs, err := c1.Catalog().Datacenters()
		return err == nil && slices.Equal(dcs, []string{"dc1", "dc2"}), fmt.Sprint(dcs, err)
	})
	if err := c1.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-dc1", Name: "web-dc1"}); err != nil {
		t.Fatal(err)
	}
	if err := c2.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-dc2", Name: "web-dc2"}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 20*time.Second, "dc2's service read through dc1", func() (bool, string) {
		svcs, _, err := c1.Catalog().Services(&api.QueryOptions{Datacenter: "dc2"})
		_, ok := svcs["web-dc2"]
		return err == nil && ok, fmt.Sprint(svcs, err)
	})

	p := openPage(t, addr1, 1280, 800)
	p.open("services")
	p.waitFor("dc1's service", `document.querySelector('[data-service="web-dc1"]')`)
	p.waitFor("the switcher offers dc2", `Array.from(document.querySelectorAll('select[aria-label="Datacenter"] option')).some(o => o.value === "dc2")`)
	p.do("switch to dc2", `(() => {
		const s = document.querySelector('select[aria-label="Datacenter"]');
		s.value = "dc2";
		s.dispatchEvent(new Event("change", {bubbles: true}));
	})()`)
	p.waitFor("dc2's services page shows dc2's service", `location.pathname.endsWith("/ui/dc2/services") && document.querySelector('[data-service="web-dc2"]') && !document.querySelector('[data-service="web-dc1"]')`)
	p.waitFor("the page follows dc2 live", `document.querySelector('.live.is-live')`)
	// A change in dc2 reaches the open page (blocking queries through ?dc=).
	if err := c2.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "api-dc2", Name: "api-dc2"}); err != nil {
		t.Fatal(err)
	}
	p.waitFor("a service registered in dc2 afterwards", `document.querySelector('[data-service="api-dc2"]')`)
	p.shot("dc2-services")

	// A bookmarked address of dc2 loads dc2's page directly. (The KV
	// root holds a key: the blocking query of an empty folder is answered
	// 404, as Consul's is, and the browser logs every 404 as an error.)
	if _, err := c2.KV().Put(&api.KVPair{Key: "seed", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	p.run("open dc2's KV", chromedp.Navigate("http://"+addr1+"/ui/dc2/kv/"))
	p.waitFor("dc2's KV root", `document.querySelector('[data-key="seed"]') && document.querySelector('.live.is-live')`)
	p.typeIn(`input[name=key]`, "where")
	p.typeIn(`textarea[name=value]`, "dc2")
	p.click(`button[type=submit]`, "Create")
	p.waitFor("the page moves to the new key", `location.pathname.endsWith("/ui/dc2/kv/where") && document.querySelector('#loaded-index')`)
	if pair, _, err := c2.KV().Get("where", nil); err != nil || pair == nil || string(pair.Value) != "dc2" {
		t.Fatalf("the key created in dc2's page, read in dc2: %+v %v", pair, err)
	}
	if pair, _, err := c1.KV().Get("where", nil); err != nil || pair != nil {
		t.Fatalf("the key created in dc2's page is in dc1: %+v %v", pair, err)
	}
	// The key's history is dc2's, read through ?dc=.
	pair, _, err := c2.KV().Get("where", nil)
	if err != nil || pair == nil {
		t.Fatal(pair, err)
	}
	p.click(`a.button`, "History")
	p.waitFor("dc2's history of the key", fmt.Sprintf(
		`location.pathname.endsWith("/ui/dc2/history/kv/where") && Array.from(document.querySelectorAll('ol.history > li')).some(li => li.dataset.index === "%d")`, pair.ModifyIndex))
}
