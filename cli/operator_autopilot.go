package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/consul/api"
)

// operator autopilot get-config|set-config|state, with Consul's output.

func init() {
	Register(Command{Name: "operator autopilot", Synopsis: "Provides tools for modifying Autopilot configuration"})

	getHelp := commandHelp("operator autopilot get-config [options]", `
Displays the current Autopilot configuration: the one written with
set-config, or the agent configuration's autopilot block until then.`, httpOnlyFlags("get-config", new(httpFlags)))
	Register(Command{Name: "operator autopilot get-config", Synopsis: "Display the current Autopilot configuration", Help: getHelp,
		Run: withAgent("get-config", getHelp, func(client *api.Client, hf *httpFlags, cio IO) int {
			conf, err := client.Operator().AutopilotGetConfiguration(hf.queryOptions())
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error querying Autopilot configuration: %s\n", err)
				return 1
			}
			printAutopilotConfig(cio.Stdout, conf)
			return 0
		})})

	var hf httpFlags
	var cleanup, disableMigration boolValue
	var maxTrailing, minQuorum uintValue
	var lastContact, stabilization durationValue
	var zoneTag, versionTag stringValue
	setFlags := func() *flag.FlagSet {
		fs := newFlagSet("set-config")
		hf.addTo(fs)
		fs.Var(&cleanup, "cleanup-dead-servers", "Controls whether Consul will automatically remove dead servers when new ones are successfully added. Must be one of `true|false`.")
		fs.Var(&maxTrailing, "max-trailing-logs", "Controls the maximum number of log entries that a server can trail the leader by before being considered unhealthy.")
		fs.Var(&minQuorum, "min-quorum", "Sets the minimum number of servers required in a cluster before autopilot can prune dead servers.")
		fs.Var(&lastContact, "last-contact-threshold", "Controls the maximum amount of time a server can go without contact from the leader before being considered unhealthy. Must be a duration value such as \"200ms\".")
		fs.Var(&stabilization, "server-stabilization-time", "Controls the minimum amount of time a server must be stable in the 'healthy' state before being added to the cluster. Only takes effect if all servers are running Raft protocol version 3 or higher. Must be a duration value such as \"10s\".")
		fs.Var(&zoneTag, "redundancy-zone-tag", "Controls the node_meta tag name used for separating servers into different redundancy zones.")
		fs.Var(&disableMigration, "disable-upgrade-migration", "Disables automated upgrade migrations. Must be one of `true|false`.")
		fs.Var(&versionTag, "upgrade-version-tag", "Controls the node_meta tag name used for version info when performing upgrade migrations.")
		return fs
	}
	setHelp := commandHelp("operator autopilot set-config [options]", `
Modifies the current Autopilot configuration: only the options given
change, and the write is a check-and-set on the configuration read first.`, setFlags())
	Register(Command{Name: "operator autopilot set-config", Synopsis: "Modify the current Autopilot configuration", Help: setHelp,
		Run: func(args []string, cio IO) int {
			cleanup, disableMigration = boolValue{}, boolValue{}
			maxTrailing, minQuorum = uintValue{}, uintValue{}
			lastContact, stabilization = durationValue{}, durationValue{}
			zoneTag, versionTag = stringValue{}, stringValue{}
			fs := setFlags()
			if ok, code := parseFlags(fs, args, setHelp, cio); !ok {
				return code
			}
			client, ok := hf.connect(cio)
			if !ok {
				return 1
			}
			conf, err := client.Operator().AutopilotGetConfiguration(hf.queryOptions())
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error querying Autopilot configuration: %s\n", err)
				return 1
			}
			cleanup.merge(&conf.CleanupDeadServers)
			disableMigration.merge(&conf.DisableUpgradeMigration)
			zoneTag.merge(&conf.RedundancyZoneTag)
			versionTag.merge(&conf.UpgradeVersionTag)
			maxTrailing.merge(&conf.MaxTrailingLogs)
			if minQuorum.set {
				conf.MinQuorum = uint(minQuorum.v)
			}
			if lastContact.set {
				conf.LastContactThreshold = api.NewReadableDuration(lastContact.v)
			}
			if stabilization.set {
				conf.ServerStabilizationTime = api.NewReadableDuration(stabilization.v)
			}
			updated, err := client.Operator().AutopilotCASConfiguration(conf, nil)
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error setting Autopilot configuration: %s\n", err)
				return 1
			}
			if !updated {
				fmt.Fprintln(cio.Stdout, "Configuration could not be atomically updated, please try again")
				return 1
			}
			fmt.Fprintln(cio.Stdout, "Configuration updated!")
			return 0
		}})

	var shf httpFlags
	var format string
	stateFlags := func() *flag.FlagSet {
		fs := newFlagSet("state")
		shf.addTo(fs)
		fs.StringVar(&format, "format", "pretty", "Output format {pretty|json}")
		return fs
	}
	stateHelp := commandHelp("operator autopilot state [options]", `
Displays the current Autopilot state: the servers, their health and the
cluster's failure tolerance.`, stateFlags())
	Register(Command{Name: "operator autopilot state", Synopsis: "Display the current Autopilot state", Help: stateHelp,
		Run: func(args []string, cio IO) int {
			format = "pretty"
			fs := stateFlags()
			if ok, code := parseFlags(fs, args, stateHelp, cio); !ok {
				return code
			}
			if format != "pretty" && format != "json" {
				fmt.Fprintf(cio.Stderr, "Invalid format %q: must be one of pretty, json\n", format)
				return 1
			}
			client, ok := shf.connect(cio)
			if !ok {
				return 1
			}
			state, err := client.Operator().AutopilotState(shf.queryOptions())
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error getting Autopilot state: %s\n", err)
				return 1
			}
			if format == "json" {
				out, _ := json.MarshalIndent(state, "", "   ")
				fmt.Fprintln(cio.Stdout, string(out))
				return 0
			}
			printAutopilotState(cio.Stdout, state)
			return 0
		}})

}

