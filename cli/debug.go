package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/statemachine"
)

func init() {
	Register(Command{
		Name:     "debug",
		Synopsis: "Inspect a stopped server's command history",
		Help: `Usage: {{prog}} debug <subcommand> [options]

  Reads the command history that every server keeps (by default the last
  1,000,000 commands of each shard) from a stopped server's data directory,
  to find out after the fact what happened and what the state was.`,
	})
	Register(Command{
		Name:     "debug log",
		Synopsis: "Print the retained commands of a shard",
		Help:     debugLogHelp,
		Run:      runDebugLog,
	})
	Register(Command{
		Name:     "debug replay",
		Synopsis: "Print the KV store as it was at a past index",
		Help:     debugReplayHelp,
		Run:      runDebugReplay,
	})
}

var debugLogHelp = commandHelp("debug log -data-dir=DIR [options]", `
Prints the retained commands of one shard, oldest first: the Raft index, the
time the proposer stamped on it, the command type, the operation, what it is
about (a key; a node, service, check, session or query), and who caused it:
the AccessorID of the request's token, the agent where the request entered,
and the HTTP client's address ("(agent)" for an agent's own work). A
transaction prints one line per operation, all with its index. With
-format=json each line also carries the command's body, with secrets
redacted.

    $ {{prog}} debug log -data-dir=/var/lib/herald -shard=catalog \
        -service=web -since=2026-12-06T03:00:00Z -until=2026-12-06T03:30:00Z
    $ {{prog}} debug log -data-dir=/var/lib/herald -shard=kv -accessor=ACCESSOR-ID`, debugLogFlags(new(debugLogOpts)))

var debugReplayHelp = commandHelp("debug replay -data-dir=DIR -to-index=N", `
Rebuilds the KV store as it was right after index N of the kv shard was
applied, from the oldest retained state plus the history, and prints it in the
JSON format of "{{prog}} kv export" (so "kv import" can restore it).`, debugReplayFlags(new(debugReplayOpts)))

type debugLogOpts struct {
	dataDir, shard, format string
	from, to               uint64
	// The filters: a command is printed when it passes all that are set.
	accessor, node, key, service string
	since, until                 string
}

func debugLogFlags(o *debugLogOpts) *flag.FlagSet {
	fs := newFlagSet("debug log")
	fs.StringVar(&o.dataDir, "data-dir", "", "The stopped server's data directory.")
	fs.StringVar(&o.shard, "shard", "kv", "The shard: kv, catalog or system.")
	fs.Uint64Var(&o.from, "from", 0, "The first index to print.")
	fs.Uint64Var(&o.to, "to", 0, "The last index to print (0: the last applied).")
	fs.StringVar(&o.format, "format", "table", "Output format: table or json (one object per line).")
	fs.StringVar(&o.accessor, "accessor", "", "Only the commands caused by the token with this AccessorID.")
	fs.StringVar(&o.node, "node", "", "Only the commands whose request entered the cluster at this agent.")
	fs.StringVar(&o.key, "key", "", "Only the KV operations on keys that start with this prefix.")
	fs.StringVar(&o.service, "service", "", "Only the commands that register or deregister this service (its ID or name).")
	fs.StringVar(&o.since, "since", "", "Only the commands stamped at or after this time (RFC 3339, or a duration such as 2h: that long ago).")
	fs.StringVar(&o.until, "until", "", "Only the commands stamped at or before this time (RFC 3339, or a duration: that long ago).")
	return fs
}

type debugReplayOpts struct {
	dataDir string
	toIndex uint64
}

func debugReplayFlags(o *debugReplayOpts) *flag.FlagSet {
	fs := newFlagSet("debug replay")
	fs.StringVar(&o.dataDir, "data-dir", "", "The stopped server's data directory.")
	fs.Uint64Var(&o.toIndex, "to-index", 0, "The kv shard index to rebuild the state at (0: the last applied).")
	return fs
}

// openShardState opens a shard's state directory under a data dir.
func openShardState(dataDir, shard string, cio IO) (*statemachine.Offline, bool) {
	if dataDir == "" {
		fmt.Fprintln(cio.Stderr, "Error: -data-dir is required")
		return nil, false
	}
	if _, ok := command.ParseShard(shard); !ok {
		fmt.Fprintf(cio.Stderr, "Error: unknown shard %q (kv, catalog or system)\n", shard)
		return nil, false
	}
	st, err := statemachine.OpenOffline(filepath.Join(dataDir, "state", shard))
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error: %v\n", err)
		return nil, false
	}
	return st, true
}

