package wan

import (
	"strconv"
	"testing"
	"time"
)

// A gateway NATS retries every second (one refused for its certificate,
// say) is logged once a minute, with the count held back, whatever
// connection id and port each retry had; other messages pass.
func TestRepeatFilterHoldsBackRetries(t *testing.T) {
	now := time.Unix(1000, 0)
	f := &repeatFilter{seen: map[string]*repeated{}, now: func() time.Time { return now }}
	msg := func(port, gid int) string {
		return "127.0.0.2:" + strconv.Itoa(port) + " - gid:" + strconv.Itoa(gid) + " - TLS gateway handshake error: remote error: tls: bad certificate"
	}
	if ok, note := f.pass(msg(60001, 1)); !ok || note != "" {
		t.Fatalf("first message: %v %q", ok, note)
	}
	for i := 2; i <= 30; i++ {
		now = now.Add(time.Second)
		if ok, _ := f.pass(msg(60000+i, i)); ok {
			t.Fatalf("retry %d within the minute was logged", i)
		}
	}
	if ok, _ := f.pass("Gateway connection to dc3 closed"); !ok {
		t.Error("another message was held back")
	}
	now = now.Add(31 * time.Second)
	ok, note := f.pass(msg(60100, 100))
	if !ok || note != " (and 29 more like it in the last 1m0s)" {
		t.Errorf("after a minute: %v %q", ok, note)
	}
	var nilFilter *repeatFilter
	if ok, _ := nilFilter.pass("x"); !ok {
		t.Error("no filter held a message back")
	}
}
