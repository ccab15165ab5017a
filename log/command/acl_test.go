package command

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/heraldhq/herald/event"
)

// The ACL bodies that carry a SecretID print without it, and redacting
// leaves the command itself alone.
func TestACLBodiesRedacted(t *testing.T) {
	const secret = "5e3c1a9e-0000-4000-8000-000000000001"
	set := &ACLTokenSetBody{Create: true, SecretID: secret, Token: event.ACLToken{AccessorID: "a1"}}
	for _, b := range []interface{ Redacted() Body }{
		set,
		&ACLBootstrapBody{AccessorID: "a1", SecretID: secret},
		&ACLInitBody{ManagementAccessorID: "a1", ManagementSecretID: secret},
	} {
		out, err := json.Marshal(b.Redacted())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), secret) || !strings.Contains(string(out), "a1") {
			t.Errorf("%T redacted: %s", b, out)
		}
	}
	if set.SecretID != secret {
		t.Error("Redacted changed the body it copies")
	}
}
