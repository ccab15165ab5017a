package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

type historyAnswer struct {
	First, Index uint64
	Entries      []struct {
		Index         uint64
		Time          string
		Type, Op      string
		Node          string
		Before, After *api.KVPair
	}
}

func keyHistory(t *testing.T, c *api.Client, key string, q *api.QueryOptions) historyAnswer {
	t.Helper()
	var h historyAnswer
	if _, err := c.Raw().Query("/v1/internal/ui/history/kv/"+key, &h, q); err != nil {
		t.Fatalf("history of %s: %v", key, err)
	}
	return h
}

// getHistory reads a history URL with plain net/http (the official client
// sends no custom query parameters) and returns the status.
func getHistory(t *testing.T, addr, pathAndQuery string, out any) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v1/internal/ui/history/" + pathAndQuery)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("history %s: %v", pathAndQuery, err)
		}
	}
	return resp.StatusCode
}

func value(p *api.KVPair) string {
	if p == nil {
		return "-"
	}
	return string(p.Value)
}

// writeKeyHistory sets key to 1 and 2, deletes it and sets it to 3; it
// returns the index of the first write.
func writeKeyHistory(t *testing.T, kv *api.KV, key string) uint64 {
	t.Helper()
	mustPut(t, kv, key, "1")
	p, _, err := kv.Get(key, nil)
	if err != nil || p == nil {
		t.Fatalf("get %s: %v %v", key, p, err)
	}
	mustPut(t, kv, key, "2")
	if _, err := kv.Delete(key, nil); err != nil {
		t.Fatal(err)
	}
	mustPut(t, kv, key, "3")
	return p.ModifyIndex
}

func TestUIHistoryOfAKey(t *testing.T) {
	c, base := newClient(t)
	addr := strings.TrimPrefix(base, "http://")
	first := writeKeyHistory(t, c.KV(), "app/conf")
	mustPut(t, c.KV(), "app/other", "x")

	h := keyHistory(t, c, "app/conf", nil)
	var got []string
	for _, e := range h.Entries {
		got = append(got, fmt.Sprintf("%s %s>%s", e.Op, value(e.Before), value(e.After)))
		if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil || e.Type != "kv" {
			t.Fatalf("entry %+v: time %v", e, err)
		}
	}
	if want := "[set ->3 delete 2>- set 1>2 set ->1]"; fmt.Sprint(got) != want {
		t.Fatalf("history of app/conf, newest first: %v, want %s", got, want)
	}
	if h.Entries[3].Index != first || h.First > first || h.Index < h.Entries[0].Index {
		t.Fatalf("indexes: first entry %d (want %d), history %d..%d", h.Entries[3].Index, first, h.First, h.Index)
	}
	var page historyAnswer
	getHistory(t, addr, fmt.Sprintf("kv/app/conf?limit=2&before=%d", h.Entries[0].Index), &page)
	if len(page.Entries) != 2 || value(page.Entries[0].After) != "-" {
		t.Fatalf("a page before the newest: %+v", page.Entries)
	}

	var at struct {
		Index uint64
		State *api.KVPair
	}
	if code := getHistory(t, addr, fmt.Sprintf("kv/app/conf?at=%d", first), &at); code != http.StatusOK {
		t.Fatalf("at %d: %d", first, code)
	}
	if at.Index != first || value(at.State) != "1" {
		t.Fatalf("app/conf at %d: %+v, want the value 1", first, at)
	}
	if code := getHistory(t, addr, "bogus/x", &at); code != http.StatusBadRequest {
		t.Fatalf("an unknown kind: %d, want 400", code)
	}
	if code := getHistory(t, addr, fmt.Sprintf("kv/app/conf?at=%d", h.Index+1000), &at); code != http.StatusBadRequest {
		t.Fatalf("an index beyond the last applied: %d, want 400", code)
	}
	if code := getHistory(t, addr, fmt.Sprintf("kv/app/conf?at=%d", h.First-1), &at); h.First > 1 && code != http.StatusBadRequest {
		t.Fatalf("an index before the history: %d, want 400", code)
	}
}

