package acl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/parser"
	hclstrconv "github.com/hashicorp/hcl/hcl/strconv"
	"github.com/hashicorp/hcl/hcl/token"

	"github.com/heraldhq/herald/hclguard"
)

// parseHCL reads rules written in HCL into b. It walks HCL's syntax tree
// rather than decoding into a struct, so that every refusal can name the
// token it is about.
func parseHCL(src string, b *builder) error {
	file, err := parseHCLFile(src)
	if err != nil {
		return err
	}
	list, ok := file.Node.(*ast.ObjectList)
	if !ok {
		return syntaxErrorf(position{1, 1}, "Failed to parse ACL rules: expected rules")
	}
	for _, item := range list.Items {
		if err := hclTopItem(item, b); err != nil {
			return err
		}
	}
	return nil
}

// parseHCLFile is HCL's parser, with its errors as *SyntaxError.
func parseHCLFile(src string) (file *ast.File, err error) {
	defer func() {
		// HCL's parser is not ours: should it panic on some input that
		// fuzzing here has not found (none so far), a policy is user
		// input, so that is one more syntax error, not a crashed agent.
		if recover() != nil {
			file, err = nil, syntaxErrorf(position{1, 1}, "Failed to parse ACL rules: malformed HCL")
		}
	}()
	if err := checkNesting(src); err != nil {
		return nil, err
	}
	file, err = parser.Parse([]byte(src))
	if err != nil {
		var pe *parser.PosError
		if errors.As(err, &pe) {
			return nil, syntaxErrorf(hclPos(pe.Pos), "Failed to parse ACL rules: %v", pe.Err)
		}
		return nil, syntaxErrorf(position{1, 1}, "Failed to parse ACL rules: %v", err)
	}
	return file, nil
}

// maxNesting is how deeply braces and brackets may nest in HCL rules. Rules
// need three levels at most (key { "a" { policy = "read" } }).
const maxNesting = 16

// checkNesting refuses src before HCL's parser, whose time grows
// quadratically with the depth, sees it (package hclguard).
func checkNesting(src string) error {
	var de *hclguard.DepthError
	if err := hclguard.CheckDepth(src, maxNesting); errors.As(err, &de) {
		return syntaxErrorf(position{de.Line, de.Column}, "Failed to parse ACL rules: nested more than %d deep", maxNesting)
	}
	return nil
}

func hclPos(p token.Pos) position { return position{line: p.Line, column: p.Column} }

// hclNodePos is where node starts; ObjectList.Pos would panic on an empty
// list, so it is asked only of the other nodes.
func hclNodePos(node ast.Node) position {
	if list, ok := node.(*ast.ObjectList); ok {
		if len(list.Items) == 0 {
			return position{1, 1}
		}
		return hclNodePos(list.Items[0])
	}
	if item, ok := node.(*ast.ObjectItem); ok && len(item.Keys) == 0 {
		return hclNodePos(item.Val)
	}
	if node == nil {
		return position{1, 1}
	}
	return hclPos(node.Pos())
}

// hclKey is an object key's name: an identifier as written, a string
// unquoted.
func hclKey(k *ast.ObjectKey) (string, error) {
	switch k.Token.Type {
	case token.IDENT:
		return k.Token.Text, nil
	case token.STRING:
		return hclUnquote(k.Token)
	}
	return "", syntaxErrorf(hclPos(k.Token.Pos), "Failed to parse ACL rules: expected a name, got %s", k.Token.Type)
}

func hclUnquote(t token.Token) (string, error) {
	s, err := hclstrconv.Unquote(t.Text)
	if err != nil {
		return "", syntaxErrorf(hclPos(t.Pos), "Failed to parse ACL rules: malformed string %s: %v", t.Text, err)
	}
	return s, nil
}

// hclString is node as a string value: only a quoted string is one.
func hclString(node ast.Node, what string) (stringValue, error) {
	lit, ok := node.(*ast.LiteralType)
	if !ok || lit.Token.Type != token.STRING {
		return stringValue{}, syntaxErrorf(hclNodePos(node), "Failed to parse ACL rules: %s must be a string", what)
	}
	s, err := hclUnquote(lit.Token)
	if err != nil {
		return stringValue{}, err
	}
	return stringValue{text: s, pos: hclPos(lit.Token.Pos), set: true}, nil
}

// hclTopItem reads one top-level item: a one-value rule (operator =
// "read") or segmented rules, either one labelled block (key "a" {...}) or
// a block of named blocks (key { "a" {...} "b" {...} }).
func hclTopItem(item *ast.ObjectItem, b *builder) error {
	if len(item.Keys) == 0 {
		return syntaxErrorf(hclNodePos(item), "Failed to parse ACL rules: expected a rule")
	}
	name, err := hclKey(item.Keys[0])
	if err != nil {
		return err
	}
	namePos := hclPos(item.Keys[0].Token.Pos)
	lower := strings.ToLower(name)
	if _, ok := singleKinds[lower]; ok {
		if len(item.Keys) > 1 {
			return syntaxErrorf(hclPos(item.Keys[1].Token.Pos), "Failed to parse ACL rules: %s takes no name: write %s = \"read\"", name, lower)
		}
		v, err := hclString(item.Val, lower)
		if err != nil {
			return err
		}
		return b.single(lower, v)
	}
	kind, ok := segmentedKinds[lower]
	if !ok {
		return errUnknownRule(name, namePos)
	}
	switch len(item.Keys) {
	case 1:
		obj, ok := item.Val.(*ast.ObjectType)
		if !ok {
			return syntaxErrorf(hclNodePos(item.Val), "Failed to parse ACL rules: %s must be a block, like %s \"name\" { policy = \"read\" }", name, kind.name)
		}
		for _, inner := range obj.List.Items {
			if len(inner.Keys) != 1 {
				return syntaxErrorf(hclNodePos(inner), "Failed to parse ACL rules: expected one name per %s rule", kind.name)
			}
			if err := hclRule(kind, inner.Keys[0], inner.Val, b); err != nil {
				return err
			}
		}
		return nil
	case 2:
		return hclRule(kind, item.Keys[1], item.Val, b)
	}
	return syntaxErrorf(hclPos(item.Keys[2].Token.Pos), "Failed to parse ACL rules: a %s rule takes one name", kind.name)
}

// hclRule reads the rule kind on the name key, whose block is val.
func hclRule(kind ruleKind, key *ast.ObjectKey, val ast.Node, b *builder) error {
	name, err := hclKey(key)
	if err != nil {
		return err
	}
	obj, ok := val.(*ast.ObjectType)
	if !ok {
		return syntaxErrorf(hclNodePos(val), "Failed to parse ACL rules: the %s rule %q must be a block, like { policy = \"read\" }", kind.name, name)
	}
	body := ruleBody{open: hclPos(obj.Lbrace)}
	for _, f := range obj.List.Items {
		if len(f.Keys) != 1 {
			return syntaxErrorf(hclNodePos(f), "Failed to parse ACL rules: expected a field of the %s rule %q", kind.name, name)
		}
		field, err := hclKey(f.Keys[0])
		if err != nil {
			return err
		}
		dst, err := body.slot(kind, field, hclPos(f.Keys[0].Token.Pos))
		if err != nil {
			return err
		}
		*dst, err = hclString(f.Val, fmt.Sprintf("the %s of the %s rule %q", strings.ToLower(field), kind.name, name))
		if err != nil {
			return err
		}
	}
	return b.segmented(kind, name, body)
}
