package watch

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// LastIndex is the index of the newest event in the shard's stream, 0 for
// an empty stream: following from the index after it gives only what is
// published from now on.
func LastIndex(ctx context.Context, js jetstream.JetStream, dc, shard string) (uint64, error) {
	name := StreamName(dc, shard)
	s, err := js.Stream(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("event stream %s: %w", name, err)
	}
	m, err := s.GetLastMsgForSubject(ctx, StreamSubjects(dc, shard))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("event stream %s: newest event: %w", name, err)
	}
	idx, err := strconv.ParseUint(m.Header.Get(HeaderIndex), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("event stream %s: newest event has no valid %s header", name, HeaderIndex)
	}
	return idx, nil
}
