package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl"

	"github.com/heraldhq/herald/hclguard"
)

// Load builds the runtime Config from the arguments that follow
// `herald agent`, reading the config files and directories they name, and
// validates it. Flags take both -flag=value and -flag value forms. -h and
// -help return flag.ErrHelp; Usage has the text to show then.
func Load(args []string) (*Config, error) {
	opts := &loadOptions{flags: map[string]any{}}
	fs := newFlagSet(opts)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: herald agent takes only flags", fs.Arg(0))
	}

	var ignored []string
	fs.Visit(func(f *flag.Flag) {
		if ignoredFlags[f.Name] {
			ignored = append(ignored, fmt.Sprintf("flag -%s is accepted for compatibility and ignored by Herald", f.Name))
		}
	})
	return build(opts, ignored)
}

// LoadFiles builds and validates the Config an agent started with only
// these config files and directories (as -config-file/-config-dir) would
// run with; format is -config-format's value ("" for by extension). It is
// what `herald validate` checks, so that it accepts and refuses exactly
// what the agent does.
func LoadFiles(paths []string, format string) (*Config, error) {
	return build(&loadOptions{paths: paths, format: format, flags: map[string]any{}}, nil)
}

// build layers the sources opts names over the defaults, in the agent's
// order, then validates the result. flagWarnings are the warnings about
// flags, which come after those of the sources.
func build(opts *loadOptions, flagWarnings []string) (*Config, error) {
	c := defaults()
	l := &loader{cfg: c}
	if opts.dev {
		c.Dev = true
		if err := l.apply("-dev defaults", devDefaults()); err != nil {
			return nil, err
		}
	}
	for _, path := range opts.paths {
		if err := l.loadPath(path, opts.format); err != nil {
			return nil, err
		}
	}
	if err := l.apply("command-line flags", opts.flags); err != nil {
		return nil, err
	}
	for _, fragment := range opts.hcl {
		m, err := parse([]byte(fragment), "hcl")
		if err != nil {
			return nil, fmt.Errorf("flag -hcl %q: %w", fragment, err)
		}
		if err := l.apply("flag -hcl", m); err != nil {
			return nil, err
		}
	}
	c.Warnings = append(c.Warnings, flagWarnings...)
	c.finish()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Usage returns the help text of the agent's flags.
func Usage() string {
	var b strings.Builder
	fs := newFlagSet(&loadOptions{flags: map[string]any{}})
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

// loadOptions collects what the flags say: settings that are not config
// keys, and the flags layer of config keys, applied after all files.
type loadOptions struct {
	dev    bool
	paths  []string // -config-file and -config-dir, in the order given
	format string   // -config-format
	hcl    []string // -hcl fragments
	flags  map[string]any
}

// ignoredFlags are Consul agent flags Herald accepts so that existing
// command lines keep working, but does not act on.
var ignoredFlags = map[string]bool{
	"raft-protocol": true, "rejoin": true, "disable-host-node-id": true,
	"log-file": true, "syslog": true,
}

func newFlagSet(o *loadOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	// Errors are returned to the caller, who decides how to show them.
	fs.SetOutput(io.Discard)

	str := func(name, key, usage string) { fs.Var(&keyFlag{o.flags, key, parseString, false, false}, name, usage) }
	num := func(name, key, usage string) { fs.Var(&keyFlag{o.flags, key, parseInt, false, false}, name, usage) }
	boolean := func(name, key, usage string) { fs.Var(&keyFlag{o.flags, key, parseBool, true, false}, name, usage) }
	list := func(name, key, usage string) { fs.Var(&keyFlag{o.flags, key, parseString, false, true}, name, usage) }

	fs.BoolVar(&o.dev, "dev", false, "Run a single in-memory server for development, with the UI on.")
	fs.Var((*stringList)(&o.paths), "config-file", "A JSON or HCL config file to load. May be repeated.")
	fs.Var((*stringList)(&o.paths), "config-dir", "A directory whose .json and .hcl files are loaded in lexical order. May be repeated.")
	fs.StringVar(&o.format, "config-format", "", "Read config files as this format (json or hcl) whatever their extension.")
	fs.Var((*stringList)(&o.hcl), "hcl", "A config fragment in HCL, applied after the files and flags. May be repeated.")

	boolean("server", "server", "Run as a server.")
	boolean("bootstrap", "bootstrap", "Let this server elect itself leader alone.")
	num("bootstrap-expect", "bootstrap_expect", "Number of servers to wait for before the first election.")
	str("node", "node_name", "Name of this node; defaults to the host name.")
	str("node-id", "node_id", "UUID of this node.")
	str("datacenter", "datacenter", "Datacenter of this agent.")
	str("dc", "datacenter", "Same as -datacenter.")
	str("data-dir", "data_dir", "Directory for the agent's state.")
	str("bind", "bind_addr", "Address for cluster traffic.")
	str("advertise", "advertise_addr", "Address other nodes use to reach this one.")
	str("client", "client_addr", "Address of the HTTP, DNS and gRPC listeners.")
	num("http-port", "ports.http", "HTTP API port.")
	num("https-port", "ports.https", "HTTPS API port (-1 disables).")
	num("dns-port", "ports.dns", "DNS port.")
	num("server-port", "ports.server", "Server RPC and Raft port.")
	num("serf-lan-port", "ports.serf_lan", "Serf LAN port.")
	num("serf-wan-port", "ports.serf_wan", "Serf WAN port.")
	num("grpc-port", "ports.grpc", "gRPC port (-1 disables).")
	num("nats-port", "ports.nats", "Embedded NATS client port.")
	num("nats-cluster-port", "ports.nats_cluster", "Embedded NATS cluster port.")
	list("nats-route", "nats_routes", "Another server's NATS cluster address (host:port). May be repeated.")
	str("nats-url", "nats_url", "URL of an external NATS cluster instead of the embedded one.")
	str("log-level", "log_level", "Log level: trace, debug, info, warn or error.")
	boolean("log-json", "log_json", "Write logs as JSON.")
	boolean("ui", "ui_config.enabled", "Serve the web UI.")
	list("join", "start_join", "Address of an agent to join at start. May be repeated.")
	list("retry-join", "retry_join", "Address of an agent to join, retrying until it succeeds. May be repeated.")
	fs.Var(&keyFlag{o.flags, "retry_interval", parseDuration, false, false}, "retry-interval", "Time to wait between join attempts.")
	num("retry-max", "retry_max", "Number of join attempts; 0 retries forever.")
	list("join-wan", "start_join_wan", "Serf WAN address of a server of another datacenter to join at start. May be repeated.")
	list("retry-join-wan", "retry_join_wan", "Serf WAN address of a server of another datacenter to join, retrying until it succeeds. May be repeated.")
	fs.Var(&keyFlag{o.flags, "retry_interval_wan", parseDuration, false, false}, "retry-interval-wan", "Time to wait between WAN join attempts.")
	num("retry-max-wan", "retry_max_wan", "Number of WAN join attempts; 0 retries forever.")
	str("advertise-wan", "advertise_addr_wan", "Address the other datacenters use to reach this server.")
	num("nats-gateway-port", "ports.nats_gateway", "Embedded NATS gateway port, between datacenters (-1 disables).")
	str("encrypt", "encrypt", "Gossip encryption key, base64.")
	boolean("disable-keyring-file", "disable_keyring_file", "Keep the gossip keyring in memory only, not in the data dir.")
	str("domain", "domain", "DNS domain.")
	str("alt-domain", "alt_domain", "Alternate DNS domain.")
	list("recursor", "recursors", "Upstream DNS server. May be repeated.")
	boolean("enable-script-checks", "enable_script_checks", "Allow script checks from any source.")
	boolean("enable-local-script-checks", "enable_local_script_checks", "Allow script checks from config files only.")
	str("pid-file", "pid_file", "File to write the agent's process ID to.")
	fs.Var(nodeMetaFlag(o.flags), "node-meta", "Node metadata as key:value. May be repeated.")

	// Accepted for compatibility, ignored (see ignoredFlags).
	fs.Int("raft-protocol", 3, "Accepted for compatibility; ignored.")
	fs.Bool("rejoin", false, "Accepted for compatibility; ignored.")
	fs.Bool("disable-host-node-id", false, "Accepted for compatibility; ignored.")
	fs.String("log-file", "", "Accepted for compatibility; ignored.")
	fs.Bool("syslog", false, "Accepted for compatibility; ignored.")
	return fs
}

// keyFlag is a flag that sets one config key in the flags layer. Keeping the
// flags as a source like any file means one code path applies both.
type keyFlag struct {
	layer  map[string]any
	key    string // dotted path, e.g. "ports.http"
	parse  func(string) (any, error)
	isBool bool
	repeat bool // each use appends to a list
}

func (f *keyFlag) String() string   { return "" }
func (f *keyFlag) IsBoolFlag() bool { return f.isBool }

func (f *keyFlag) Set(s string) error {
	v, err := f.parse(s)
	if err != nil {
		return err
	}
	path := strings.Split(f.key, ".")
	obj := f.layer
	for _, k := range path[:len(path)-1] {
		inner, ok := obj[k].(map[string]any)
		if !ok {
			inner = map[string]any{}
			obj[k] = inner
		}
		obj = inner
	}
	last := path[len(path)-1]
	if f.repeat {
		list, _ := obj[last].([]any)
		v = append(list, v)
	}
	obj[last] = v
	return nil
}

func parseString(s string) (any, error) { return s, nil }

func parseInt(s string) (any, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, errors.New("not a whole number")
	}
	return n, nil
}

func parseBool(s string) (any, error) {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, errors.New("not true or false")
	}
	return b, nil
}

