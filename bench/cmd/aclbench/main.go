// Command aclbench measures what enforcing ACLs costs: it starts two
// one-server Heralds persisting with fsync, one with ACLs off and one with
// ACLs on (default policy deny, the requests carrying a token whose policy
// grants a key prefix, DNS answering with a default token that reads
// services), runs the same scenarios against both, interleaved, and prints
// each scenario's rate with ACLs on as a share of the rate with them off.
// The security issue's bar is 0.90: enforcement may cost at most 10 %.
//
// Usage, from the repository root after `go build -o bin/herald ./cmd/herald`:
//
//	go run ./bench/cmd/aclbench [-duration=10s] [-json=FILE]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/bench"
	"github.com/heraldhq/herald/event"
)

// tool prefixes what aclbench says on stderr.
var tool = bench.Tool{Name: "aclbench"}

// minShare is the rate with ACLs on, as a share of the rate with them off,
// that the security issue asks for.
const minShare = 0.90

// dnsInstances is how many instances the SRV answers hold.
const dnsInstances = 3

type options struct {
	herald        string
	duration      time.Duration
	warmup        time.Duration
	rounds        int
	putClients    int
	dnsClients    int
	tmp, jsonPath string
	keep, strict  bool
	startTimeout  time.Duration
}

func main() { os.Exit(run()) }

func parseFlags() (options, error) {
	var o options
	flag.StringVar(&o.herald, "herald", "./bin/herald", "Herald binary (build: go build -o bin/herald ./cmd/herald)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario per target")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each scenario per target")
	flag.IntVar(&o.rounds, "rounds", 2, "split each measurement into this many slices, alternating targets")
	flag.IntVar(&o.putClients, "put-clients", 64, "concurrent clients of the kv put scenario")
	flag.IntVar(&o.dnsClients, "dns-clients", 32, "concurrent clients of the DNS SRV scenario")
	flag.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	flag.StringVar(&o.tmp, "tmp", "", "parent of the temporary directory holding the servers' data")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data and server logs)")
	flag.BoolVar(&o.strict, "strict", false, "exit with status 3 if enforcement costs more than the bar")
	flag.DurationVar(&o.startTimeout, "start-timeout", 30*time.Second, "how long a server may take to accept its first write")
	flag.Parse()
	var err error
	if o.herald, err = exec.LookPath(o.herald); err != nil {
		return o, fmt.Errorf("herald binary not found (%v): build it with `go build -o bin/herald ./cmd/herald` or pass -herald=PATH", err)
	}
	return o, nil
}

// contender is one of the two servers and the token its requests carry.
type contender struct {
	name  string
	h     *bench.Herald
	token string // "" with ACLs off
}

