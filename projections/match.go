package projections

import "strings"

// The matching rules of discovery filters, shared by the HTTP API's ?tag
// and ?node-meta and by prepared queries' Tags, NodeMeta and ServiceMeta.

// MetaMatches says whether meta has every key of want with its value.
func MetaMatches(meta, want map[string]string) bool {
	for k, v := range want {
		if got, ok := meta[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// HasTags says whether tags holds every wanted tag, compared without
// regard to case, as Consul compares them.
func HasTags(tags, want []string) bool {
	for _, w := range want {
		found := false
		for _, t := range tags {
			if strings.EqualFold(t, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
