package configentry

import (
	"encoding/json"
	"strings"
	"testing"
)

// A key a user writes that names no field of the entry's kind is refused
// with Consul's words, at the top and inside nested blocks; keys of
// free-form maps (Meta, Config) and every spelling of a known field
// (snake_case, any case) are not.
func TestDecodeMapRefusesUnknownKeys(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want string // "" for accepted
	}{
		{`{"Kind":"service-defaults","Name":"web","Protocol":"http","Meta":{"anything":"goes"}}`, ""},
		{`{"kind":"service-defaults","name":"web","protocol":"http","mesh_gateway":{"mode":"local"}}`, ""},
		{`{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http","unknown_to_us":1}}`, ""},
		{`{"Kind":"service-defaults","Name":"web","Protocl":"http"}`, `invalid config key "Protocl"`},
		{`{"Kind":"service-resolver","Name":"web","ConnectTimeout":"5s","Redirect":{"Servce":"db"}}`, `invalid config key "Redirect.Servce"`},
		{`{"Kind":"service-defaults","Name":"web","Color":"red","Size":1}`, "2 errors occurred"},
	} {
		var raw map[string]any
		if err := json.Unmarshal([]byte(tc.doc), &raw); err != nil {
			t.Fatal(err)
		}
		_, err := DecodeMap(raw)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.doc, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.doc, err, tc.want)
		}
	}
}