func run() int {
	o, err := parseFlags()
	if err != nil {
		return tool.Fail(2, err)
	}
	ctx, dir, end, err := tool.Begin(o.tmp, o.keep)
	if err != nil {
		return tool.Fail(1, err)
	}
	defer end()

	management := event.NewUUID()
	aclOn := fmt.Sprintf(`acl { enabled = true
  default_policy = "deny"
  tokens { initial_management = %q }
}`, management)
	var cs []*contender
	defer func() {
		for _, c := range cs {
			c.h.Stop()
		}
	}()
	for _, spec := range []struct {
		name  string
		extra []string
	}{{"acl-off", nil}, {"acl-on", []string{"-hcl=" + aclOn}}} {
		h, err := bench.StartHerald(bench.HeraldConfig{Bin: o.herald, Dir: dir, Name: spec.name, Node: "n1", DNS: true, Extra: spec.extra})
		if err != nil {
			return tool.Abort(ctx, err)
		}
		cs = append(cs, &contender{name: spec.name, h: h})
	}
	cs[1].token = management // until the application token exists
	for _, c := range cs {
		t := kvTarget(c, 1)
		err := c.h.WaitWrite(ctx, o.startTimeout, t, "bench/ready", "accept a write", nil)
		t.Close()
		if err != nil {
			return tool.Abort(ctx, err)
		}
		tool.Logf("%s ready on %s", c.name, c.h.HTTPAddr)
	}
	if err := setUp(ctx, cs[1], management); err != nil {
		return tool.Abort(ctx, fmt.Errorf("setting up ACLs: %w", err))
	}
	for _, c := range cs {
		api := bench.NewConsulHTTP(c.h.HTTPAddr)
		api.Token = management
		if c.token == "" {
			api.Token = ""
		}
		err := api.RegisterInstances(ctx, "web", dnsInstances)
		api.Close()
		if err != nil {
			return tool.Abort(ctx, fmt.Errorf("registering web on %s: %w", c.name, err))
		}
	}

	var rep report
	rep.Duration = o.duration.String()
	iv := bench.Interleave{Duration: o.duration, Rounds: o.rounds, Warmup: o.warmup}
	put := func(ctx context.Context, i int, d time.Duration, _ bool) (bench.Result, error) {
		t := kvTarget(cs[i], o.putClients)
		defer t.Close()
		return bench.Run(ctx, t, bench.Config{Op: bench.OpPut, Concurrency: o.putClients, Duration: d}), nil
	}
	srv := func(ctx context.Context, i int, d time.Duration, _ bool) (bench.Result, error) {
		q := bench.DNSQuery{Addr: cs[i].h.DNSAddr, Name: "web.service.consul.", Type: dns.TypeSRV, Want: dnsInstances}
		return bench.RunWorkload(ctx, bench.DNSWorkload(q, o.dnsClients, d))
	}
	for n, sc := range []struct {
		name    string
		measure func(context.Context, int, time.Duration, bool) (bench.Result, error)
	}{{fmt.Sprintf("kv put@%d", o.putClients), put}, {fmt.Sprintf("dns srv@%d", o.dnsClients), srv}} {
		iv.Shift = n
		res, err := iv.Run(ctx, len(cs), sc.measure)
		if err != nil {
			return tool.Abort(ctx, fmt.Errorf("%s: %w", sc.name, err))
		}
		for i, r := range res {
			if r.Errors > 0 {
				tool.Logf("%s on %s: %d errors, the first: %s", sc.name, cs[i].name, r.Errors, r.FirstError)
			}
		}
		rep.add(sc.name, res[0], res[1])
	}
	rep.print(os.Stdout)
	if o.jsonPath != "" {
		if err := bench.WriteJSON(o.jsonPath, rep); err != nil {
			return tool.Fail(1, err)
		}
	}
	if o.strict && rep.missed() {
		return 3
	}
	return 0
}

// kvTarget is the KV client of a contender, sending its token.
func kvTarget(c *contender, concurrency int) *bench.ConsulKV {
	t := bench.NewConsulKV(c.h.HTTPAddr, concurrency)
	t.Token = c.token
	return t
}

// setUp gives the ACL server what an application would have: a policy
// granting the benchmark's key prefix and reading services and nodes, a
// token with it for the requests, and the same token as the agent's
// default, which DNS answers with.
func setUp(ctx context.Context, c *contender, management string) error {
	base := "http://" + c.h.HTTPAddr
	rules := fmt.Sprintf("key_prefix %q { policy = \"write\" }\nservice_prefix \"\" { policy = \"read\" }\nnode_prefix \"\" { policy = \"read\" }\n", bench.DefaultPrefix)
	var policy struct{ ID string }
	if err := call(ctx, base+"/v1/acl/policy", management, map[string]any{"Name": "bench", "Rules": rules}, &policy); err != nil {
		return err
	}
	var token struct{ SecretID string }
	if err := call(ctx, base+"/v1/acl/token", management, map[string]any{"Description": "bench",
		"Policies": []map[string]string{{"ID": policy.ID}}}, &token); err != nil {
		return err
	}
	if err := call(ctx, base+"/v1/agent/token/default", management, map[string]string{"Token": token.SecretID}, nil); err != nil {
		return err
	}
	c.token = token.SecretID
	return nil
}

// call PUTs body as JSON with token and decodes the answer into out.
func call(ctx context.Context, url, token string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("X-Consul-Token", token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s: HTTP %d: %s", url, res.StatusCode, bytes.TrimSpace(answer))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(answer, out)
}