// historyLine is one operation of `debug log -format=json`.
type historyLine struct {
	Index uint64
	Time  time.Time
	Type  string
	Op    string `json:",omitempty"`
	Key   string `json:",omitempty"`
	// Subject is what a command other than a KV one is about ("node n1
	// service web1").
	Subject string `json:",omitempty"`
	// Who caused the command (command.Origin).
	Via        string `json:",omitempty"`
	Node       string `json:",omitempty"`
	RemoteAddr string `json:",omitempty"`
	Accessor   string `json:",omitempty"`
	// Body is the command's body, as command.Printable shows it, for every
	// command but a KV one (whose Op and Key say it).
	Body  json.RawMessage `json:",omitempty"`
	Error string          `json:",omitempty"`
}

// historyLines turns a retained command into the lines that print it,
// those of its operations that pass keep.
func historyLines(h statemachine.HistoryEntry, keep func(historyLine) bool) []historyLine {
	o := h.Command.Origin
	base := historyLine{Index: h.Index, Time: time.Unix(0, h.Command.Time).UTC(), Type: h.Command.Type().String(),
		Via: o.Via, Node: o.Node, RemoteAddr: o.RemoteAddr, Accessor: o.Accessor}
	if h.Err != nil {
		base.Error = h.Err.Error()
		return filterLines([]historyLine{base}, keep)
	}
	var ops []command.KVOp
	switch b := h.Command.Body.(type) {
	case *command.KVBody:
		ops = []command.KVOp{b.Op}
	case *command.KVTxnBody:
		ops = b.Ops
	case *command.CatalogTxnBody:
		base.Body = printableBody(b)
		out := make([]historyLine, len(b.Ops))
		for i, op := range b.Ops {
			out[i] = base
			out[i].Op, out[i].Subject = op.Verb, catalogOpSubject(op)
		}
		return filterLines(out, keep)
	default:
		base.Subject = subjectOf(b)
		base.Body = printableBody(b)
		return filterLines([]historyLine{base}, keep)
	}
	out := make([]historyLine, len(ops))
	for i, op := range ops {
		out[i] = base
		out[i].Op, out[i].Key = op.Verb.String(), op.Key
	}
	return filterLines(out, keep)
}

func filterLines(lines []historyLine, keep func(historyLine) bool) []historyLine {
	out := lines[:0]
	for _, l := range lines {
		if keep(l) {
			out = append(out, l)
		}
	}
	return out
}

// printableBody is a body as `debug log` shows it: through
// command.Printable, so a body holding a secret prints without it.
func printableBody(b command.Body) json.RawMessage {
	out, err := json.Marshal(command.Printable(b))
	if err != nil {
		return nil
	}
	return out
}

// subjectOf names what a command other than a KV one is about.
func subjectOf(b command.Body) string {
	var parts []string
	add := func(what, name string) {
		if name != "" {
			parts = append(parts, what+" "+name)
		}
	}
	switch b := b.(type) {
	case *command.CatalogRegisterBody:
		add("node", b.Node.Node)
		if b.Service != nil {
			add("service", b.Service.ID)
		}
		for _, c := range b.Checks {
			add("check", c.CheckID)
		}
	case *command.CatalogDeregisterBody:
		add("node", b.Node)
		add("service", b.ServiceID)
		add("check", b.CheckID)
	case *command.CheckStatusBody:
		add("node", b.Node)
		add("check", b.CheckID)
		add("status", b.Status)
	case *command.SessionCreateBody:
		add("session", b.Session.ID)
	case *command.SessionDestroyBody:
		add("session", b.ID)
	case *command.SessionRenewBody:
		add("session", b.ID)
	case *command.QuerySetBody:
		add("query", b.Query.ID)
	case *command.QueryDeleteBody:
		add("query", b.ID)
	// ACL commands are named by what they change, never by a secret.
	case *command.ACLTokenSetBody:
		add("token", b.Token.AccessorID)
	case *command.ACLTokenDeleteBody:
		add("token", b.AccessorID)
	case *command.ACLPolicySetBody:
		add("policy", b.Policy.ID)
	case *command.ACLPolicyDeleteBody:
		add("policy", b.ID)
	case *command.ACLRoleSetBody:
		add("role", b.Role.ID)
	case *command.ACLRoleDeleteBody:
		add("role", b.ID)
	case *command.ACLBootstrapBody:
		add("token", b.AccessorID)
	case *command.ACLInitBody:
		add("token", b.ManagementAccessorID)
	}
	return strings.Join(parts, " ")
}

func catalogOpSubject(op command.CatalogOp) string {
	switch {
	case op.Service != nil:
		return fmt.Sprintf("node %s service %s", op.Node.Node, op.Service.ID)
	case op.Check != nil:
		return fmt.Sprintf("node %s check %s", op.Check.Node, op.Check.CheckID)
	}
	return "node " + op.Node.Node
}

