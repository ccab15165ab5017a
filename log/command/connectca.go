package command

import "github.com/heraldhq/herald/event"

// TypeConnectCASet sets the Connect CA (ConnectCASetBody): its first root,
// a rotation to a new root, or a configuration change. Its number is
// explicit: Connect CA commands own the range 32–39.
const TypeConnectCASet Type = 32

// ConnectCASetBody changes the Connect CA if its active root is still the
// one the proposer saw (ExpectActiveRootID, "" for none): a compare-and-set,
// so that two servers that both find no root, or two rotations at once,
// leave exactly one new root and refuse the other. The proposer generates
// the keys and certificates; the state machine only records them.
type ConnectCASetBody struct {
	ExpectActiveRootID string
	// ClusterID is taken only when the CA has none yet (the first root).
	ClusterID string
	Provider  string
	// Config is the provider's configuration as JSON (Consul's
	// CAConfiguration.Config, without the private key).
	Config []byte
	// Root, when set, becomes the active root; the previous roots stay
	// listed, inactive, until they expire. Without it only the
	// configuration changes.
	Root *event.CARoot
}

func (b *ConnectCASetBody) Type() Type { return TypeConnectCASet }

// Redacted is the body without the root's private key (see Redactor).
func (b *ConnectCASetBody) Redacted() Body {
	c := *b
	if b.Root != nil && b.Root.PrivateKey != "" {
		root := *b.Root
		root.PrivateKey = RedactedText
		c.Root = &root
	}
	return &c
}

func (b *ConnectCASetBody) encode(e *encoder) {
	e.string(b.ExpectActiveRootID)
	e.string(b.ClusterID)
	e.string(b.Provider)
	e.bytes(b.Config)
	e.bool(b.Root != nil)
	if r := b.Root; r != nil {
		e.string(r.ID)
		e.string(r.Name)
		e.uvarint(r.SerialNumber)
		e.string(r.SigningKeyID)
		e.varint(r.NotBefore)
		e.varint(r.NotAfter)
		e.string(r.RootCert)
		e.strings(r.IntermediateCerts)
		e.string(r.PrivateKeyType)
		e.varint(int64(r.PrivateKeyBits))
		e.string(r.PrivateKey)
	}
}

func (b *ConnectCASetBody) decode(d *decoder) error {
	b.ExpectActiveRootID, b.ClusterID, b.Provider = d.string(), d.string(), d.string()
	b.Config = d.bytes()
	if d.bool() {
		r := new(event.CARoot)
		r.ID, r.Name = d.string(), d.string()
		r.SerialNumber = d.uvarint()
		r.SigningKeyID = d.string()
		r.NotBefore, r.NotAfter = d.varint(), d.varint()
		r.RootCert = d.string()
		r.IntermediateCerts = d.strings()
		r.PrivateKeyType = d.string()
		r.PrivateKeyBits = int(d.varint())
		r.PrivateKey = d.string()
		b.Root = r
	}
	return d.err
}
