package cli

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/config"
)

func init() {
	Register(Command{Name: "operator", Synopsis: "Provides cluster-level tools for operators"})
	Register(Command{Name: "operator raft", Synopsis: "Inspects the Raft configuration"})
	help := commandHelp("operator raft list-peers [options]", `
Lists the Raft voters of the cluster in Consul's columns, the leader
marked: Herald's catalog shard stands for Consul's one Raft group. The
last column, Leads, names the shards each server leads: the kv shard's
leader may be another server.`, httpOnlyFlags("list-peers", new(httpFlags)))
	Register(Command{Name: "operator raft list-peers", Synopsis: "Lists the Raft peers", Help: help,
		Run: withAgent("list-peers", help, func(client *api.Client, hf *httpFlags, cio IO) int {
			var conf raftConfiguration
			if _, err := client.Raw().Query("/v1/operator/raft/configuration", &conf, hf.queryOptions()); err != nil {
				fmt.Fprintf(cio.Stderr, "Error getting peers: %s\n", err)
				return 1
			}
			tw := tabwriter.NewWriter(cio.Stdout, 0, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "Node\tID\tAddress\tState\tVoter\tRaftProtocol\tLeads")
			for _, s := range conf.Servers {
				state := "follower"
				if s.Leader {
					state = "leader"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%s\n", s.Node, s.ID, s.Address, state, s.Voter, s.ProtocolVersion,
					conf.leads(s.Address))
			}
			tw.Flush()
			for _, name := range conf.shardNames() {
				if e := conf.Shards[name].Error; e != "" {
					fmt.Fprintf(cio.Stderr, "Shard %s: %s\n", name, e)
				}
			}
			return 0
		})})

	infoHelp := commandHelp("info [options]", `
Prints the agent's state for debugging, by section, as Consul's info does:
agent, raft (the catalog shard, Consul's one Raft group), raft_kv (the kv
shard) and runtime.`, httpOnlyFlags("info", new(httpFlags)))
	Register(Command{Name: "info", Synopsis: "Prints the agent's state for debugging", Help: infoHelp,
		Run: withAgent("info", infoHelp, func(client *api.Client, _ *httpFlags, cio IO) int {
			self, err := client.Agent().Self()
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error querying agent: %s\n", err)
				return 1
			}
			stats, _ := self["Stats"]
			sections := make([]string, 0, len(stats))
			for k := range stats {
				sections = append(sections, k)
			}
			sort.Strings(sections)
			for _, sec := range sections {
				fmt.Fprintf(cio.Stdout, "%s:\n", sec)
				values, _ := stats[sec].(map[string]any)
				keys := make([]string, 0, len(values))
				for k := range values {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(cio.Stdout, "\t%s = %v\n", k, values[k])
				}
			}
			return 0
		})})
}

func init() {
	var hf httpFlags
	var id, address string
	flags := func() *flag.FlagSet {
		fs := newFlagSet("remove-peer")
		hf.addTo(fs)
		fs.StringVar(&id, "id", "", "The ID of the server to remove, as list-peers shows it.")
		fs.StringVar(&address, "address", "", "The Raft address (IP:port) of the server to remove.")
		return fs
	}
	help := commandHelp("operator raft remove-peer [options]", `
Removes a server from the Raft voters of every shard, by -id or -address.
Servers that leave gracefully, and servers dead for autopilot's
dead_server_cleanup_after, are removed without it; this is for doing it
sooner. A removed server that starts again joins as a new voter.`, flags())
	Register(Command{Name: "operator raft remove-peer", Synopsis: "Removes a server from the Raft voters", Help: help,
		Run: func(args []string, cio IO) int {
			id, address = "", ""
			fs := flags()
			if ok, code := parseFlags(fs, args, help, cio); !ok {
				return code
			}
			if (id == "") == (address == "") {
				fmt.Fprintln(cio.Stderr, "Exactly one of -id or -address is required")
				return 1
			}
			client, ok := hf.connect(cio)
			if !ok {
				return 1
			}
			var err error
			if id != "" {
				err = client.Operator().RaftRemovePeerByID(id, nil)
			} else {
				err = client.Operator().RaftRemovePeerByAddress(address, nil)
			}
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error removing peer: %s\n", err)
				return 1
			}
			if id != "" {
				fmt.Fprintf(cio.Stdout, "Removed peer with id %q\n", id)
			} else {
				fmt.Fprintf(cio.Stdout, "Removed peer with address %q\n", address)
			}
			return 0
		}})

	Register(Command{Name: "operator raft recover", Synopsis: "Restores a cluster that lost its quorum", Help: recoverHelp,
		Run: runRecover})
}

var recoverHelp = `Usage: {{prog}} operator raft recover [agent options] [-rejoin]

  Brings back a cluster that has lost its quorum for good, from what the
  surviving servers have on disk. Stop every surviving server first, then:

  1. On the survivor with the most recent data (the highest applied index
     that "herald info" showed, or any survivor), run this command with the
     same options the agent runs with (-data-dir, -config-file,
     -config-dir, -bind, -server-port, ...). It makes that server's state
     the cluster's, with that server as the only voter.
  2. On every other surviving server, run it with -rejoin: this clears the
     server's Raft state (its node ID and configuration stay).
  3. Start the recovered server: it elects itself leader. Start the others:
     they join it as new voters and receive the state.

  Writes that only the lost servers had are gone; everything the recovered
  server had applied is kept, with its indexes.`

func runRecover(args []string, cio IO) int {
	rejoin := false
	var rest []string
	for _, a := range args {
		if a == "-rejoin" || a == "--rejoin" {
			rejoin = true
			continue
		}
		rest = append(rest, a)
	}
	cfg, err := config.Load(rest)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(cio.Stdout, strings.ReplaceAll(recoverHelp, "{{prog}}", Prog(cio)))
		return 0
	}
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error: %v\n", err)
		return 1
	}
	logger := slog.New(slog.NewTextHandler(cio.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if rejoin {
		if err := agent.RecoverRejoin(cfg, logger); err != nil {
			fmt.Fprintf(cio.Stderr, "Error: %v\n", err)
			return 1
		}
		fmt.Fprintf(cio.Stdout, "Cleared the Raft state in %s: started again, this server joins the recovered cluster as a new voter.\n", cfg.DataDir)
		return 0
	}
	done, err := agent.Recover(cfg, logger)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error: %v\n", err)
		return 1
	}
	for _, r := range done {
		fmt.Fprintf(cio.Stdout, "Recovered shard %s at index %d, with this server as its only voter.\n", r.Shard, r.Index)
	}
	fmt.Fprintln(cio.Stdout, "Start this server now; then run this command with -rejoin on the other survivors and start them.")
	return 0
}

// raftConfiguration is /v1/operator/raft/configuration: Consul's servers
// (the catalog shard's) and Herald's shards.
type raftConfiguration struct {
	Servers []*api.RaftServer
	Index   uint64
	Shards  map[string]struct {
		Leader  string
		Servers []*api.RaftServer
		Error   string
	}
}

func (c *raftConfiguration) shardNames() []string {
	names := make([]string, 0, len(c.Shards))
	for name := range c.Shards {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// leads names the shards whose leader is at address, "-" for none.
func (c *raftConfiguration) leads(address string) string {
	var led []string
	for _, name := range c.shardNames() {
		if c.Shards[name].Leader == address {
			led = append(led, name)
		}
	}
	if len(led) == 0 {
		return "-"
	}
	return strings.Join(led, ",")
}
