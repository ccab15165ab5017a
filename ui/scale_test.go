package ui_test

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// The services page with 5,000 services × 3 instances (on 1,000 nodes,
// each instance with a check): how long from navigation to the rows on
// screen, and whether the page keeps up while 100 checks a second change
// status. Registering 15,000 instances takes a while, so the test runs
// only with HERALD_UI_SCALE=1; it reports, it does not assert timings.
func TestServicesPageAtScale(t *testing.T) {
	if os.Getenv("HERALD_UI_SCALE") == "" {
		t.Skip("set HERALD_UI_SCALE=1 to load 5,000 services × 3 instances")
	}
	const services, instances, nodes, perTxn = 5000, 3, 1000, 64
	a, c := startUI(t)

	var ops api.TxnOps
	flush := func() {
		t.Helper()
		if len(ops) == 0 {
			return
		}
		ok, resp, _, err := c.Txn().Txn(ops, nil)
		if err != nil || !ok {
			t.Fatalf("txn: %v %+v", err, resp)
		}
		ops = ops[:0]
	}
	add := func(op *api.TxnOp) {
		ops = append(ops, op)
		if len(ops) == perTxn {
			flush()
		}
	}
	node := func(i int) string { return fmt.Sprintf("node-%04d", i%nodes) }
	start := time.Now()
	for n := range nodes {
		add(&api.TxnOp{Node: &api.NodeTxnOp{Verb: api.NodeSet, Node: api.Node{Node: node(n), Address: fmt.Sprintf("10.0.%d.%d", n/256, n%256)}}})
	}
	for s := range services {
		name := fmt.Sprintf("svc-%05d", s)
		for i := range instances {
			id := fmt.Sprintf("%s-%d", name, i)
			n := node(s*instances + i)
			add(&api.TxnOp{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Node: n,
				Service: api.AgentService{ID: id, Service: name, Tags: []string{"v1", "primary"}, Port: 8000 + i}}})
			add(&api.TxnOp{Check: &api.CheckTxnOp{Verb: api.CheckSet, Check: api.HealthCheck{Node: n,
				CheckID: "check-" + id, Name: "alive", ServiceID: id, ServiceName: name, Status: api.HealthPassing}}})
		}
	}
	flush()
	t.Logf("registered %d services × %d instances in %v", services, instances, time.Since(start).Round(time.Millisecond))

	p := openPage(t, a.HTTPAddr(), 1280, 800)
	var loads []float64
	for round := range 5 {
		p.open("services")
		p.waitFor("the 5,000 services are listed", `document.querySelector('#count') && document.querySelector('#count').innerText.endsWith("of 5001")`)
		marks, err := eval[map[string]float64](p, `(() => {
			const at = (name) => performance.getEntriesByName(name)[0].startTime;
			const nav = performance.getEntriesByType('navigation')[0];
			return {html: nav.responseEnd, script: at('herald:script'), message: at('herald:first-rows:services'), shown: at('herald:services-shown')};
		})()`)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("load %d: navigation to rows shown: %.0f ms (index.html %.0f ms, script running %.0f ms, first stream message %.0f ms)",
			round+1, marks["shown"], marks["html"], marks["script"], marks["message"])
		loads = append(loads, marks["shown"])
	}
	slices.Sort(loads)
	t.Logf("navigation to rows shown over %d loads: median %.0f ms, best %.0f ms, worst %.0f ms", len(loads), loads[len(loads)/2], loads[0], loads[len(loads)-1])
	p.shot("services-5000")

	// 100 checks a second change status while the page is open: ten a
	// tenth of a second, in one transaction each.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			var flips api.TxnOps
			for j := range 10 {
				s := (k*10 + j) % services
				name := fmt.Sprintf("svc-%05d", s)
				status := api.HealthCritical
				if k%2 == 1 {
					status = api.HealthPassing
				}
				flips = append(flips, &api.TxnOp{Check: &api.CheckTxnOp{Verb: api.CheckSet, Check: api.HealthCheck{Node: node(s * instances),
					CheckID: "check-" + name + "-0", Name: "alive", ServiceID: name + "-0", ServiceName: name, Status: status}}})
			}
			c.Txn().Txn(flips, nil)
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	// While the checks change: a search answers, and the frames keep
	// coming (the longest gap between two animation frames over 3 s).
	p.do("watch the frames", `window.frameGaps = []; (() => { let last = performance.now(); const end = last + 3000;
		const f = (now) => { window.frameGaps.push(now - last); last = now; if (now < end) requestAnimationFrame(f); else window.framesDone = true; };
		requestAnimationFrame(f); })()`)
	before := time.Now()
	p.typeIn(`input[type=search]`, "svc-04999")
	p.waitFor("the search finds the one service", `document.querySelector('#count').innerText.startsWith("1 of")`)
	t.Logf("search while 100 checks/s change: %v until the list shows the match", time.Since(before).Round(time.Millisecond))
	p.waitFor("three seconds of frames", `window.framesDone`)
	gap, _ := eval[float64](p, `Math.max(...window.frameGaps)`)
	frames, _ := eval[float64](p, `window.frameGaps.length`)
	t.Logf("while 100 checks/s change: %.0f frames in 3 s, longest gap %.0f ms", frames, gap)

	// A change's delay to the page at this size: a check turns critical.
	p.typeIn(`input[type=search]`, "svc-04998")
	p.waitFor("the search finds svc-04998", `document.querySelector('[data-service="svc-04998"].passing')`)
	delay := changeDelay(t, p, `document.querySelector('[data-service="svc-04998"].critical')`, func() {
		if _, _, _, err := c.Txn().Txn(api.TxnOps{{Check: &api.CheckTxnOp{Verb: api.CheckSet, Check: api.HealthCheck{Node: node(4998 * instances),
			CheckID: "check-svc-04998-0", Name: "alive", ServiceID: "svc-04998-0", ServiceName: "svc-04998", Status: api.HealthCritical}}}}, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("a check turned critical through the API reached the page in %v (with 100 checks/s changing)", delay)
	p.shot("services-5000-search")
}
