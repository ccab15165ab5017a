package cli

import (
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"
)

func init() {
	help := commandHelp("members [options]", `
Lists the members of the cluster as this agent knows them, with their
address, status, type (server or client), build, protocol and datacenter.`, new(membersCmd).flags())
	Register(Command{Name: "members", Synopsis: "Lists the members of the cluster", Help: help,
		Run: func(args []string, cio IO) int { return new(membersCmd).run(args, cio, help) }})
}

type membersCmd struct {
	http     httpFlags
	detailed bool
	status   string
	wan      bool
}

func (c *membersCmd) flags() *flag.FlagSet {
	fs := newFlagSet("members")
	c.http.addTo(fs)
	fs.BoolVar(&c.detailed, "detailed", false, "Print every tag of each member.")
	fs.StringVar(&c.status, "status", "", "Only members whose status matches this regular expression.")
	fs.BoolVar(&c.wan, "wan", false, "List the WAN pool's members (the servers of every datacenter) instead.")
	return fs
}

var memberStatus = map[int]string{0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}

func (c *membersCmd) run(args []string, cio IO, help string) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, help, cio); !ok {
		return code
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	members, err := client.Agent().Members(c.wan)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error retrieving members: %s\n", err)
		return 1
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	tw := tabwriter.NewWriter(cio.Stdout, 0, 8, 2, ' ', 0)
	if c.detailed {
		fmt.Fprintln(tw, "Node\tAddress\tStatus\tTags")
	} else {
		fmt.Fprintln(tw, "Node\tAddress\tStatus\tType\tBuild\tProtocol\tDC\tPartition\tSegment")
	}
	for _, m := range members {
		status := memberStatus[m.Status]
		if c.status != "" && !strings.Contains(status, c.status) {
			continue
		}
		addr := fmt.Sprintf("%s:%d", m.Addr, m.Port)
		if c.detailed {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, addr, status, tagList(m))
			continue
		}
		typ, segment := "client", ""
		if m.Tags["role"] == "consul" {
			typ, segment = "server", "<all>"
		}
		build, _, _ := strings.Cut(m.Tags["build"], ":")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, addr, status, typ, build,
			m.Tags["vsn"], m.Tags["dc"], "default", segment)
	}
	tw.Flush()
	return 0
}

func tagList(m *api.AgentMember) string {
	keys := make([]string, 0, len(m.Tags))
	for k := range m.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m.Tags[k]
	}
	return strings.Join(parts, ",")
}
