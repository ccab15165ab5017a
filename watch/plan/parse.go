package plan

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Handler types of a watch definition's handler_type.
const (
	HandlerScript = "script"
	HandlerHTTP   = "http"
)

// keys every watch type takes; the rest depend on the type.
var commonKeys = []string{"type", "datacenter", "token", "stale", "handler", "handlertype", "args", "httphandlerconfig"}

var typeKeys = map[string][]string{
	TypeKey:       {"key"},
	TypeKeyPrefix: {"prefix"},
	TypeServices:  {"filter"},
	TypeNodes:     {"filter"},
	TypeService:   {"service", "tag", "passingonly", "filter"},
	TypeChecks:    {"service", "state", "filter"},
	TypeEvent:     {"name"},
}

// normKey folds the spellings a definition's keys come in (handler_type,
// HandlerType, handler-type) into one.
func normKey(k string) string {
	return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k))
}

// Parse builds a plan from a watch definition as Consul's agent
// configuration ("watches") and the watch command give it: type, datacenter,
// token, stale; the type's parameters key, prefix, service, tag (a string or
// a list), passingonly, state, name, filter; and the handler: args (a
// program and its arguments) or the older handler (a command line for the
// shell), or handler_type "http" with http_handler_config {path, method,
// header, timeout, tls_skip_verify}. Keys are matched without regard to case
// or underscores; a key the type does not take is an error, as with Consul.
//
// A definition without a handler is valid; the caller must then set
// Plan.Handler before Run.
func Parse(def map[string]any) (*Plan, error) {
	params := map[string]any{}
	spelled := map[string]string{}
	for k, v := range def {
		n := normKey(k)
		if _, dup := params[n]; dup {
			return nil, fmt.Errorf("watch parameter %q given twice (as %q and %q)", n, spelled[n], k)
		}
		params[n], spelled[n] = v, k
	}
	p := &Plan{}
	var err error
	take := func(key string, assign func(any) error) {
		v, ok := params[key]
		if !ok || err != nil {
			return
		}
		delete(params, key)
		if e := assign(v); e != nil {
			err = fmt.Errorf("watch parameter %q: %w", spelled[key], e)
		}
	}
	take("type", toString(&p.Type))
	if err != nil {
		return nil, err
	}
	allowed, known := typeKeys[p.Type]
	if !known {
		if p.Type == "" {
			return nil, fmt.Errorf(`watch type missing: "type" must be one of %s`, strings.Join(Types, ", "))
		}
		return nil, fmt.Errorf("unsupported watch type %q: must be one of %s", p.Type, strings.Join(Types, ", "))
	}
	var (
		script, handlerType string
		args                []string
		httpConf            any
		hasHTTPConf         bool
	)
	take("datacenter", toString(&p.Datacenter))
	take("token", toString(&p.Token))
	take("stale", toBool(&p.Stale))
	take("handler", toString(&script))
	take("handlertype", toString(&handlerType))
	take("args", toStrings(&args))
	take("httphandlerconfig", func(v any) error { httpConf, hasHTTPConf = v, true; return nil })
	// Where each key of typeKeys goes; typeKeys says which a type takes.
	typeSpecific := map[string]func(any) error{
		"key":         toString(&p.Key),
		"prefix":      toString(&p.Prefix),
		"service":     toString(&p.Service),
		"tag":         toStrings(&p.Tags),
		"passingonly": toBool(&p.PassingOnly),
		"state":       toString(&p.State),
		"name":        toString(&p.Name),
		"filter":      toString(&p.Filter),
	}
	for _, k := range allowed {
		take(k, typeSpecific[k])
	}
	if err != nil {
		return nil, err
	}
	if len(params) > 0 {
		var left []string
		for k := range params {
			left = append(left, spelled[k])
		}
		sort.Strings(left)
		return nil, fmt.Errorf("invalid parameters for the %s watch type: %s", p.Type, strings.Join(left, ", "))
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}

	switch handlerType {
	case "", HandlerScript:
		if hasHTTPConf {
			return nil, fmt.Errorf(`http_handler_config needs handler_type "http"`)
		}
		switch {
		case script != "" && len(args) > 0:
			return nil, fmt.Errorf(`a watch takes "args" or the older "handler", not both`)
		case len(args) > 0:
			p.Handler = &ScriptHandler{Args: args}
		case script != "":
			p.Handler = &ScriptHandler{Script: script}
		case handlerType == HandlerScript:
			return nil, fmt.Errorf(`handler_type "script" needs "args"`)
		}
	case HandlerHTTP:
		if script != "" || len(args) > 0 {
			return nil, fmt.Errorf(`handler_type "http" takes http_handler_config, not "args" or "handler"`)
		}
		if !hasHTTPConf {
			return nil, fmt.Errorf(`handler_type "http" needs http_handler_config`)
		}
		h, err := parseHTTPConfig(httpConf)
		if err != nil {
			return nil, err
		}
		p.Handler = h
	default:
		return nil, fmt.Errorf("handler type %q not recognized: must be script or http", handlerType)
	}
	return p, nil
}

