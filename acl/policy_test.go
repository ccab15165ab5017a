package acl

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// consulDocsExample is the example policy of Consul's rules documentation,
// in both its forms.
const (
	consulDocsExampleHCL = `
# These control access to the key/value store.
key_prefix "" {
  policy = "read"
}
key_prefix "foo/" {
  policy = "write"
}
key_prefix "foo/private/" {
  policy = "deny"
}
# Or for exact key matches
key "foo/bar/secret" {
  policy = "deny"
}

# This controls access to cluster-wide Consul operator information.
operator = "read"
`
	consulDocsExampleJSON = `{
  "key_prefix": {
    "": {
      "policy": "read"
    },
    "foo/": {
      "policy": "write"
    },
    "foo/private/": {
      "policy": "deny"
    }
  },
  "key" : {
    "foo/bar/secret" : {
      "policy" : "deny"
    }
  },
  "operator": "read"
}`
)

// rulesOf builds Rules from lines "exact key foo/bar write", "prefix
// service web read", "single operator read".
func rulesOf(t testing.TB, lines ...string) *Rules {
	t.Helper()
	r := &Rules{}
	for _, l := range lines {
		f := strings.Fields(l)
		name := func(i int) string {
			if i < len(f)-1 {
				return f[i]
			}
			return ""
		}
		a := accesses[f[len(f)-1]]
		switch f[0] {
		case "exact":
			r.add(Resource(f[1]), name(2), false, a)
		case "prefix":
			r.add(Resource(f[1]), name(2), true, a)
		case "single":
			r.addSingle(Resource(f[1]), a)
		default:
			t.Fatalf("bad rule line %q", l)
		}
	}
	return r
}

func TestParseForms(t *testing.T) {
	cases := []struct {
		name      string
		hcl, json string
		want      *Rules
	}{
		{
			name: "Consul's documented example",
			hcl:  consulDocsExampleHCL,
			json: consulDocsExampleJSON,
			want: rulesOf(t,
				"prefix key read", "prefix key foo/ write", "prefix key foo/private/ deny",
				"exact key foo/bar/secret deny", "single operator read"),
		},
		{
			name: "every segmented resource",
			hcl: `
agent "a" { policy = "read" }
agent_prefix "" { policy = "write" }
event "deploy" { policy = "write" }
event_prefix "" { policy = "read" }
key "k" { policy = "list" }
key_prefix "k/" { policy = "list" }
node "n" { policy = "deny" }
node_prefix "" { policy = "read" }
query "q" { policy = "write" }
query_prefix "" { policy = "read" }
service "web" { policy = "write" intentions = "write" }
service_prefix "" { policy = "read" }
session "n" { policy = "write" }
session_prefix "" { policy = "read" }
`,
			json: `{
"agent": {"a": {"policy": "read"}}, "agent_prefix": {"": {"policy": "write"}},
"event": {"deploy": {"policy": "write"}}, "event_prefix": {"": {"policy": "read"}},
"key": {"k": {"policy": "list"}}, "key_prefix": {"k/": {"policy": "list"}},
"node": {"n": {"policy": "deny"}}, "node_prefix": {"": {"policy": "read"}},
"query": {"q": {"policy": "write"}}, "query_prefix": {"": {"policy": "read"}},
"service": {"web": {"policy": "write", "intentions": "write"}}, "service_prefix": {"": {"policy": "read"}},
"session": {"n": {"policy": "write"}}, "session_prefix": {"": {"policy": "read"}}
}`,
			want: rulesOf(t,
				"exact agent a read", "prefix agent write",
				"exact event deploy write", "prefix event read",
				"exact key k list", "prefix key k/ list",
				"exact node n deny", "prefix node read",
				"exact query q write", "prefix query read",
				"exact service web write", "exact intention web write", "prefix service read",
				"exact session n write", "prefix session read"),
		},
		{
			name: "one-value rules; peering is accepted and grants nothing",
			hcl:  "acl = \"write\"\nkeyring = \"read\"\nmesh = \"deny\"\noperator = \"write\"\npeering = \"read\"\n",
			json: `{"acl": "write", "keyring": "read", "mesh": "deny", "operator": "write", "peering": "read"}`,
			want: rulesOf(t, "single acl write", "single keyring read", "single mesh deny", "single operator write"),
		},
		{
			name: "a block of named blocks, and arrays in JSON",
			hcl:  `service { "web" { policy = "write" } "db" { policy = "read" } }`,
			json: `{"service": [{"web": [{"policy": "write"}]}, {"db": {"policy": "read"}}]}`,
			want: rulesOf(t, "exact service web write", "exact service db read"),
		},
		{
			name: "a name given twice is merged: deny wins, else the greater access",
			hcl: `key "a" { policy = "read" }
key "a" { policy = "write" }
key "b" { policy = "write" }
key "b" { policy = "deny" }
operator = "read"
operator = "write"`,
			json: `{"key": {"a": [{"policy": "read"}, {"policy": "write"}], "b": [{"policy": "write"}, {"policy": "deny"}]},
"operator": "read", "operator": "write"}`,
			want: rulesOf(t, "exact key a write", "exact key b deny", "single operator write"),
		},
		{
			name: "names and accesses in any case, as Consul reads them",
			hcl:  `Key_Prefix "X/" { Policy = "WRITE" }` + "\nOPERATOR = \"Read\"",
			json: `{"KEY_PREFIX": {"X/": {"POLICY": "Write"}}, "Operator": "READ"}`,
			want: rulesOf(t, "prefix key X/ write", "single operator read"),
		},
		{
			name: "empty rules",
			hcl:  "\n  # nothing but a comment\n",
			json: " {} ",
			want: &Rules{},
		},
		{
			name: "an identifier as a name, and escapes in strings",
			hcl:  `key foo { policy = "read" } key "a\"b\u00e9" { policy = "write" }`,
			json: `{"key": {"foo": {"policy": "read"}, "a\"b\u00e9": {"policy": "write"}}}`,
			want: rulesOf(t, "exact key foo read", "exact key a\"bé write"),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fromHCL, err := Parse(tc.hcl)
			if err != nil {
				t.Fatalf("HCL: %v", err)
			}
			fromJSON, err := Parse(tc.json)
			if err != nil {
				t.Fatalf("JSON: %v", err)
			}
			if !reflect.DeepEqual(fromHCL, tc.want) {
				t.Errorf("HCL gave %+v, want %+v", fromHCL, tc.want)
			}
			if !reflect.DeepEqual(fromJSON, tc.want) {
				t.Errorf("JSON gave %+v, want %+v", fromJSON, tc.want)
			}
		})
	}
}

