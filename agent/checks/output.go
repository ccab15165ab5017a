package checks

import (
	"fmt"
	"sync"
	"unicode/utf8"
)

// Outputs are capped because every reported output ends up in the
// replicated log and in every reader's projection; a check printing
// megabytes would otherwise bloat all of them.

// capOutput keeps the first max bytes of s (cut at a character boundary,
// so that the output stays valid UTF-8) and says how much was dropped.
func capOutput(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s ... (captured %d of %d bytes)", s[:cut], cut, len(s))
}

// tailBuffer is an io.Writer keeping the last max bytes written to it: the
// end of a script's output is where the verdict usually is.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	total int64
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total += int64(len(p))
	if len(p) >= b.max {
		b.buf = append(b.buf[:0], p[len(p)-b.max:]...)
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	// Compact only once the buffer is twice the cap, so that many small
	// writes cost amortized constant time.
	if len(b.buf) >= 2*b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

// String returns what was kept, saying so when earlier output was dropped.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.buf
	if len(kept) > b.max {
		kept = kept[len(kept)-b.max:]
	}
	if b.total <= int64(len(kept)) {
		return string(kept)
	}
	// Skip a partial character at the cut.
	for len(kept) > 0 && !utf8.RuneStart(kept[0]) {
		kept = kept[1:]
	}
	return fmt.Sprintf("Captured %d of %d bytes\n...\n%s", len(kept), b.total, kept)
}
