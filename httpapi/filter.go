package httpapi

import (
	"net/http"
	"strings"

	"github.com/hashicorp/go-bexpr"

	"github.com/heraldhq/herald/projections"
)

// newFilter compiles ?filter (Consul's filter expression language, through
// go-bexpr as Consul uses it); nil when there is none. An invalid
// expression is a 400.
func newFilter(r *http.Request) (*bexpr.Evaluator, error) {
	expr := queryOf(r).Get("filter")
	if expr == "" {
		return nil, nil
	}
	eval, err := bexpr.CreateEvaluator(expr)
	if err != nil {
		return nil, badRequest("Failed to create boolean expression evaluator: %v", err)
	}
	return eval, nil
}

func keep(eval *bexpr.Evaluator, v any) (bool, error) {
	ok, err := eval.Evaluate(v)
	if err != nil {
		return false, badRequest("Failed to evaluate filter: %v", err)
	}
	return ok, nil
}

// filterList applies ?filter to a slice of API records.
func filterList[T any](r *http.Request, list []T) ([]T, error) {
	eval, err := newFilter(r)
	if eval == nil || err != nil {
		return list, err
	}
	out := make([]T, 0, len(list))
	for _, v := range list {
		ok, err := keep(eval, v)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// writeFiltered answers with the records of list that ?filter keeps.
func writeFiltered[T any](w http.ResponseWriter, r *http.Request, list []T) error {
	out, err := filterList(r, list)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// filterMap applies ?filter to the values of a map-shaped answer.
func filterMap[T any](r *http.Request, m map[string]T) (map[string]T, error) {
	eval, err := newFilter(r)
	if eval == nil || err != nil {
		return m, err
	}
	out := make(map[string]T, len(m))
	for k, v := range m {
		ok, err := keep(eval, v)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = v
		}
	}
	return out, nil
}

// nodeMetaFilter reads ?node-meta=key:value (repeatable): a node must have
// every pair.
func nodeMetaFilter(r *http.Request) map[string]string {
	pairs := queryOf(r)["node-meta"]
	if len(pairs) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, ":")
		out[k] = v
	}
	return out
}

func metaMatches(meta, want map[string]string) bool { return projections.MetaMatches(meta, want) }

// hasTags reports whether tags holds every wanted tag (?tag is repeatable
// and all must match, as in Consul).
func hasTags(tags, want []string) bool { return projections.HasTags(tags, want) }
