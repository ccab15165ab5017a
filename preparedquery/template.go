package preparedquery

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/heraldhq/herald/event"
)

// TemplateNamePrefixMatch is the one template type Consul has: the query's
// Name is a prefix, and the longest prefix of a looked-up name wins.
const TemplateNamePrefixMatch = "name_prefix_match"

// IsTemplate says whether q is a template.
func IsTemplate(q *event.PreparedQuery) bool { return q.Template.Type != "" }

// Template is a compiled template: its interpolations parsed and its
// regular expression compiled, ready to Render.
type Template struct {
	query *event.PreparedQuery
	re    *regexp.Regexp
}

// Compile checks a template as Consul does when it stores one: a known
// type, interpolations that parse, a regexp that compiles, and a trial
// render for the bare prefix.
func Compile(q *event.PreparedQuery) (*Template, error) {
	if q.Template.Type != TemplateNamePrefixMatch {
		return nil, fmt.Errorf("Bad Template.Type '%s'", q.Template.Type)
	}
	t := &Template{query: q}
	svc := cloneService(q.Service)
	err := walkStrings(&svc, func(path string, s *string) error {
		if _, err := parseTemplate(*s); err != nil {
			return fmt.Errorf("Bad format '%s' in Service%s: %s", *s, path, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if q.Template.Regexp != "" {
		if t.re, err = regexp.Compile(q.Template.Regexp); err != nil {
			return nil, fmt.Errorf("Bad Regexp: %s", err)
		}
	}
	if _, err := t.Render(q.Name); err != nil {
		return nil, err
	}
	return t, nil
}

// Render is the query a template stands for when looked up as name: a
// copy whose Service strings have their interpolations replaced.
func (t *Template) Render(name string) (*event.PreparedQuery, error) {
	out := *t.query
	out.Service = cloneService(t.query.Service)
	var matches []string
	if t.re != nil {
		matches = t.re.FindStringSubmatch(name)
	}
	vars := map[string]string{
		"name.full":   name,
		"name.prefix": t.query.Name,
		"name.suffix": strings.TrimPrefix(name, t.query.Name),
		// Herald has no network segments; Consul's default segment is "".
		"agent.segment": "",
	}
	err := walkStrings(&out.Service, func(path string, s *string) error {
		parts, err := parseTemplate(*s)
		if err != nil {
			return fmt.Errorf("Bad format '%s' in Service%s: %s", *s, path, err)
		}
		var b strings.Builder
		for _, p := range parts {
			switch {
			case !p.expr:
				b.WriteString(p.text)
			case p.match >= 0:
				if p.match < len(matches) {
					b.WriteString(matches[p.match])
				}
			default:
				v, ok := vars[p.text]
				if !ok {
					return fmt.Errorf("Bad evaluation for '%s' in Service%s: unknown variable accessed: %s", *s, path, p.text)
				}
				b.WriteString(v)
			}
		}
		*s = b.String()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t.query.Template.RemoveEmptyTags {
		tags := out.Service.Tags[:0]
		for _, tag := range out.Service.Tags {
			if tag != "" {
				tags = append(tags, tag)
			}
		}
		out.Service.Tags = tags
	}
	return &out, nil
}

// piece is a run of literal text or one ${...} interpolation: a variable
// (text) or match(N) (match >= 0).
type piece struct {
	text  string
	expr  bool
	match int
}

var matchCall = regexp.MustCompile(`^match\(\s*(\d+)\s*\)$`)

// parseTemplate splits s into literal text and the interpolations Consul's
// templates know. "$${" is a literal "${".
func parseTemplate(s string) ([]piece, error) {
	var out []piece
	var lit strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			lit.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unterminated interpolation at column %d", i+1)
			}
			if lit.Len() > 0 {
				out = append(out, piece{text: lit.String(), match: -1})
				lit.Reset()
			}
			expr := strings.TrimSpace(s[i+2 : i+end])
			p := piece{expr: true, match: -1}
			switch m := matchCall.FindStringSubmatch(expr); {
			case m != nil:
				p.match, _ = strconv.Atoi(m[1])
			case expr == "" || strings.ContainsAny(expr, "()\"+-*/ "):
				return nil, fmt.Errorf("invalid expression %q at column %d", expr, i+1)
			default:
				p.text = expr
			}
			out = append(out, p)
			i += end + 1
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	if lit.Len() > 0 {
		out = append(out, piece{text: lit.String(), match: -1})
	}
	return out, nil
}

// walkStrings calls fn with every string of a ServiceQuery that templates
// interpolate, with its path as Consul's errors name it (".Tags[0]").
// Map keys are left alone; map values are replaced in place.
func walkStrings(sq *event.ServiceQuery, fn func(path string, s *string) error) error {
	for _, f := range []struct {
		path string
		s    *string
	}{{".Service", &sq.Service}, {".SamenessGroup", &sq.SamenessGroup}, {".Near", &sq.Near}, {".Peer", &sq.Peer}} {
		if err := fn(f.path, f.s); err != nil {
			return err
		}
	}
	lists := []struct {
		path string
		list []string
	}{{".Failover.Datacenters", sq.Failover.Datacenters}, {".IgnoreCheckIDs", sq.IgnoreCheckIDs}, {".Tags", sq.Tags}}
	for _, l := range lists {
		for i := range l.list {
			if err := fn(fmt.Sprintf("%s[%d]", l.path, i), &l.list[i]); err != nil {
				return err
			}
		}
	}
	for i := range sq.Failover.Targets {
		t := &sq.Failover.Targets[i]
		if err := fn(fmt.Sprintf(".Failover.Targets[%d].Peer", i), &t.Peer); err != nil {
			return err
		}
		if err := fn(fmt.Sprintf(".Failover.Targets[%d].Datacenter", i), &t.Datacenter); err != nil {
			return err
		}
	}
	for _, m := range []struct {
		path string
		m    map[string]string
	}{{".NodeMeta", sq.NodeMeta}, {".ServiceMeta", sq.ServiceMeta}} {
		for k, v := range m.m {
			if err := fn(fmt.Sprintf("%s[%s]", m.path, k), &v); err != nil {
				return err
			}
			m.m[k] = v
		}
	}
	return nil
}

// cloneService copies the lists and maps of sq, so that rendering never
// writes into the stored query.
func cloneService(sq event.ServiceQuery) event.ServiceQuery {
	clone := func(l []string) []string {
		if l == nil {
			return nil
		}
		return append([]string(nil), l...)
	}
	cloneMap := func(m map[string]string) map[string]string {
		if m == nil {
			return nil
		}
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	sq.Failover.Datacenters = clone(sq.Failover.Datacenters)
	if sq.Failover.Targets != nil {
		sq.Failover.Targets = append([]event.QueryFailoverTarget(nil), sq.Failover.Targets...)
	}
	sq.IgnoreCheckIDs, sq.Tags = clone(sq.IgnoreCheckIDs), clone(sq.Tags)
	sq.NodeMeta, sq.ServiceMeta = cloneMap(sq.NodeMeta), cloneMap(sq.ServiceMeta)
	return sq
}
