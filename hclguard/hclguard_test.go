package hclguard

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckDepth(t *testing.T) {
	deep := strings.Repeat("a = [", 5) + strings.Repeat("]", 5)
	cases := []struct {
		name, src string
		max       int
		wantLine  int // 0: accepted
		wantCol   int
	}{
		{"flat", `a = 1`, 2, 0, 0},
		{"at the limit", "a { b { c = 1 } }", 2, 0, 0},
		{"one over", "a { b {\n c { d = 1 } } }", 2, 2, 4},
		{"brackets count", deep, 4, 1, 25},
		{"braces in strings do not count", `a = "{{{{{{"`, 1, 0, 0},
		{"braces in comments do not count", "# {{{{\na = 1", 1, 0, 0},
		{"CRLF lines as the parser counts them", "a {\r\n b {\r\n c = 1 } }", 1, 2, 4},
	}
	for _, c := range cases {
		err := CheckDepth(c.src, c.max)
		if c.wantLine == 0 {
			if err != nil {
				t.Errorf("%s: %v, want accepted", c.name, err)
			}
			continue
		}
		var de *DepthError
		if !errors.As(err, &de) {
			t.Errorf("%s: %v, want a DepthError", c.name, err)
			continue
		}
		if de.Line != c.wantLine || de.Column != c.wantCol || de.Max != c.max {
			t.Errorf("%s: %+v, want line %d column %d max %d", c.name, de, c.wantLine, c.wantCol, c.max)
		}
	}
}
