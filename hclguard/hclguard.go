package hclguard

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/hcl/scanner"
	"github.com/hashicorp/hcl/hcl/token"
)

// ConfigDepth is how deeply a configuration document (an agent config
// file, a config entry) may nest. The deepest of Consul's keys (a sidecar's
// upstream config, a service router's matches) need about a dozen levels.
const ConfigDepth = 64

// DepthError says where a document first nests deeper than Max.
type DepthError struct {
	Line, Column int
	Max          int
}

func (e *DepthError) Error() string {
	return fmt.Sprintf("nested more than %d deep at line %d, column %d", e.Max, e.Line, e.Column)
}

// CheckDepth returns a *DepthError if src's braces and brackets nest
// deeper than max. It reads src with HCL's own scanner, so a brace in a
// string or a comment does not count, and positions agree with the
// parser's (which also reads "\r\n" as "\n").
func CheckDepth(src string, max int) error {
	sc := scanner.New([]byte(strings.ReplaceAll(src, "\r\n", "\n")))
	sc.Error = func(token.Pos, string) {} // the parser reports them
	depth := 0
	for {
		tok := sc.Scan()
		switch tok.Type {
		case token.EOF:
			return nil
		case token.LBRACE, token.LBRACK:
			depth++
			if depth > max {
				return &DepthError{Line: tok.Pos.Line, Column: tok.Pos.Column, Max: max}
			}
		case token.RBRACE, token.RBRACK:
			depth--
		}
	}
}