func parseHTTPConfig(v any) (*HTTPHandler, error) {
	m, err := toMap(v)
	if err != nil {
		return nil, fmt.Errorf("http_handler_config: %w", err)
	}
	h := &HTTPHandler{}
	for k, v := range m {
		var err error
		switch normKey(k) {
		case "path":
			err = toString(&h.URL)(v)
		case "method":
			err = toString(&h.Method)(v)
		case "header":
			h.Header, err = toHeader(v)
		case "timeout":
			err = toDuration(&h.Timeout)(v)
		case "tlsskipverify":
			err = toBool(&h.TLSSkipVerify)(v)
		default:
			err = fmt.Errorf("unknown key")
		}
		if err != nil {
			return nil, fmt.Errorf("http_handler_config %q: %w", k, err)
		}
	}
	if h.URL == "" {
		return nil, fmt.Errorf(`http_handler_config needs "path", the URL to send to`)
	}
	h.Method = strings.ToUpper(h.Method)
	return h, nil
}

func toString(dst *string) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be a string, not %T", v)
		}
		*dst = s
		return nil
	}
}

func toStrings(dst *[]string) func(any) error {
	return func(v any) error {
		switch v := v.(type) {
		case string:
			*dst = []string{v}
		case []string:
			*dst = append([]string(nil), v...)
		case []any:
			out := make([]string, 0, len(v))
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("must be a list of strings, not hold a %T", e)
				}
				out = append(out, s)
			}
			*dst = out
		default:
			return fmt.Errorf("must be a string or a list of strings, not %T", v)
		}
		return nil
	}
}

func toBool(dst *bool) func(any) error {
	return nativeOrString(dst, "must be true or false", func(s string) (bool, error) {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return false, fmt.Errorf("must be true or false, not %q", s)
		}
		return b, nil
	})
}

func toDuration(dst *time.Duration) func(any) error {
	assign := nativeOrString(dst, `must be a duration such as "10s"`, func(s string) (time.Duration, error) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("must be a duration such as \"10s\": %v", err)
		}
		return d, nil
	})
	return func(v any) error {
		if err := assign(v); err != nil {
			return err
		}
		if *dst < 0 {
			return fmt.Errorf("must not be negative")
		}
		return nil
	}
}

// nativeOrString assigns a value given as a T, or as a string that parse
// reads (definitions may quote any value). want says what a value of any
// other type should have been.
func nativeOrString[T any](dst *T, want string, parse func(string) (T, error)) func(any) error {
	return func(v any) error {
		switch v := v.(type) {
		case T:
			*dst = v
		case string:
			parsed, err := parse(v)
			if err != nil {
				return err
			}
			*dst = parsed
		default:
			return fmt.Errorf("%s, not %T", want, v)
		}
		return nil
	}
}

// toMap accepts a map, or the one-element list of maps an HCL block
// decodes to.
func toMap(v any) (map[string]any, error) {
	switch v := v.(type) {
	case map[string]any:
		return v, nil
	case []map[string]any:
		if len(v) == 1 {
			return v[0], nil
		}
	case []any:
		if len(v) == 1 {
			return toMap(v[0])
		}
	}
	return nil, fmt.Errorf("must be an object, not %T", v)
}

func toHeader(v any) (http.Header, error) {
	h := http.Header{}
	switch v := v.(type) {
	case map[string][]string:
		for k, vs := range v {
			for _, s := range vs {
				h.Add(k, s)
			}
		}
		return h, nil
	case map[string]string:
		for k, s := range v {
			h.Add(k, s)
		}
		return h, nil
	}
	m, err := toMap(v)
	if err != nil {
		return nil, err
	}
	for k, raw := range m {
		var vs []string
		if err := toStrings(&vs)(raw); err != nil {
			return nil, fmt.Errorf("header %q: %w", k, err)
		}
		for _, s := range vs {
			h.Add(k, s)
		}
	}
	return h, nil
}
