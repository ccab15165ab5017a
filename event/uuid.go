package event

import (
	"crypto/rand"
	"fmt"
)

// NewUUID is a random (version 4) UUID in Consul's form: the IDs of the
// records a proposer names before it proposes them (sessions, prepared
// queries, user events), of a new node and of a new CA's cluster.
func NewUUID() string {
	var u [16]byte
	rand.Read(u[:]) // never fails (crypto/rand)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}
