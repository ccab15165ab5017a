package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/hashicorp/consul/api"
)

// Consul's `connect ca get-config` and `connect ca set-config`, over
// /v1/connect/ca/configuration.

type connectCASetCmd struct {
	http       httpFlags
	configFile string
}

func (c *connectCASetCmd) flags() *flag.FlagSet {
	fs := newFlagSet("set-config")
	c.http.addTo(fs)
	fs.StringVar(&c.configFile, "config-file", "",
		"The `path` to a JSON file with the new configuration: Consul's CAConfiguration "+
			"(Provider, Config, ForceWithoutCrossSigning).")
	return fs
}

var connectCASetHelp = commandHelp("connect ca set-config [options]", `
Changes the Connect CA's configuration. A new key (another PrivateKeyType
or PrivateKeyBits, or an operator's own PrivateKey and RootCert) rotates
the CA: a new root, cross-signed by the old one, becomes active.

    $ {{prog}} connect ca set-config -config-file=ca.json`, new(connectCASetCmd).flags())

func init() {
	Register(Command{Name: "connect", Synopsis: "Interacts with Connect"})
	Register(Command{Name: "connect ca", Synopsis: "Interacts with the Connect Certificate Authority (CA)"})
	getHelp := commandHelp("connect ca get-config [options]", `
Prints the Connect CA's configuration as JSON.`, httpOnlyFlags("get-config", new(httpFlags)))
	Register(Command{Name: "connect ca get-config", Synopsis: "Display the current Connect Certificate Authority (CA) configuration",
		Help: getHelp,
		Run: withAgent("get-config", getHelp, func(client *api.Client, hf *httpFlags, cio IO) int {
			conf, _, err := client.Connect().CAGetConfig(hf.queryOptions())
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error request CA configuration: %s\n", err)
				return 1
			}
			out, err := json.MarshalIndent(conf, "", "  ")
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error formatting CA configuration: %s\n", err)
				return 1
			}
			fmt.Fprintln(cio.Stdout, string(out))
			return 0
		})})
	Register(Command{Name: "connect ca set-config", Synopsis: "Modify the current Connect CA configuration",
		Help: connectCASetHelp,
		Run:  func(args []string, cio IO) int { return new(connectCASetCmd).run(args, cio) }})
}

func (c *connectCASetCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, connectCASetHelp, cio); !ok {
		return code
	}
	if c.configFile == "" {
		fmt.Fprintln(cio.Stderr, "The -config-file flag is required")
		return 1
	}
	data, err := os.ReadFile(c.configFile)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error reading config file: %s\n", err)
		return 1
	}
	var conf api.CAConfig
	if err := json.Unmarshal(data, &conf); err != nil {
		fmt.Fprintf(cio.Stderr, "Error parsing config file: %s\n", err)
		return 1
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	if _, err := client.Connect().CASetConfig(&conf, nil); err != nil {
		fmt.Fprintf(cio.Stderr, "Error setting CA configuration: %s\n", err)
		return 1
	}
	fmt.Fprintln(cio.Stdout, "Configuration updated!")
	return 0
}
