package configentry

import (
	"bytes"
	"testing"
)

// FuzzDecodeConfigEntry feeds the decoder what a client may send: it must
// never panic, and an entry it accepts and Validate passes must store a
// body that decodes again to the same body.
func FuzzDecodeConfigEntry(f *testing.F) {
	for _, seed := range []string{
		`{"Kind":"service-defaults","Name":"web","Protocol":"HTTP","Meta":{"a_b":"c"}}`,
		`{"kind":"proxy-defaults","config":{"protocol":"http","nested":{"Some_Key":1}},"mesh_gateway":{"mode":"local"}}`,
		`{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"},{"Name":"*","Action":"deny"}]}`,
		`{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a"}},"Destination":{"Service":"a","RequestTimeout":"5s"}}]}`,
		`{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50},{"Weight":50,"ServiceSubset":"v2"}]}`,
		`{"Kind":"service-resolver","Name":"web","DefaultSubset":"v1","Subsets":{"v1":{"Filter":"x"}},"ConnectTimeout":"15s"}`,
		`{"Kind":"ingress-gateway","Name":"in","Listeners":[{"Port":80,"Protocol":"http","Services":[{"Name":"*"}]}]}`,
		`{"Kind":"terminating-gateway","Name":"t","Services":[{"Name":"b","CAFile":"/x"}]}`,
		`{"Kind":"mesh","TransparentProxy":{"MeshDestinationsOnly":true}}`,
		`{"Kind":"exported-services","Name":"default","Services":[{"Name":"web","Consumers":[{"Peer":"p"}]}]}`,
		`{"Kind":"ingress-gateway","Name":"in","Listeners":[[{"Port":"80"}]]}`,
		`{"Kind":7}`, `[]`, `{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Decode(data)
		if err != nil {
			return
		}
		Normalize(e)
		if Validate(e) != nil {
			return
		}
		body, err := Body(e)
		if err != nil {
			return // values JSON cannot write (NaN weights) are refused
		}
		again, err := Decode(body)
		if err != nil {
			t.Fatalf("stored body %s does not decode: %v", body, err)
		}
		Normalize(again)
		body2, err := Body(again)
		if err != nil || !bytes.Equal(body, body2) {
			t.Fatalf("body changed on a second decode:\n%s\n%s (%v)", body, body2, err)
		}
	})
}