func TestParseEmptyString(t *testing.T) {
	for _, src := range []string{"", "   \n\t"} {
		r, err := Parse(src)
		if err != nil || !reflect.DeepEqual(r, &Rules{}) {
			t.Errorf("Parse(%q) = %+v, %v; want an empty policy", src, r, err)
		}
	}
}

// consulExamples are policies from Consul's documentation and its
// synthesised policies, which must all parse.
var consulExamples = []string{
	consulDocsExampleHCL,
	consulDocsExampleJSON,
	`acl = "write"`,
	`agent_prefix "" { policy = "read" }
agent "foo" { policy = "write" }
agent_prefix "bar" { policy = "deny" }`,
	`event_prefix "" { policy = "read" }
event "deploy" { policy = "write" }`,
	`key_prefix "" { policy = "read" }
key "foo" { policy = "write" }
key "bar" { policy = "deny" }`,
	`key_prefix "" { policy = "deny" }
key_prefix "bar" { policy = "list" }
key_prefix "baz" { policy = "read" }`,
	`keyring = "write"`,
	`mesh = "write"`,
	`node_prefix "" { policy = "read" }
node "app" { policy = "write" }
node "admin" { policy = "deny" }`,
	`operator = "read"`,
	`query_prefix "" { policy = "read" }
query "foo" { policy = "write" }
query "bar" { policy = "deny" }`,
	`service_prefix "" { policy = "read" }
service "app" { policy = "write" }
service "admin" { policy = "deny" }`,
	`service "app" {
  policy = "read"
  intentions = "write"
}`,
	`session_prefix "" { policy = "read" }
session "app" { policy = "write" }
session "admin" { policy = "deny" }`,
	`
service "web" {
	policy = "write"
}
service "web-sidecar-proxy" {
	policy = "write"
}
service_prefix "" {
	policy = "read"
}
node_prefix "" {
	policy = "read"
}`,
	`
node "node-1" {
	policy = "write"
}
service_prefix "" {
	policy = "read"
}`,
	`{"node_prefix": {"": {"policy": "read"}}, "service_prefix": {"": {"policy": "write", "intentions": "read"}}}`,
}

