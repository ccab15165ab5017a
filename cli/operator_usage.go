package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"
)

// operator raft transfer-leader and operator usage instances, with
// Consul's output.

func init() {
	var thf httpFlags
	var id string
	transferFlags := func() *flag.FlagSet {
		fs := newFlagSet("transfer-leader")
		thf.addTo(fs)
		fs.StringVar(&id, "id", "", "The ID of the server to transfer leadership to; any other voter when not given.")
		return fs
	}
	transferHelp := commandHelp("operator raft transfer-leader [options]", `
Transfers the leadership of every shard to the server with -id, or to
another voter.`, transferFlags())
	Register(Command{Name: "operator raft transfer-leader", Synopsis: "Transfer raft leadership to another node", Help: transferHelp,
		Run: func(args []string, cio IO) int {
			id = ""
			fs := transferFlags()
			if ok, code := parseFlags(fs, args, transferHelp, cio); !ok {
				return code
			}
			client, ok := thf.connect(cio)
			if !ok {
				return 1
			}
			res, err := client.Operator().RaftLeaderTransfer(id, thf.queryOptions())
			if err == nil && !res.Success {
				err = errors.New("the server did not confirm it")
			}
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error transfering leadership: Failed to transfer leadership %s\n", err)
				return 1
			}
			fmt.Fprintln(cio.Stdout, "Success")
			return 0
		}})

	Register(Command{Name: "operator usage", Synopsis: "Provides cluster-level usage information"})
	var uhf httpFlags
	var onlyBillable, onlyConnect, allDCs bool
	usageFlags := func() *flag.FlagSet {
		fs := newFlagSet("instances")
		uhf.addTo(fs)
		fs.BoolVar(&onlyBillable, "billable", false, "Display only billable service info. Cannot be used with -connect.")
		fs.BoolVar(&onlyConnect, "connect", false, "Display only Connect service info. Cannot be used with -billable.")
		fs.BoolVar(&allDCs, "all-datacenters", false, "Display service counts from all datacenters.")
		return fs
	}
	usageHelp := commandHelp("operator usage instances [options]", `
Displays the number of service instances registered in the datacenter:
billable ones (every instance but the servers' consul service and
Connect proxies and gateways) and Connect ones by kind.`, usageFlags())
	Register(Command{Name: "operator usage instances", Synopsis: "Display service instance usage information", Help: usageHelp,
		Run: func(args []string, cio IO) int {
			onlyBillable, onlyConnect, allDCs = false, false, false
			fs := usageFlags()
			if ok, code := parseFlags(fs, args, usageHelp, cio); !ok {
				return code
			}
			if n := fs.NArg(); n > 0 {
				fmt.Fprintf(cio.Stderr, "Too many arguments (expected 0, got %d)\n", n)
				return 1
			}
			if onlyBillable && onlyConnect {
				fmt.Fprintln(cio.Stderr, "Cannot specify both -billable and -connect flags")
				return 1
			}
			client, ok := uhf.connect(cio)
			if !ok {
				return 1
			}
			q := uhf.queryOptions()
			q.Global = allDCs
			usage, _, err := client.Operator().Usage(q)
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error fetching usage information: %s\n", err)
				return 1
			}
			printUsage(cio.Stdout, usage, !onlyConnect, !onlyBillable, allDCs)
			return 0
		}})
}

// printUsage prints usage in the layout of Consul's usage instances: the
// billable totals and table, then the Connect table, by datacenter when
// several are shown.
func printUsage(w io.Writer, u *api.Usage, billable, connect, byDC bool) {
	dcs := make([]string, 0, len(u.Usage))
	total := 0
	for dc, su := range u.Usage {
		dcs = append(dcs, dc)
		total += su.BillableServiceInstances
	}
	sort.Strings(dcs)
	table := func(header string, rows [][2]string) string {
		var b strings.Builder
		tw := tabwriter.NewWriter(&b, 0, 2, 6, ' ', 0)
		if byDC {
			fmt.Fprint(tw, "Datacenter\t")
		}
		fmt.Fprintf(tw, "%s\tService instances\n", header)
		for _, r := range rows {
			if byDC {
				fmt.Fprintf(tw, "%s\t", r[0])
			}
			fmt.Fprintln(tw, r[1])
		}
		tw.Flush()
		return strings.TrimSpace(b.String())
	}
	if billable {
		fmt.Fprintf(w, "Billable Service Instances Total: %d\n", total)
		var rows [][2]string
		for _, dc := range dcs {
			fmt.Fprintf(w, "%s Billable Service Instances: %d\n", dc, u.Usage[dc].BillableServiceInstances)
			rows = append(rows, [2]string{dc, fmt.Sprintf("%d\t%d", u.Usage[dc].Services, u.Usage[dc].BillableServiceInstances)})
		}
		fmt.Fprintf(w, "\nBillable Services\n%s\n\n", table("Services", rows))
	}
	if connect {
		var rows [][2]string
		for _, dc := range dcs {
			kinds := make([]string, 0, len(u.Usage[dc].ConnectServiceInstances))
			for k := range u.Usage[dc].ConnectServiceInstances {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, k := range kinds {
				rows = append(rows, [2]string{dc, fmt.Sprintf("%s\t%d", k, u.Usage[dc].ConnectServiceInstances[k])})
			}
		}
		fmt.Fprintf(w, "Connect Services\n%s\n", table("Type", rows))
	}
}