// parseDuration checks the duration now, so that a bad one is reported as a
// flag error, and keeps the string for the common path to parse again.
func parseDuration(s string) (any, error) {
	if _, err := time.ParseDuration(s); err != nil {
		return nil, errors.New(`not a duration such as "30s"`)
	}
	return s, nil
}

// nodeMetaFlag sets node_meta entries from key:value pairs; a pair without
// a colon has an empty value, as in Consul.
type nodeMetaFlag map[string]any

func (f nodeMetaFlag) String() string { return "" }

func (f nodeMetaFlag) Set(s string) error {
	key, value, _ := strings.Cut(s, ":")
	if key == "" {
		return errors.New("expected key:value")
	}
	meta, ok := f["node_meta"].(map[string]any)
	if !ok {
		meta = map[string]any{}
		f["node_meta"] = meta
	}
	meta[key] = value
	return nil
}

// stringList is a repeatable flag collecting its values in order.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// loadPath loads a -config-file or -config-dir argument. As in Consul both
// flags accept either a file or a directory.
func (l *loader) loadPath(path, format string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("cannot read config path: %w", err)
	}
	if !info.IsDir() {
		return l.loadFile(path, format)
	}
	entries, err := os.ReadDir(path) // sorted by name: Consul's lexical order
	if err != nil {
		return fmt.Errorf("cannot read config directory: %w", err)
	}
	for _, e := range entries {
		file := filepath.Join(path, e.Name())
		ext := filepath.Ext(file)
		if ext != ".json" && ext != ".hcl" {
			continue // READMEs, editor backups and the like
		}
		info, err := os.Stat(file) // follows symlinks, which Consul allows
		if err != nil {
			return fmt.Errorf("cannot read config file: %w", err)
		}
		if info.IsDir() {
			continue // not recursive, as in Consul
		}
		if err := l.loadFile(file, format); err != nil {
			return err
		}
	}
	return nil
}

