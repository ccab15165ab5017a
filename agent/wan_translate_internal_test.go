package agent

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/heraldhq/herald/agent/wan"
)

// translateHTTP rewrites each translated answer's shape, keeps the indexes
// exact and ?pretty's indentation, and leaves errors and other paths alone.
func TestTranslateHTTPShapes(t *testing.T) {
	node := `{"Node":"n1","Address":"10.0.0.1","TaggedAddresses":{"wan":"198.51.100.1"},"ModifyIndex":9007199254740993}`
	svc := `{"Address":"10.0.0.2","Port":80,"TaggedAddresses":{"wan":{"Address":"198.51.100.2","Port":8080}}}`
	cases := []struct {
		path, body string
		want       []string
	}{
		{"/v1/catalog/node-services/n1", `{"Node":` + node + `,"Services":[]}`, []string{`"Address":"198.51.100.1"`, `9007199254740993`}},
		{"/v1/catalog/connect/web", `[{"Node":"n1","Address":"10.0.0.1","TaggedAddresses":{"wan":"198.51.100.1"},` +
			`"ServiceAddress":"10.0.0.2","ServicePort":80,"ServiceTaggedAddresses":{"wan":{"Address":"198.51.100.2","Port":8080}}}]`,
			[]string{`"Address":"198.51.100.1"`, `"ServiceAddress":"198.51.100.2"`, `"ServicePort":8080`}},
		{"/v1/health/ingress/web", `[{"Node":` + node + `,"Service":` + svc + `,"Checks":[]}]`,
			[]string{`"Address":"198.51.100.1"`, `"Address":"198.51.100.2"`, `"Port":8080`}},
		{"/v1/query/abc/execute", `{"Service":"web","Nodes":[{"Node":` + node + `,"Service":` + svc + `}],"Datacenter":"dc2"}`,
			[]string{`"Address":"198.51.100.1"`, `"Port":8080`, `"Datacenter":"dc2"`}},
	}
	for _, tc := range cases {
		resp := &wan.HTTPResponse{Status: http.StatusOK, Body: []byte(tc.body)}
		translateHTTP(tc.path, false, resp)
		for _, w := range tc.want {
			if !strings.Contains(string(resp.Body), w) {
				t.Errorf("%s: %s, want %s in it", tc.path, resp.Body, w)
			}
		}
		if resp.Header.Get(translateHeader) != "true" {
			t.Errorf("%s: no %s header", tc.path, translateHeader)
		}
	}

	pretty := &wan.HTTPResponse{Status: http.StatusOK, Body: []byte("[" + node + "]")}
	translateHTTP("/v1/catalog/nodes", true, pretty)
	var back []map[string]any
	if err := json.Unmarshal(pretty.Body, &back); err != nil || !strings.Contains(string(pretty.Body), "\n    ") ||
		back[0]["Address"] != "198.51.100.1" {
		t.Errorf("?pretty: %s %v", pretty.Body, err)
	}
	for _, untouched := range []struct {
		path   string
		status int
	}{{"/v1/kv/a", http.StatusOK}, {"/v1/catalog/nodes", http.StatusInternalServerError}} {
		body := "[" + node + "]"
		resp := &wan.HTTPResponse{Status: untouched.status, Body: []byte(body)}
		translateHTTP(untouched.path, false, resp)
		if string(resp.Body) != body || resp.Header.Get(translateHeader) != "" {
			t.Errorf("%s (%d) was rewritten: %s", untouched.path, untouched.status, resp.Body)
		}
	}
}
