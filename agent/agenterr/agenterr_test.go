package agenterr

import (
	"errors"
	"fmt"
	"testing"
)

func TestMarkKeepsTheMessageAndAddsTheKind(t *testing.T) {
	cause := errors.New("unknown service")
	err := fmt.Errorf("wrapped: %w", Mark(ErrNotFound, cause))
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, cause) {
		t.Fatalf("%v: the kind or the cause is lost", err)
	}
	if errors.Is(err, ErrInvalid) {
		t.Fatalf("%v: matches another kind", err)
	}
	if got := Mark(ErrInvalid, cause).Error(); got != "unknown service" {
		t.Fatalf("message %q, want the cause's", got)
	}
	if Mark(ErrInvalid, nil) != nil {
		t.Fatal("Mark(kind, nil) is not nil")
	}
}
