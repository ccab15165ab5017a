package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestWriteDetailedLayout(t *testing.T) {
	pair := &api.KVPair{Key: "redis/config/minconns", CreateIndex: 207, ModifyIndex: 207, Value: []byte("1")}
	var b bytes.Buffer
	writeDetailed(&b, pair, false)
	// The layout of Consul's documented example.
	want := "" +
		"CreateIndex      207\n" +
		"Flags            0\n" +
		"Key              redis/config/minconns\n" +
		"LockIndex        0\n" +
		"ModifyIndex      207\n" +
		"Session          -\n" +
		"Value            1\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}

	held := &api.KVPair{Key: "k", Flags: 42, LockIndex: 3, Session: "adf4238a-882b-9ddc-4a9d-5b6758e4159e",
		Value: []byte("a\tb")}
	b.Reset()
	writeDetailed(&b, held, true)
	if !strings.Contains(b.String(), "Session          adf4238a-882b-9ddc-4a9d-5b6758e4159e\n") ||
		!strings.Contains(b.String(), "Flags            42\n") ||
		!strings.HasSuffix(b.String(), "Value            YQli\n") {
		t.Errorf("got\n%s", b.String())
	}
}

func TestMarshalExport(t *testing.T) {
	out, err := marshalExport(api.KVPairs{
		{Key: "app/a", Flags: 42, Value: []byte("hello")},
		{Key: "app/b<>", Value: nil},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "[\n" +
		"\t{\n\t\t\"key\": \"app/a\",\n\t\t\"flags\": 42,\n\t\t\"value\": \"aGVsbG8=\"\n\t},\n" +
		"\t{\n\t\t\"key\": \"app/b\\u003c\\u003e\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"\"\n\t}\n" +
		"]"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}

	if out, _ := marshalExport(nil); string(out) != "[]" {
		t.Errorf("empty export = %s, want []", out)
	}
}

func TestParseImport(t *testing.T) {
	doc := `[{"key":"a/b","flags":7,"value":"aGk="},{"key":"folder/","flags":0,"value":""}]`
	pairs, err := parseImport([]byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 2 || pairs[0].Key != "a/b" || pairs[0].Flags != 7 || string(pairs[0].Value) != "hi" ||
		pairs[1].Key != "folder/" || len(pairs[1].Value) != 0 {
		t.Errorf("pairs = %+v %+v", pairs[0], pairs[1])
	}

	pairs, err = parseImport([]byte(doc), "backup/")
	if err != nil || pairs[0].Key != "backup/a/b" || pairs[1].Key != "backup/folder/" {
		t.Errorf("with prefix: %v %+v", err, pairs)
	}

	for _, bad := range []string{`{"key":"x"}`, `[{"key":"x","value":"!!"}]`, `not json`} {
		if _, err := parseImport([]byte(bad), ""); err == nil {
			t.Errorf("parseImport(%s) did not fail", bad)
		}
	}
}

func TestJoinKey(t *testing.T) {
	for _, tt := range []struct{ prefix, key, want string }{
		{"", "a/b", "a/b"},
		{"", "a//b/", "a//b/"},
		{"p", "a", "p/a"},
		{"p/", "a", "p/a"},
		{"p/", "/a/", "p/a/"},
	} {
		if got := joinKey(tt.prefix, tt.key); got != tt.want {
			t.Errorf("joinKey(%q, %q) = %q, want %q", tt.prefix, tt.key, got, tt.want)
		}
	}
}

func TestReadDataArg(t *testing.T) {
	file := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(file, []byte("from file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ arg, stdin, want string }{
		{"plain", "ignored", "plain"},
		{"", "ignored", ""},
		{"-", "from stdin\n", "from stdin\n"},
		{"@" + file, "ignored", "from file\n"},
		{"a@b", "", "a@b"},
		{"--", "", "--"},
	} {
		got, err := readDataArg(tt.arg, strings.NewReader(tt.stdin))
		if err != nil || string(got) != tt.want {
			t.Errorf("readDataArg(%q) = %q, %v; want %q", tt.arg, got, err, tt.want)
		}
	}
	if _, err := readDataArg("@"+file+".missing", nil); err == nil ||
		!strings.HasPrefix(err.Error(), "Failed to read file: ") {
		t.Errorf("missing file: %v", err)
	}
}

// These mistakes are all caught before any request is made, so they need no
// agent; the address points nowhere to prove it.
func TestKVArgumentErrors(t *testing.T) {
	dir := t.TempDir()
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": "127.0.0.1:1"}}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"kv", "get"}, "Error! Missing KEY argument\n"},
		{[]string{"kv", "get", "/"}, "Error! Missing KEY argument\n"},
		{[]string{"kv", "get", "a", "b"}, "Error! Too many arguments (expected 1, got 2)\n"},
		{[]string{"kv", "put"}, "Error! Missing KEY argument\n"},
		{[]string{"kv", "put", "k", "v", "extra"}, "Error! Too many arguments (expected 1 or 2, got 3)\n"},
		{[]string{"kv", "put", "-cas", "k", "v"}, "Error! -cas requires -modify-index\n"},
		{[]string{"kv", "put", "-modify-index=3", "k", "v"}, "Error! -modify-index is only meaningful with -cas\n"},
		{[]string{"kv", "put", "-acquire", "k"}, "Error! Missing -session (required with -acquire and -release)\n"},
		{[]string{"kv", "put", "-release", "k"}, "Error! Missing -session (required with -acquire and -release)\n"},
		{[]string{"kv", "put", "-acquire", "-release", "-session=s", "k"}, "Error! -acquire and -release cannot be used together\n"},
		{[]string{"kv", "put", "-cas", "-modify-index=1", "-acquire", "-session=s", "k"}, "Error! -cas cannot be combined with -acquire or -release\n"},
		{[]string{"kv", "put", "-base64", "k", "not base64!"}, "Error! Cannot base 64 decode data: illegal base64 data at input byte 3\n"},
		{[]string{"kv", "put", "k", "@" + filepath.Join(dir, "missing")}, "Error! Failed to read file: open " + filepath.Join(dir, "missing") + ": no such file or directory\n"},
		{[]string{"kv", "put", "-flags=-1", "k"}, ""}, // flag error; checked by prefix below
		{[]string{"kv", "delete"}, "Error! Missing KEY argument\n"},
		{[]string{"kv", "delete", "-cas", "k"}, "Error! -cas requires -modify-index\n"},
		{[]string{"kv", "delete", "-cas", "-modify-index=2", "-recurse", "k"}, "Error! -cas cannot be combined with -recurse\n"},
		{[]string{"kv", "delete", "-modify-index=2", "k"}, "Error! -modify-index is only meaningful with -cas\n"},
		{[]string{"kv", "export", "a", "b"}, "Error! Too many arguments (expected 1, got 2)\n"},
		{[]string{"kv", "import"}, "Error! Missing DATA argument\n"},
		{[]string{"kv", "import", "a", "b"}, "Error! Too many arguments (expected 1, got 2)\n"},
		{[]string{"kv", "import", "{not json"}, "Error! Cannot unmarshal data: invalid character 'n' looking for beginning of object key string\n"},
	}
	for _, tt := range tests {
		r := inv.run(t, tt.args...)
		if tt.want == "" {
			if r.code != 1 || !strings.HasPrefix(r.stderr, "invalid value") {
				t.Errorf("%v: got %+v", tt.args, r)
			}
			continue
		}
		if r.code != 1 || r.stderr != tt.want || r.stdout != "" {
			t.Errorf("%v: code %d stdout %q stderr %q; want stderr %q", tt.args, r.code, r.stdout, r.stderr, tt.want)
		}
	}
}