// touchesService reports whether a command registers or deregisters the
// service with this ID or name. Deregistering a whole node removes its
// services too, without naming them: -service does not find that.
func touchesService(b command.Body, service string) bool {
	is := func(s *event.Service) bool { return s != nil && (s.ID == service || s.Service == service) }
	switch b := b.(type) {
	case *command.CatalogRegisterBody:
		return is(b.Service)
	case *command.CatalogDeregisterBody:
		return b.ServiceID == service
	case *command.CatalogTxnBody:
		for _, op := range b.Ops {
			if is(op.Service) {
				return true
			}
		}
	}
	return false
}

// parseWhen reads -since and -until: an RFC 3339 time, or a duration
// before now.
func parseWhen(flagName, value string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, value); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(value); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("-%s=%q is neither an RFC 3339 time (2026-12-06T03:12:00Z) nor a duration (2h)", flagName, value)
}

// commandFilter is the filters of debugLogOpts over whole commands;
// -key applies to the lines of a command (lineFilter).
func (o *debugLogOpts) commandFilter(now time.Time) (func(statemachine.HistoryEntry) bool, error) {
	var since, until time.Time
	var err error
	if o.since != "" {
		if since, err = parseWhen("since", o.since, now); err != nil {
			return nil, err
		}
	}
	if o.until != "" {
		if until, err = parseWhen("until", o.until, now); err != nil {
			return nil, err
		}
	}
	return func(h statemachine.HistoryEntry) bool {
		c := h.Command
		switch {
		case o.accessor != "" && c.Origin.Accessor != o.accessor,
			o.node != "" && c.Origin.Node != o.node,
			!since.IsZero() && c.Time < since.UnixNano(),
			!until.IsZero() && c.Time > until.UnixNano(),
			o.service != "" && (h.Err != nil || !touchesService(c.Body, o.service)):
			return false
		}
		return true
	}, nil
}

func (o *debugLogOpts) lineFilter(l historyLine) bool {
	return strings.HasPrefix(l.Key, o.key)
}

func runDebugLog(args []string, cio IO) int {
	o := new(debugLogOpts)
	fs := debugLogFlags(o)
	if ok, code := parseFlags(fs, args, debugLogHelp, cio); !ok {
		return code
	}
	if o.format != "table" && o.format != "json" {
		fmt.Fprintf(cio.Stderr, "Error: unknown -format %q (table or json)\n", o.format)
		return 1
	}
	keepCommand, err := o.commandFilter(time.Now())
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error: %v\n", err)
		return 1
	}
	st, ok := openShardState(o.dataDir, o.shard, cio)
	if !ok {
		return 1
	}
	defer st.Close()
	to := o.to
	if to == 0 {
		to = st.Applied()
	}
	if o.from < st.HistoryFirst() && st.HistoryFirst() > 1 {
		fmt.Fprintf(cio.Stderr, "Note: the history of shard %s starts at index %d; older commands were folded into its base state.\n",
			o.shard, st.HistoryFirst())
	}
	tw := tabwriter.NewWriter(cio.Stdout, 0, 4, 2, ' ', 0)
	if o.format == "table" {
		fmt.Fprintln(tw, "Index\tTime\tType\tOp\tWhat\tAccessor\tNode\tRemote")
	}
	enc := json.NewEncoder(cio.Stdout)
	err = st.History(o.from, to, func(h statemachine.HistoryEntry) error {
		if !keepCommand(h) {
			return nil
		}
		for _, l := range historyLines(h, o.lineFilter) {
			if o.format == "json" {
				if err := enc.Encode(l); err != nil {
					return err
				}
				continue
			}
			what := l.Key + l.Subject
			if l.Error != "" {
				what = "undecodable: " + l.Error
			}
			remote := l.RemoteAddr
			if remote == "" && l.Via != "" {
				remote = "(" + l.Via + ")"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Index, l.Time.Format(time.RFC3339Nano), l.Type, l.Op, what,
				dash(l.Accessor), dash(l.Node), dash(remote))
		}
		return nil
	})
	tw.Flush()
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error reading history: %v\n", err)
		return 1
	}
	return 0
}

// dash stands in for an empty column, so the table's columns stay apart.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runDebugReplay(args []string, cio IO) int {
	o := new(debugReplayOpts)
	fs := debugReplayFlags(o)
	if ok, code := parseFlags(fs, args, debugReplayHelp, cio); !ok {
		return code
	}
	st, ok := openShardState(o.dataDir, "kv", cio)
	if !ok {
		return 1
	}
	defer st.Close()
	index := o.toIndex
	if index == 0 {
		index = st.Applied()
	}
	entries, err := st.ReplayKV(index)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error: %v\n", strings.TrimPrefix(err.Error(), "statemachine: "))
		return 1
	}
	pairs := make(api.KVPairs, len(entries))
	for i, e := range entries {
		pairs[i] = &api.KVPair{Key: e.Key, Flags: e.Flags, Value: e.Value}
	}
	out, err := marshalExport(pairs)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error: %v\n", err)
		return 1
	}
	fmt.Fprintf(cio.Stdout, "%s\n", out)
	return 0
}