func TestUIHistoryOfAServiceAndANode(t *testing.T) {
	c, _ := newClient(t)
	register(t, c, "n1", "web1", "web", []string{"v1"})
	register(t, c, "n1", "web1", "web", []string{"v2"})
	var h struct {
		Entries []struct {
			Type          string
			Before, After []api.CatalogService
		}
	}
	if _, err := c.Raw().Query("/v1/internal/ui/history/service/web", &h, nil); err != nil {
		t.Fatal(err)
	}
	if len(h.Entries) != 2 || len(h.Entries[1].Before) != 0 || h.Entries[0].After[0].ServiceTags[0] != "v2" ||
		h.Entries[0].Before[0].ServiceTags[0] != "v1" || h.Entries[0].After[0].Node != "n1" {
		t.Fatalf("history of web: %+v", h.Entries)
	}
	var n struct {
		Entries []struct {
			After struct {
				Node     api.Node
				Services []api.AgentService
			}
		}
	}
	if _, err := c.Raw().Query("/v1/internal/ui/history/node/n1", &n, nil); err != nil {
		t.Fatal(err)
	}
	if len(n.Entries) != 2 || n.Entries[0].After.Node.Address != "10.0.0.1" || len(n.Entries[0].After.Services) != 1 {
		t.Fatalf("history of n1: %+v", n.Entries)
	}
}

func TestUIHistoryIsFilteredByACL(t *testing.T) {
	a, _, _, root := aclServer(t, "-hcl", `acl { default_policy = "deny" }`)
	needsEnforcement(t, a.HTTPAddr())
	needsRulesParser(t)
	mustPut(t, root.KV(), "public/x", "1")
	mustPut(t, root.KV(), "secret/x", "1")
	policy, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "public-reader",
		Rules: `key_prefix "public/" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := root.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: tok.SecretID})
	if h := keyHistory(t, c, "public/x", nil); len(h.Entries) != 1 {
		t.Fatalf("a reader's history of public/x: %+v", h)
	}
	var h historyAnswer
	if _, err := c.Raw().Query("/v1/internal/ui/history/kv/secret/x", &h, nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("the history of a key the token may not read: %v, want 403", err)
	}
}

// A client agent holds no history: it asks a server.
func TestUIHistoryThroughAClientAgent(t *testing.T) {
	srv := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-node=srv", "-data-dir="+t.TempDir(),
		fmt.Sprintf("-nats-port=%d", agenttest.FreePort(t)))
	cs := agenttest.Client(t, srv.HTTPAddr())
	members, err := cs.Agent().Members(false)
	if err != nil || len(members) == 0 {
		t.Fatalf("members: %v %v", members, err)
	}
	cli := agenttest.Start(t, "-node=cli", "-data-dir="+t.TempDir(), fmt.Sprintf("-retry-join=%s:%d", members[0].Addr, members[0].Port))
	cc := agenttest.Client(t, cli.HTTPAddr())
	first := writeKeyHistory(t, cc.KV(), "via/client")
	var at struct {
		State *api.KVPair
	}
	poll.Eventually(t, 30*time.Second, "the client agent answers the history", func() (bool, string) {
		code := getHistory(t, cli.HTTPAddr(), fmt.Sprintf("kv/via/client?at=%d", first), &at)
		return code == http.StatusOK, fmt.Sprint(code)
	})
	if value(at.State) != "1" {
		t.Fatalf("via/client at %d through the client agent: %+v", first, at.State)
	}
	if got := base64.StdEncoding.EncodeToString(at.State.Value); got != "MQ==" {
		t.Fatalf("value %s", got)
	}
	if h := keyHistory(t, cc, "via/client", nil); len(h.Entries) != 4 || h.Entries[0].Node != "cli" {
		t.Fatalf("history through the client agent: %+v", h.Entries)
	}
}
