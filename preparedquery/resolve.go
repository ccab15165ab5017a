package preparedquery

import (
	"errors"
	"fmt"
	"strings"

	"github.com/heraldhq/herald/event"
)

// ErrNotFound is Consul's answer for a name or ID that resolves to no
// query (404 on HTTP, NXDOMAIN on DNS).
var ErrNotFound = errors.New("Query not found")

// errTemplateByID is Consul's refusal to run a template looked up by ID:
// a template needs the name it renders for.
var errTemplateByID = errors.New("prepared query templates can only be resolved up by name, not by ID")

// Resolve picks the query that idOrName names among queries, as Consul
// does: an ID first (when idOrName looks like one), then a query whose
// name matches exactly (without regard to case), then the template whose
// name is the longest prefix of idOrName. A template is returned rendered
// for idOrName.
func Resolve(queries []*event.PreparedQuery, idOrName string) (*event.PreparedQuery, error) {
	if idOrName == "" {
		return nil, ErrNotFound
	}
	if IsUUID(idOrName) {
		for _, q := range queries {
			if strings.EqualFold(q.ID, idOrName) {
				if IsTemplate(q) {
					return nil, errTemplateByID
				}
				return q, nil
			}
		}
	}
	var best *event.PreparedQuery
	lower := strings.ToLower(idOrName)
	for _, q := range queries {
		if q.Name != "" && strings.EqualFold(q.Name, idOrName) {
			best = q
			break
		}
		if IsTemplate(q) && strings.HasPrefix(lower, strings.ToLower(q.Name)) && (best == nil || len(q.Name) > len(best.Name)) {
			best = q
		}
	}
	if best == nil {
		return nil, ErrNotFound
	}
	if !IsTemplate(best) {
		return best, nil
	}
	t, err := Compile(best)
	if err != nil {
		return nil, fmt.Errorf("failed compiling template: %s", err)
	}
	return t.Render(idOrName)
}
