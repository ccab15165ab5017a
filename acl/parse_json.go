package acl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// parseJSON reads rules written in JSON into b: the HCL rules as a JSON
// object, {"key_prefix": {"a/": {"policy": "read"}}, "operator": "read"},
// where a resource's names or a name's rules may also be given as an array
// of such objects, as HCL's JSON form allows.
func parseJSON(src string, b *builder) error {
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	r := &jsonReader{src: src, dec: dec}
	if _, err := r.open('{', "the rules"); err != nil {
		return err
	}
	for r.dec.More() {
		key, keyPos, err := r.key()
		if err != nil {
			return err
		}
		lower := strings.ToLower(key)
		if _, ok := singleKinds[lower]; ok {
			v, err := r.str(lower)
			if err != nil {
				return err
			}
			if err := b.single(lower, v); err != nil {
				return err
			}
			continue
		}
		kind, ok := segmentedKinds[lower]
		if !ok {
			return errUnknownRule(key, keyPos)
		}
		if err := r.resource(kind, b); err != nil {
			return err
		}
	}
	if err := r.close('}'); err != nil {
		return err
	}
	pos := r.pos()
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return r.syntaxError(err)
		}
		return syntaxErrorf(pos, "Failed to parse ACL rules: unexpected %v after the rules", tok)
	}
	return nil
}

// jsonReader reads src's tokens, knowing where each starts.
type jsonReader struct {
	src string
	dec *json.Decoder
}

// pos is where the next token starts: the decoder stands at the end of the
// last one, before any space and separator.
func (r *jsonReader) pos() position {
	off := int(r.dec.InputOffset())
	for off < len(r.src) && strings.IndexByte(" \t\r\n:,", r.src[off]) >= 0 {
		off++
	}
	return offsetPosition(r.src, off)
}

// next is the next token and where it starts; the end of the input is an
// error, as the callers all expect more.
func (r *jsonReader) next() (json.Token, position, error) {
	pos := r.pos()
	tok, err := r.dec.Token()
	if err != nil {
		return nil, pos, r.syntaxError(err)
	}
	return tok, pos, nil
}

// syntaxError is err, the decoder's, at the position of the offending
// byte. The streaming decoder's offsets are not always from the start of
// the input, so a malformed input is checked again whole, which names the
// byte exactly.
func (r *jsonReader) syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		var v any
		if werr := json.Unmarshal([]byte(r.src), &v); errors.As(werr, &se) {
			// Offset counts the bytes read, the offending one included;
			// at the end of the input, there is none.
			off := int(se.Offset) - 1
			if off >= len(r.src)-1 && strings.Contains(se.Error(), "end of JSON input") {
				off = len(r.src)
			}
			return syntaxErrorf(offsetPosition(r.src, off), "Failed to parse ACL rules: %v", se)
		}
	}
	return syntaxErrorf(r.pos(), "Failed to parse ACL rules: %v", err)
}

// describe names a token for an error message: "an object", "null".
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return fmt.Sprintf("%q", string(t))
	case string:
		return fmt.Sprintf("the string %q", t)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// open reads the delimiter d opening what.
func (r *jsonReader) open(d json.Delim, what string) (position, error) {
	tok, pos, err := r.next()
	if err != nil {
		return pos, err
	}
	if tok != d {
		return pos, syntaxErrorf(pos, "Failed to parse ACL rules: %s must be %s, not %s", what, describe(d), describe(tok))
	}
	return pos, nil
}

// close reads the delimiter d closing an object or array: the decoder has
// already refused anything else, so only the end of input is left to
// report.
func (r *jsonReader) close(d json.Delim) error {
	tok, pos, err := r.next()
	if err != nil {
		return err
	}
	if tok != d {
		return syntaxErrorf(pos, "Failed to parse ACL rules: expected %q, got %s", string(d), describe(tok))
	}
	return nil
}

// key reads an object's key.
func (r *jsonReader) key() (string, position, error) {
	tok, pos, err := r.next()
	if err != nil {
		return "", pos, err
	}
	s, ok := tok.(string)
	if !ok {
		return "", pos, syntaxErrorf(pos, "Failed to parse ACL rules: expected an object key, got %s", describe(tok))
	}
	return s, pos, nil
}

// str reads a string value: what it is names it in an error.
func (r *jsonReader) str(what string) (stringValue, error) {
	tok, pos, err := r.next()
	if err != nil {
		return stringValue{}, err
	}
	s, ok := tok.(string)
	if !ok {
		return stringValue{}, syntaxErrorf(pos, "Failed to parse ACL rules: %s must be a string, not %s", what, describe(tok))
	}
	return stringValue{text: s, pos: pos, set: true}, nil
}

// resource reads the value of a segmented rule kind: an object of names to
// rules, or an array of such objects.
func (r *jsonReader) resource(kind ruleKind, b *builder) error {
	tok, pos, err := r.next()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return r.names(kind, b)
	case json.Delim('['):
		for r.dec.More() {
			if _, err := r.open('{', kind.name+"'s element"); err != nil {
				return err
			}
			if err := r.names(kind, b); err != nil {
				return err
			}
		}
		return r.close(']')
	}
	return syntaxErrorf(pos, "Failed to parse ACL rules: %s must be an object of names to rules, like {\"name\": {\"policy\": \"read\"}}, not %s", kind.name, describe(tok))
}

// names reads the rest of an object of names to rules: each a rule's
// object, or an array of them.
func (r *jsonReader) names(kind ruleKind, b *builder) error {
	for r.dec.More() {
		name, _, err := r.key()
		if err != nil {
			return err
		}
		tok, pos, err := r.next()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			if err := r.rule(kind, name, pos, b); err != nil {
				return err
			}
		case json.Delim('['):
			for r.dec.More() {
				pos, err := r.open('{', fmt.Sprintf("the %s rule %q", kind.name, name))
				if err != nil {
					return err
				}
				if err := r.rule(kind, name, pos, b); err != nil {
					return err
				}
			}
			if err := r.close(']'); err != nil {
				return err
			}
		default:
			return syntaxErrorf(pos, "Failed to parse ACL rules: the %s rule %q must be an object, like {\"policy\": \"read\"}, not %s", kind.name, name, describe(tok))
		}
	}
	return r.close('}')
}

// rule reads the rest of the object of the rule kind on name, opened at
// open.
func (r *jsonReader) rule(kind ruleKind, name string, open position, b *builder) error {
	body := ruleBody{open: open}
	for r.dec.More() {
		field, fieldPos, err := r.key()
		if err != nil {
			return err
		}
		dst, err := body.slot(kind, field, fieldPos)
		if err != nil {
			return err
		}
		if *dst, err = r.str(fmt.Sprintf("the %s of the %s rule %q", strings.ToLower(field), kind.name, name)); err != nil {
			return err
		}
	}
	if err := r.close('}'); err != nil {
		return err
	}
	return b.segmented(kind, name, body)
}
