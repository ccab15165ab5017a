package cli

import (
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/configentry"
)

// Consul's `intention create|check|match|delete|list|get`, over
// /v1/connect/intentions.

func init() {
	Register(Command{Name: "intention", Synopsis: "Interact with Connect service intentions"})
	Register(Command{Name: "intention create", Synopsis: "Create intentions for service connections", Help: intentionCreateHelp,
		Run: func(args []string, cio IO) int { return new(intentionCreateCmd).run(args, cio) }})
	Register(Command{Name: "intention check", Synopsis: "Check whether a connection between two services is allowed", Help: intentionCheckHelp,
		Run: intentionCheck})
	Register(Command{Name: "intention match", Synopsis: "Show intentions that match a source or destination", Help: intentionMatchHelp,
		Run: func(args []string, cio IO) int { return new(intentionMatchCmd).run(args, cio) }})
	Register(Command{Name: "intention delete", Synopsis: "Delete an intention", Help: intentionDeleteHelp,
		Run: intentionDelete})
	Register(Command{Name: "intention list", Synopsis: "List intentions", Help: intentionListHelp,
		Run: withAgent("intention list", intentionListHelp, intentionList)})
	Register(Command{Name: "intention get", Synopsis: "Show information about an intention", Help: intentionGetHelp,
		Run: intentionGet})
}

type intentionCreateCmd struct {
	http        httpFlags
	allow, deny bool
	replace     bool
	description string
	meta        map[string]string
}

func (c *intentionCreateCmd) flags() *flag.FlagSet {
	fs := newFlagSet("intention create")
	c.http.addTo(fs)
	fs.BoolVar(&c.allow, "allow", false, "Create an intention that allows when matched (the default).")
	fs.BoolVar(&c.deny, "deny", false, "Create an intention that denies when matched.")
	fs.BoolVar(&c.replace, "replace", false, "Replace an existing intention of the same source and destination.")
	fs.StringVar(&c.description, "description", "", "A `description` of the intention.")
	fs.Func("meta", "Metadata to set on the intention, as `key=value`; may be repeated.", func(v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("meta must be key=value")
		}
		if c.meta == nil {
			c.meta = map[string]string{}
		}
		c.meta[k] = val
		return nil
	})
	return fs
}

var intentionCreateHelp = commandHelp("intention create [options] SRC DST", `
Creates an intention from the service SRC to the service DST; either may
be "*":

    $ {{prog}} intention create web db
    $ {{prog}} intention create -deny "*" db`, new(intentionCreateCmd).flags())

func (c *intentionCreateCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, intentionCreateHelp, cio); !ok {
		return code
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(cio.Stderr, "Must specify two arguments: source and destination")
		return 1
	}
	if c.allow && c.deny {
		fmt.Fprintln(cio.Stderr, "Cannot specify both -allow and -deny")
		return 1
	}
	ixn := &api.Intention{SourceName: fs.Arg(0), DestinationName: fs.Arg(1), Action: api.IntentionActionAllow,
		Description: c.description, Meta: c.meta}
	if c.deny {
		ixn.Action = api.IntentionActionDeny
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	if !c.replace {
		if old, _, err := client.Connect().IntentionGetExact(ixn.SourceName, ixn.DestinationName, nil); err == nil && old != nil {
			fmt.Fprintf(cio.Stderr, "Intention with source %q and destination %q already exists\n", ixn.SourceName, ixn.DestinationName)
			return 1
		}
	}
	if _, err := client.Connect().IntentionUpsert(ixn, nil); err != nil {
		fmt.Fprintf(cio.Stderr, "Error creating intention %q: %s\n", configentry.String(ixn), err)
		return 1
	}
	fmt.Fprintf(cio.Stdout, "Created: %s\n", configentry.String(ixn))
	return 0
}

var intentionCheckHelp = commandHelp("intention check [options] SRC DST", `
Says whether a connection from SRC to DST is allowed: exits 0 and prints
"Allowed" if it is, exits 2 and prints "Denied" if not.

    $ {{prog}} intention check web db`, httpOnlyFlags("intention check", new(httpFlags)))

func intentionCheck(args []string, cio IO) int {
	var h httpFlags
	fs := httpOnlyFlags("intention check", &h)
	if ok, code := parseFlags(fs, args, intentionCheckHelp, cio); !ok {
		return code
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(cio.Stderr, "Must specify two arguments: source and destination")
		return 1
	}
	client, ok := h.connect(cio)
	if !ok {
		return 1
	}
	allowed, _, err := client.Connect().IntentionCheck(&api.IntentionCheck{Source: fs.Arg(0), Destination: fs.Arg(1),
		SourceType: api.IntentionSourceConsul}, h.queryOptions())
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error checking the connection: %s\n", err)
		return 1
	}
	if !allowed {
		fmt.Fprintln(cio.Stdout, "Denied")
		return 2
	}
	fmt.Fprintln(cio.Stdout, "Allowed")
	return 0
}

type intentionMatchCmd struct {
	http                httpFlags
	source, destination bool
}

func (c *intentionMatchCmd) flags() *flag.FlagSet {
	fs := newFlagSet("intention match")
	c.http.addTo(fs)
	fs.BoolVar(&c.source, "source", false, "Match intentions by source.")
	fs.BoolVar(&c.destination, "destination", false, "Match intentions by destination (the default).")
	return fs
}

