package watch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/heraldhq/herald/event"
)

// SubjectRoot is the first token of every subject Herald publishes on.
const SubjectRoot = "herald"

// MaxSubjectLen bounds the length of the subject an event is published on.
// A NATS server drops the connection of a client whose protocol line exceeds
// max_control_line (4 KiB by default), so one very long key would otherwise
// wedge the shard's publisher for good. Subject cuts the key tokens of longer
// subjects short; the payload always carries the whole key.
const MaxSubjectLen = 2048

// truncatedMarker starts the last token of a subject whose key tokens were
// cut. A canonical token never contains '%' followed by '~', so the marker
// cannot be mistaken for part of a key.
const truncatedMarker = "%~"

// ErrTruncatedKey is returned by KeyFromTokens for the tokens of a key that
// was too long for a subject; the event's payload holds the full key.
var ErrTruncatedKey = errors.New("watch: key was truncated in the subject; read it from the payload")

// Subject returns the subject event e is published on in datacenter dc:
// herald.<dc>.<shard>.<tokens>. For KV events the tokens are KeyTokens(e.Key).
// Catalog events name the record that changed, each name one escaped token:
//
//	herald.<dc>.catalog.node.<node>
//	herald.<dc>.catalog.service.<service name>.<node>.<service id>
//	herald.<dc>.catalog.check.<node>.<check id>
//	herald.<dc>.catalog.query.<prepared query id>
//
// so that, for example, herald.dc1.catalog.service.web.> follows every
// instance of web. Any other event uses KeyTokens(e.Key).
func Subject(dc string, e event.Event) string {
	prefix := subjectPrefix(dc, e.Shard)
	tokens := eventTokens(e)
	if len(prefix)+len(tokens) <= MaxSubjectLen {
		return prefix + tokens
	}
	return prefix + truncateTokens(tokens, MaxSubjectLen-len(prefix))
}

// eventTokens is the part of an event's subject after the shard.
func eventTokens(e event.Event) string {
	switch {
	case e.Service != nil:
		return joinTokens("service", e.Service.Service, e.Service.Node, e.Service.ID)
	case e.Check != nil:
		return joinTokens("check", e.Check.Node, e.Check.CheckID)
	case e.Node != nil:
		return joinTokens("node", e.Node.Node)
	case e.Query != nil:
		return joinTokens("query", e.Query.ID)
	}
	return KeyTokens(e.Key)
}

// joinTokens escapes each name as one token.
func joinTokens(names ...string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte('.')
		}
		escapeSegment(&b, n)
	}
	return b.String()
}

// subjectPrefix is "herald.<dc>.<shard>." with dc and shard escaped like key
// segments, so that a dot in a datacenter name cannot add a token.
func subjectPrefix(dc, shard string) string {
	var b strings.Builder
	b.Grow(len(SubjectRoot) + len(dc) + len(shard) + 3)
	b.WriteString(SubjectRoot)
	b.WriteByte('.')
	escapeSegment(&b, dc)
	b.WriteByte('.')
	escapeSegment(&b, shard)
	b.WriteByte('.')
	return b.String()
}

// StreamSubjects is the subject filter of the shard's stream:
// herald.<dc>.<shard>.>.
func StreamSubjects(dc, shard string) string {
	return subjectPrefix(dc, shard) + ">"
}

// truncateTokens keeps as many whole leading tokens as fit in budget together
// with a final marker token naming a hash of all the tokens. Keeping the
// leading tokens lets prefix subscriptions (herald.dc1.kv.app.>) still match,
// and the hash keeps distinct long keys on distinct subjects (tokens are
// one-to-one with keys).
func truncateTokens(tokens string, budget int) string {
	sum := sha256.Sum256([]byte(tokens))
	marker := truncatedMarker + hex.EncodeToString(sum[:8])
	keep := tokens
	for len(keep)+1+len(marker) > budget {
		i := strings.LastIndexByte(keep, '.')
		if i < 0 {
			return marker
		}
		keep = keep[:i]
	}
	return keep + "." + marker
}

