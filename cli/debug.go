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
time the proposer stamped on it, the command type, the operation and the key.
A transaction prints one line per operation, all with its index.

    $ {{prog}} debug log -data-dir=/var/lib/herald -shard=kv -from=100 -to=200`, debugLogFlags(new(debugLogOpts)))

var debugReplayHelp = commandHelp("debug replay -data-dir=DIR -to-index=N", `
Rebuilds the KV store as it was right after index N of the kv shard was
applied, from the oldest retained state plus the history, and prints it in the
JSON format of "{{prog}} kv export" (so "kv import" can restore it).`, debugReplayFlags(new(debugReplayOpts)))

type debugLogOpts struct {
	dataDir, shard, format string
	from, to               uint64
}

func debugLogFlags(o *debugLogOpts) *flag.FlagSet {
	fs := newFlagSet("debug log")
	fs.StringVar(&o.dataDir, "data-dir", "", "The stopped server's data directory.")
	fs.StringVar(&o.shard, "shard", "kv", "The shard: kv, catalog or system.")
	fs.Uint64Var(&o.from, "from", 0, "The first index to print.")
	fs.Uint64Var(&o.to, "to", 0, "The last index to print (0: the last applied).")
	fs.StringVar(&o.format, "format", "table", "Output format: table or json (one object per line).")
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
	Error string `json:",omitempty"`
}

func historyLines(h statemachine.HistoryEntry) []historyLine {
	base := historyLine{Index: h.Index, Time: time.Unix(0, h.Command.Time).UTC(), Type: h.Command.Type().String()}
	if h.Err != nil {
		base.Error = h.Err.Error()
		return []historyLine{base}
	}
	var ops []command.KVOp
	switch b := h.Command.Body.(type) {
	case *command.KVBody:
		ops = []command.KVOp{b.Op}
	case *command.KVTxnBody:
		ops = b.Ops
	default:
		// ACL commands are named by what they change; a token's SecretID
		// is never printed.
		base.Key = aclCommandKey(b)
	}
	if len(ops) == 0 {
		return []historyLine{base}
	}
	out := make([]historyLine, len(ops))
	for i, op := range ops {
		out[i] = base
		out[i].Op, out[i].Key = op.Verb.String(), op.Key
	}
	return out
}

// aclCommandKey is the AccessorID or ID an ACL command changes; "" for
// any other command.
func aclCommandKey(b command.Body) string {
	switch b := b.(type) {
	case *command.ACLTokenSetBody:
		return b.Token.AccessorID
	case *command.ACLTokenDeleteBody:
		return b.AccessorID
	case *command.ACLPolicySetBody:
		return b.Policy.ID
	case *command.ACLPolicyDeleteBody:
		return b.ID
	case *command.ACLRoleSetBody:
		return b.Role.ID
	case *command.ACLRoleDeleteBody:
		return b.ID
	case *command.ACLBootstrapBody:
		return b.AccessorID
	case *command.ACLInitBody:
		return b.ManagementAccessorID
	}
	return ""
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
		fmt.Fprintln(tw, "Index\tTime\tType\tOp\tKey")
	}
	enc := json.NewEncoder(cio.Stdout)
	err := st.History(o.from, to, func(h statemachine.HistoryEntry) error {
		for _, l := range historyLines(h) {
			if o.format == "json" {
				if err := enc.Encode(l); err != nil {
					return err
				}
				continue
			}
			what := l.Key
			if l.Error != "" {
				what = "undecodable: " + l.Error
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", l.Index, l.Time.Format(time.RFC3339Nano), l.Type, l.Op, what)
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