var intentionMatchHelp = commandHelp("intention match [options] NAME", `
Lists the intentions that apply to the service NAME as a destination (or,
with -source, as a source), highest precedence first:

    $ {{prog}} intention match db`, new(intentionMatchCmd).flags())

func (c *intentionMatchCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, intentionMatchHelp, cio); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(cio.Stderr, "Must specify exactly one argument: the name to match")
		return 1
	}
	if c.source && c.destination {
		fmt.Fprintln(cio.Stderr, "Cannot specify both -source and -destination")
		return 1
	}
	by := api.IntentionMatchDestination
	if c.source {
		by = api.IntentionMatchSource
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	matches, _, err := client.Connect().IntentionMatch(&api.IntentionMatch{By: by, Names: []string{fs.Arg(0)}}, c.http.queryOptions())
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error matching the intentions: %s\n", err)
		return 1
	}
	for _, ixn := range matches[fs.Arg(0)] {
		fmt.Fprintln(cio.Stdout, configentry.String(ixn))
	}
	return 0
}

// findIntention finds the intention of SRC DST arguments, or of one ID.
func findIntention(client *api.Client, args []string, q *api.QueryOptions) (*api.Intention, error) {
	var ixn *api.Intention
	var err error
	switch len(args) {
	case 1:
		ixn, _, err = client.Connect().IntentionGet(args[0], q)
	case 2:
		ixn, _, err = client.Connect().IntentionGetExact(args[0], args[1], q)
	default:
		return nil, fmt.Errorf("command requires exactly 1 or 2 arguments")
	}
	if err != nil {
		return nil, err
	}
	if ixn == nil {
		return nil, fmt.Errorf("Intention not found.")
	}
	return ixn, nil
}

var intentionDeleteHelp = commandHelp("intention delete [options] (SRC DST | ID)", `
Deletes the intention from SRC to DST, or the intention of ID:

    $ {{prog}} intention delete web db`, httpOnlyFlags("intention delete", new(httpFlags)))

func intentionDelete(args []string, cio IO) int {
	var h httpFlags
	fs := httpOnlyFlags("intention delete", &h)
	if ok, code := parseFlags(fs, args, intentionDeleteHelp, cio); !ok {
		return code
	}
	client, ok := h.connect(cio)
	if !ok {
		return 1
	}
	var err error
	switch fs.NArg() {
	case 1:
		_, err = client.Connect().IntentionDelete(fs.Arg(0), nil)
	case 2:
		_, err = client.Connect().IntentionDeleteExact(fs.Arg(0), fs.Arg(1), nil)
	default:
		err = fmt.Errorf("command requires exactly 1 or 2 arguments")
	}
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error deleting the intention: %s\n", err)
		return 1
	}
	fmt.Fprintln(cio.Stdout, "Intention deleted.")
	return 0
}

var intentionListHelp = commandHelp("intention list [options]", `
Lists every intention, highest precedence first.`, httpOnlyFlags("intention list", new(httpFlags)))

func intentionList(client *api.Client, h *httpFlags, cio IO) int {
	list, _, err := client.Connect().Intentions(h.queryOptions())
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error listing the intentions: %s\n", err)
		return 1
	}
	if len(list) == 0 {
		fmt.Fprintln(cio.Stdout, "There are no intentions.")
		return 0
	}
	tw := tabwriter.NewWriter(cio.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSource\tAction\tDestination\tPrecedence")
	for _, ixn := range list {
		action := string(ixn.Action)
		if len(ixn.Permissions) > 0 {
			action = "<permissions>"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", ixn.ID, ixn.SourceName, action, ixn.DestinationName, ixn.Precedence)
	}
	tw.Flush()
	return 0
}

var intentionGetHelp = commandHelp("intention get [options] (SRC DST | ID)", `
Shows the intention from SRC to DST, or the intention of ID.`, httpOnlyFlags("intention get", new(httpFlags)))

func intentionGet(args []string, cio IO) int {
	var h httpFlags
	fs := httpOnlyFlags("intention get", &h)
	if ok, code := parseFlags(fs, args, intentionGetHelp, cio); !ok {
		return code
	}
	client, ok := h.connect(cio)
	if !ok {
		return 1
	}
	ixn, err := findIntention(client, fs.Args(), h.queryOptions())
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error reading the intention: %s\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(cio.Stdout, 0, 8, 1, ' ', 0)
	fmt.Fprintf(tw, "Source:\t%s\n", ixn.SourceName)
	fmt.Fprintf(tw, "Destination:\t%s\n", ixn.DestinationName)
	if ixn.ID != "" {
		fmt.Fprintf(tw, "ID:\t%s\n", ixn.ID)
	}
	if len(ixn.Permissions) > 0 {
		fmt.Fprintf(tw, "Action:\t%s\n", "<permissions>")
	} else {
		fmt.Fprintf(tw, "Action:\t%s\n", ixn.Action)
	}
	if ixn.Description != "" {
		fmt.Fprintf(tw, "Description:\t%s\n", ixn.Description)
	}
	keys := make([]string, 0, len(ixn.Meta))
	for k := range ixn.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(tw, "Meta[%s]:\t%s\n", k, ixn.Meta[k])
	}
	if !ixn.CreatedAt.IsZero() {
		fmt.Fprintf(tw, "Created At:\t%s\n", ixn.CreatedAt.Local().Format("Monday, 02-Jan-06 15:04:05 MST"))
	}
	tw.Flush()
	return 0
}