// KeyTokens turns a KV key into NATS subject tokens: one token per
// '/'-separated segment. Within a segment '%', '.', '*', '>', whitespace,
// control characters and bytes that are not valid UTF-8 are percent-encoded
// (%XX, upper-case hex), and an empty segment becomes "%" alone, because NATS
// subjects allow neither empty tokens nor those characters. The empty key is
// one empty segment: "%". KeyFromTokens reverses it.
func KeyTokens(key string) string {
	var b strings.Builder
	b.Grow(len(key) + 8)
	for i := 0; ; i++ {
		j := strings.IndexByte(key, '/')
		if i > 0 {
			b.WriteByte('.')
		}
		if j < 0 {
			escapeSegment(&b, key)
			return b.String()
		}
		escapeSegment(&b, key[:j])
		key = key[j+1:]
	}
}

// KeyFromTokens returns the key whose KeyTokens are tokens. It accepts only
// the canonical form KeyTokens produces, so that one key has exactly one
// subject; tokens of a key cut short by Subject give ErrTruncatedKey.
func KeyFromTokens(tokens string) (string, error) {
	if tokens == "" {
		return "", errors.New("watch: empty key tokens")
	}
	if i := strings.LastIndexByte(tokens, '.'); strings.HasPrefix(tokens[i+1:], truncatedMarker) {
		return "", ErrTruncatedKey
	}
	var b strings.Builder
	b.Grow(len(tokens))
	for n, tok := range strings.Split(tokens, ".") {
		if n > 0 {
			b.WriteByte('/')
		}
		if tok == "" {
			return "", fmt.Errorf("watch: key tokens %q: token %d is empty", tokens, n)
		}
		if tok == "%" {
			continue
		}
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			if c != '%' {
				b.WriteByte(c)
				continue
			}
			if i+2 >= len(tok) {
				return "", fmt.Errorf("watch: key tokens %q: incomplete escape in token %d", tokens, n)
			}
			hi, ok1 := unhex(tok[i+1])
			lo, ok2 := unhex(tok[i+2])
			if !ok1 || !ok2 {
				return "", fmt.Errorf("watch: key tokens %q: bad escape %q in token %d", tokens, tok[i:i+3], n)
			}
			b.WriteByte(hi<<4 | lo)
			i += 2
		}
	}
	key := b.String()
	if KeyTokens(key) != tokens {
		return "", fmt.Errorf("watch: key tokens %q are not in canonical form (want %q)", tokens, KeyTokens(key))
	}
	return key, nil
}

const hexDigits = "0123456789ABCDEF"

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		// Accepted here so the error names the real problem: the canonical
		// check rejects lower-case hex afterwards.
		return c - 'a' + 10, true
	}
	return 0, false
}

// escapeASCII reports whether an ASCII byte must be escaped in a token:
// '.' separates tokens, '*' and '>' are wildcards, whitespace and control
// bytes break the protocol line, and '%' is the escape character itself.
func escapeASCII(c byte) bool {
	return c <= ' ' || c == 0x7f || c == '%' || c == '.' || c == '*' || c == '>'
}

// escapeSegment writes one key segment as one subject token.
func escapeSegment(b *strings.Builder, seg string) {
	if seg == "" {
		b.WriteByte('%')
		return
	}
	for i := 0; i < len(seg); {
		c := seg[i]
		if c < utf8.RuneSelf {
			if escapeASCII(c) {
				writeEscaped(b, c)
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(seg[i:])
		// Invalid UTF-8 is escaped so subjects stay valid UTF-8 (JetStream's
		// JSON API would otherwise mangle them); Unicode whitespace and
		// control characters so a subject never looks like two.
		if (r == utf8.RuneError && size == 1) || unicode.IsSpace(r) || unicode.IsControl(r) {
			for j := 0; j < size; j++ {
				writeEscaped(b, seg[i+j])
			}
		} else {
			b.WriteString(seg[i : i+size])
		}
		i += size
	}
}

func writeEscaped(b *strings.Builder, c byte) {
	b.WriteByte('%')
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&0xf])
}
