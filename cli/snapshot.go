package cli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"

	"github.com/heraldhq/herald/httpapi"
)

func init() {
	Register(Command{Name: "snapshot", Synopsis: "Saves, restores and inspects snapshots of the state",
		Help: `Usage: {{prog}} snapshot <subcommand> [options] FILE

  A snapshot is a point-in-time image of every shard (the KV store with its
  sessions, and the catalog), taken after a Raft read barrier. Restoring it
  replaces the state of a running cluster, keeping the snapshot's indexes.`})
	for _, c := range []struct {
		name, synopsis string
		run            func(c *snapshotCmd, file string, cio IO) int
	}{
		{"save", "Saves a snapshot of the state to a file", (*snapshotCmd).save},
		{"restore", "Restores a snapshot file into the cluster", (*snapshotCmd).restore},
		{"inspect", "Prints a snapshot file's metadata", (*snapshotCmd).inspect},
	} {
		c := c
		help := commandHelp("snapshot "+c.name+" [options] FILE", c.synopsis+".", new(snapshotCmd).flags(c.name))
		Register(Command{Name: "snapshot " + c.name, Synopsis: c.synopsis, Help: help,
			Run: func(args []string, cio IO) int {
				cmd := new(snapshotCmd)
				fs := cmd.flags(c.name)
				if ok, code := parseFlags(fs, args, help, cio); !ok {
					return code
				}
				if fs.NArg() != 1 {
					fmt.Fprintf(cio.Stderr, "This command takes one argument: <file>\n")
					return 1
				}
				return c.run(cmd, fs.Arg(0), cio)
			}})
	}
}

type snapshotCmd struct{ http httpFlags }

func (c *snapshotCmd) flags(name string) *flag.FlagSet {
	fs := newFlagSet("snapshot " + name)
	if name != "inspect" {
		c.http.addTo(fs)
	}
	return fs
}

func (c *snapshotCmd) save(file string, cio IO) int {
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	rc, _, err := client.Snapshot().Save(c.http.queryOptions())
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error saving snapshot: %s\n", err)
		return 1
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error saving snapshot: %s\n", err)
		return 1
	}
	meta, _, err := httpapi.ReadSnapshot(bytes.NewReader(data))
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error verifying snapshot: %s\n", err)
		return 1
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		fmt.Fprintf(cio.Stderr, "Error writing snapshot file: %s\n", err)
		return 1
	}
	fmt.Fprintf(cio.Stdout, "Saved and verified snapshot to index %d\n", meta.Index)
	return 0
}

func (c *snapshotCmd) restore(file string, cio IO) int {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error opening snapshot file: %s\n", err)
		return 1
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	if err := client.Snapshot().Restore(nil, bytes.NewReader(data)); err != nil {
		fmt.Fprintf(cio.Stderr, "Error restoring snapshot: %s\n", err)
		return 1
	}
	fmt.Fprintln(cio.Stdout, "Restored snapshot")
	return 0
}

func (c *snapshotCmd) inspect(file string, cio IO) int {
	f, err := os.Open(file)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error opening snapshot file: %s\n", err)
		return 1
	}
	defer f.Close()
	st, _ := f.Stat()
	meta, files, err := httpapi.ReadSnapshot(f)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error inspecting snapshot: %s\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(cio.Stdout, 0, 2, 6, ' ', 0)
	fmt.Fprintf(tw, " ID\t%s\n", meta.ID)
	fmt.Fprintf(tw, " Size\t%d\n", st.Size())
	fmt.Fprintf(tw, " Index\t%d\n", meta.Index)
	fmt.Fprintf(tw, " Version\t%d\n", meta.Version)
	shards := make([]string, 0, len(meta.Indexes))
	for s := range meta.Indexes {
		shards = append(shards, s)
	}
	sort.Strings(shards)
	for _, s := range shards {
		fmt.Fprintf(tw, " Shard %s\tindex %d, %d bytes\n", s, meta.Indexes[s], len(files[s+".snap"]))
	}
	tw.Flush()
	return 0
}