// loadFile parses one file and applies it. The format is -config-format if
// given, else the file's extension; a file with neither is skipped with a
// warning, as Consul does.
func (l *loader) loadFile(path, format string) error {
	if format == "" {
		format = strings.TrimPrefix(filepath.Ext(path), ".")
	}
	if format != "json" && format != "hcl" {
		l.cfg.Warnings = append(l.cfg.Warnings, fmt.Sprintf(
			"config file %s skipped: its name must end in .json or .hcl, or -config-format must be json or hcl", path))
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read config file: %w", err)
	}
	m, err := parse(data, format)
	if err != nil {
		return fmt.Errorf("file %s: %w", path, err)
	}
	l.cfg.ConfigFiles = append(l.cfg.ConfigFiles, path)
	return l.apply("file "+path, m)
}

// parse decodes a JSON or HCL document into a source's generic map.
func parse(data []byte, format string) (map[string]any, error) {
	var raw map[string]any
	if format == "json" {
		if err := decodeJSON(data, &raw); err != nil {
			return nil, err
		}
	} else {
		if err := hclguard.CheckDepth(string(data), hclguard.ConfigDepth); err != nil {
			return nil, fmt.Errorf("invalid HCL: %w", err)
		}
		if err := hcl.Decode(&raw, string(data)); err != nil {
			return nil, fmt.Errorf("invalid HCL: %w", err)
		}
	}
	return normalize(raw).(map[string]any), nil
}

// decodeJSON decodes one JSON object, keeping numbers exact and reporting
// syntax errors by line and column. An empty document is an empty config.
func decodeJSON(data []byte, out *map[string]any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	err := dec.Decode(out)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return fmt.Errorf("invalid JSON: unexpected data after the top-level object at %s", position(data, dec.InputOffset()))
		}
		return nil
	}
	var syntax *json.SyntaxError
	var wrongType *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("invalid JSON at %s: %v", position(data, syntax.Offset), err)
	case errors.As(err, &wrongType):
		return fmt.Errorf("invalid JSON: the top level must be an object, not %s", wrongType.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("invalid JSON: unexpected end of file")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// position turns a byte offset into "line L, column C".
func position(data []byte, offset int64) string {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}
