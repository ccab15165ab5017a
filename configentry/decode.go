package configentry

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-multierror"
	"github.com/mitchellh/mapstructure"
)

// Kinds are the config entry kinds Herald keeps.
var Kinds = []string{api.ServiceDefaults, api.ProxyDefaults, api.ServiceIntentions, api.ServiceRouter,
	api.ServiceSplitter, api.ServiceResolver, api.IngressGateway, api.TerminatingGateway, api.MeshConfig,
	api.ExportedServices}

// KnownKind reports whether kind is one of Kinds.
func KnownKind(kind string) bool {
	for _, k := range Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Decode reads one entry from JSON as Herald stored it (Body), which
// holds no key its kind does not have.
func Decode(data []byte) (api.ConfigEntry, error) {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	return decodeMap(raw, false)
}

// DecodeMap reads one entry a user wrote, from a decoded JSON or HCL
// document. A key that names no field of the entry's kind is refused, as
// Consul refuses it ("invalid config key"), rather than dropped: a
// misspelt field would otherwise be lost without a word.
func DecodeMap(raw map[string]any) (api.ConfigEntry, error) {
	return decodeMap(raw, true)
}

func decodeMap(raw map[string]any, strict bool) (api.ConfigEntry, error) {
	var kind string
	for k, v := range raw {
		if fold(k) == "kind" {
			s, ok := v.(string)
			if !ok {
				return nil, errors.New("Kind value in payload is not a string")
			}
			kind = s
		}
	}
	if kind == "" {
		return nil, errors.New("Payload does not contain a kind/Kind key at the top level")
	}
	if !KnownKind(kind) {
		return nil, fmt.Errorf("invalid config entry kind: %s", kind)
	}
	proto, err := api.MakeConfigEntry(kind, "")
	if err != nil {
		return nil, err
	}
	fitted, _ := fit(raw, reflect.TypeOf(proto)).(map[string]any)
	if !strict {
		return api.DecodeConfigEntry(fitted)
	}
	// The client library's own decoding, with the keys it left unused.
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToTimeHookFunc(time.RFC3339),
		),
		Metadata:         &md,
		Result:           &proto,
		WeaklyTypedInput: true,
	})
	if err != nil {
		return nil, err
	}
	if err := dec.Decode(fitted); err != nil {
		return nil, err
	}
	if err := unusedKeys(md.Unused); err != nil {
		return nil, err
	}
	return proto, nil
}

// unusedKeys is Consul's refusal of keys that name no field, in its words:
// one "invalid config key" per key, namespaces named as an Enterprise
// feature.
func unusedKeys(unused []string) error {
	var err error
	sort.Strings(unused)
	for _, k := range unused {
		switch {
		case fold(k) == "kind":
			// The kind chose the entry's type; it need not be a field.
		case strings.HasSuffix(strings.ToLower(k), "namespace"):
			err = multierror.Append(err, fmt.Errorf("invalid config key %q, namespaces are a consul enterprise feature", k))
		default:
			err = multierror.Append(err, fmt.Errorf("invalid config key %q", k))
		}
	}
	return err
}

// Body is the entry's JSON as Herald stores it: Consul's shape, without
// the indexes (a reader adds the stored ones).
func Body(e api.ConfigEntry) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "CreateIndex")
	delete(m, "ModifyIndex")
	return json.Marshal(m)
}

// WithIndexes is a stored body with its indexes, as the API answers it.
func WithIndexes(body []byte, create, modify uint64) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	m["CreateIndex"], m["ModifyIndex"] = create, modify
	return m, nil
}

// fold is a key as Consul matches it: case, underscores and dashes aside.
func fold(k string) string {
	return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k))
}

// fit rewrites a decoded document after the type it is to fill: keys of
// struct fields become the fields' names whatever their spelling, a list
// of one object where a struct is expected (an HCL block) becomes the
// object, an object where a list is expected becomes a list of one, and
// the keys of maps (user data: Meta, Config, subsets) stay as written.
func fit(v any, t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := object(v)
		if !ok {
			return v
		}
		fields := structFields(t)
		out := make(map[string]any, len(m))
		for k, val := range m {
			if f, ok := fields[fold(k)]; ok {
				out[f.Name] = fit(val, f.Type)
			} else {
				out[k] = val
			}
		}
		return out
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return v
		}
		list, ok := v.([]any)
		if !ok {
			if _, isObj := v.(map[string]any); !isObj {
				return v
			}
			list = []any{v}
		}
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = fit(e, t.Elem())
		}
		return out
	case reflect.Map:
		m, ok := object(v)
		if !ok {
			return v
		}
		out := make(map[string]any, len(m))
		for k, val := range m {
			out[k] = fit(val, t.Elem())
		}
		return out
	}
	return v
}

// object is v as an object: an object, or a list of exactly one.
func object(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case []any:
		if len(x) == 1 {
			m, ok := x[0].(map[string]any)
			return m, ok
		}
	case []map[string]any:
		if len(x) == 1 {
			return x[0], true
		}
	}
	return nil, false
}

// structFields are a struct's exported fields by folded name, and by their
// alias tags (Consul's snake_case names), embedded structs' included.
func structFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			for k, sub := range structFields(f.Type) {
				out[k] = sub
			}
			continue
		}
		out[fold(f.Name)] = f
		if alias := f.Tag.Get("alias"); alias != "" {
			out[fold(alias)] = f
		}
	}
	return out
}