func TestParseConsulExamples(t *testing.T) {
	for _, src := range consulExamples {
		if _, err := Parse(src); err != nil {
			t.Errorf("Parse(%q): %v", src, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		src          string
		line, column int
		msg          string
	}{
		// HCL
		{`key "a" { policy = "bogus" }`, 1, 20, `Invalid key policy: "bogus" for "a"`},
		{"key_prefix \"a/\" {\n  policy = \"own\"\n}", 2, 12, `Invalid key_prefix policy: "own" for "a/"`},
		{`service "web" { policy = "list" }`, 1, 26, `Invalid service policy: "list" for "web" (want read, write or deny)`},
		{`node_prefix "" { policy = "list" }`, 1, 27, `Invalid node_prefix policy`},
		{`service "web" { policy = "read" intentions = "list" }`, 1, 46, `Invalid service intentions policy: "list" for "web"`},
		{`service_prefix "" { policy = "read" intentions = "x" }`, 1, 50, `Invalid service_prefix intentions policy`},
		{"\n\noperator = \"list\"", 3, 12, `Invalid operator policy: "list" (want read, write or deny)`},
		{`acl = "admin"`, 1, 7, `Invalid acl policy: "admin"`},
		{`peering = "bogus"`, 1, 11, `Invalid peering policy`},
		{`keys "a" { policy = "read" }`, 1, 1, `unknown rule "keys"`},
		{"key \"a\" { policy = \"read\" }\n  partition \"p\" { }", 2, 3, `unknown rule "partition"`},
		{`key "a" { policy = "read" mode = "x" }`, 1, 27, `unknown field "mode" in a key rule`},
		{`key "a" { intentions = "read" }`, 1, 11, `unknown field "intentions" in a key rule`},
		{`key "a" { policy = "read" policy = "write" }`, 1, 27, `"policy" of a key rule is set twice`},
		{`key "a" { }`, 1, 9, `Invalid key policy: no policy for "a"`},
		{`key "a" { policy = read }`, 1, 20, `Unknown token`},
		{`key "a" { policy = 3 }`, 1, 20, `must be a string`},
		{`key "a" { policy = ["read"] }`, 1, 20, `must be a string`},
		{`operator { policy = "read" }`, 1, 10, `operator must be a string`},
		{`operator "x" { policy = "read" }`, 1, 10, `operator takes no name`},
		{`key = "read"`, 1, 7, `key must be a block`},
		{`key "a" "b" { policy = "read" }`, 1, 9, `takes one name`},
		{`key { "a" = "read" }`, 1, 13, `must be a block`},
		{"key \"a\" {\n  policy = \"read\"\n", 3, 2, `object expected closing RBRACE got: EOF`},
		{`key "a { policy = "read" }`, 1, 27, `literal not terminated`},
		{`key "é" { policy = "bogus" }`, 1, 20, `for "é"`},
		{"a = " + strings.Repeat("[", 100000), 1, 21, `nested more than 16 deep`},
		{"key \"a\" {\n" + strings.Repeat("{", 16), 2, 16, `nested more than 16 deep`},
		{"# {{{{{{{{{{{{{{{{{{{{\nkey \"{{{{{{{{{{{{{{{{{{{{{{\" { policy = \"bogus\" }", 2, 41, `Invalid key policy`},
		// JSON
		{`{"key": ` + strings.Repeat("[", 100000), 1, 10, `must be an object, not an array`},
		{`{"key": {"a": {"policy": "bogus"}}}`, 1, 26, `Invalid key policy: "bogus" for "a"`},
		{"{\n  \"service\": {\n    \"web\": {\"policy\": \"list\"}\n  }\n}", 3, 23, `Invalid service policy: "list" for "web"`},
		{`{"operator": "list"}`, 1, 14, `Invalid operator policy: "list"`},
		{`{"keys": {}}`, 1, 2, `unknown rule "keys"`},
		{`{"key": {"a": {"policy": "read", "mode": "x"}}}`, 1, 34, `unknown field "mode"`},
		{`{"key": {"a": {"policy": "read", "policy": "write"}}}`, 1, 34, `set twice`},
		{`{"key": {"a": {}}}`, 1, 15, `no policy for "a"`},
		{`{"key": {"a": {"policy": 1}}}`, 1, 26, `must be a string, not 1`},
		{`{"key": {"a": {"policy": null}}}`, 1, 26, `must be a string, not null`},
		{`{"key": {"a": "read"}}`, 1, 15, `must be an object`},
		{`{"key": "read"}`, 1, 9, `must be an object of names to rules`},
		{`{"operator": {"policy": "read"}}`, 1, 14, `operator must be a string, not an object`},
		{`{"key": {"a": {"policy": "read"}}`, 1, 34, `unexpected end of JSON input`},
		{"{\"key\": {\"a\": {\"policy\" \"read\"}}}", 1, 25, `invalid character`},
		{`{"key": {}} {}`, 1, 13, `after the rules`},
		{`{"key": {"a": {"policy": tru}}}`, 1, 29, `in literal true`},
		{"{\"key\": {\"a\": {\"policy\": \"read\"}},\n\"node\": {\"b\": {\"policy\": \"bogus\"}}}", 2, 26, `Invalid node policy: "bogus" for "b"`},
		{`{"key": {}}]`, 1, 12, `invalid character`},
		{"{\n\t\"key\": {\"a\": {\"policy\": \"bogus\"}}\n}", 2, 26, `Invalid key policy`},
		{`{"key": {"é": {"policy": "bogus"}}}`, 1, 26, `for "é"`},
		{"{\"key\": {\"a\u0001\": {}}}", 1, 12, `invalid character '\x01' in string literal`},
	}
	for _, tc := range cases {
		_, err := Parse(tc.src)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", short(tc.src), err)
			continue
		}
		if se.Line != tc.line || se.Column != tc.column {
			t.Errorf("Parse(%q): error at line %d, column %d, want %d, %d: %v", short(tc.src), se.Line, se.Column, tc.line, tc.column, err)
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%q) = %q, want it to say %q", short(tc.src), err, tc.msg)
		}
		if where := fmt.Sprintf("line %d, column %d", se.Line, se.Column); !strings.Contains(err.Error(), where) {
			t.Errorf("Parse(%q) = %q, want it to say %q", short(tc.src), err, where)
		}
	}
}

// short is src cut to a length fit for a failure message.
func short(src string) string {
	if len(src) > 80 {
		return src[:80] + "..."
	}
	return src
}