func printAutopilotConfig(w io.Writer, c *api.AutopilotConfiguration) {
	fmt.Fprintf(w, "CleanupDeadServers = %v\n", c.CleanupDeadServers)
	fmt.Fprintf(w, "LastContactThreshold = %v\n", c.LastContactThreshold.String())
	fmt.Fprintf(w, "MaxTrailingLogs = %v\n", c.MaxTrailingLogs)
	fmt.Fprintf(w, "MinQuorum = %v\n", c.MinQuorum)
	fmt.Fprintf(w, "ServerStabilizationTime = %v\n", c.ServerStabilizationTime.String())
	fmt.Fprintf(w, "RedundancyZoneTag = %q\n", c.RedundancyZoneTag)
	fmt.Fprintf(w, "DisableUpgradeMigration = %v\n", c.DisableUpgradeMigration)
	fmt.Fprintf(w, "UpgradeVersionTag = %q\n", c.UpgradeVersionTag)
}

func printAutopilotState(w io.Writer, s *api.AutopilotState) {
	fmt.Fprintf(w, "Healthy:                      %v\n", s.Healthy)
	fmt.Fprintf(w, "Failure Tolerance:            %d\n", s.FailureTolerance)
	fmt.Fprintf(w, "Optimistic Failure Tolerance: %d\n", s.OptimisticFailureTolerance)
	fmt.Fprintf(w, "Leader:                       %s\n", s.Leader)
	fmt.Fprintln(w, "Voters:")
	for _, v := range s.Voters {
		fmt.Fprintf(w, "   %s\n", v)
	}
	ids := make([]string, 0, len(s.Servers))
	for id := range s.Servers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintln(w, "Servers:")
	for _, id := range ids {
		sv := s.Servers[id]
		fmt.Fprintf(w, "   %s\n", sv.ID)
		fmt.Fprintf(w, "      Name:            %s\n", sv.Name)
		fmt.Fprintf(w, "      Address:         %s\n", sv.Address)
		fmt.Fprintf(w, "      Version:         %s\n", sv.Version)
		fmt.Fprintf(w, "      Status:          %s\n", sv.Status)
		fmt.Fprintf(w, "      Node Type:       %s\n", sv.NodeType)
		fmt.Fprintf(w, "      Node Status:     %s\n", sv.NodeStatus)
		fmt.Fprintf(w, "      Healthy:         %v\n", sv.Healthy)
		fmt.Fprintf(w, "      Last Contact:    %s\n", sv.LastContact.String())
		fmt.Fprintf(w, "      Last Term:       %d\n", sv.LastTerm)
		fmt.Fprintf(w, "      Last Index:      %d\n", sv.LastIndex)
		if len(sv.Meta) > 0 {
			fmt.Fprintln(w, "      Meta")
			keys := make([]string, 0, len(sv.Meta))
			for k := range sv.Meta {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "         %q: %q\n", k, sv.Meta[k])
			}
		}
	}
}

// Flag values that know whether they were given: set-config changes only
// what its options name.
type boolValue struct{ v, set bool }
type uintValue struct {
	v   uint64
	set bool
}
type durationValue struct {
	v   time.Duration
	set bool
}
type stringValue struct {
	v   string
	set bool
}

func (b *boolValue) String() string   { return fmt.Sprint(b.v) }
func (b *boolValue) IsBoolFlag() bool { return true }
func (b *boolValue) Set(s string) (err error) {
	b.v, err = strconv.ParseBool(s)
	b.set = err == nil
	return err
}
func (b *boolValue) merge(to *bool) {
	if b.set {
		*to = b.v
	}
}
func (u *uintValue) String() string { return fmt.Sprint(u.v) }
func (u *uintValue) Set(s string) (err error) {
	u.v, err = strconv.ParseUint(s, 10, 64)
	u.set = err == nil
	return err
}
func (u *uintValue) merge(to *uint64) {
	if u.set {
		*to = u.v
	}
}
func (d *durationValue) String() string { return d.v.String() }
func (d *durationValue) Set(s string) (err error) {
	d.v, err = time.ParseDuration(s)
	d.set = err == nil
	return err
}
func (s *stringValue) String() string { return s.v }
func (s *stringValue) Set(v string) error {
	s.v, s.set = v, true
	return nil
}
func (s *stringValue) merge(to *string) {
	if s.set {
		*to = s.v
	}
}
