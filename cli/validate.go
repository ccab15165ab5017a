package cli

import (
	"flag"
	"fmt"

	"github.com/heraldhq/herald/agent/config"
)

type validateCmd struct {
	configFormat string
	quiet        bool
}

func (c *validateCmd) flags() *flag.FlagSet {
	fs := newFlagSet("validate")
	fs.StringVar(&c.configFormat, "config-format", "",
		"Read every config file as this `format`, hcl or json, whatever its extension.")
	fs.BoolVar(&c.quiet, "quiet", false,
		"Print nothing when the configuration is valid, not even warnings.")
	return fs
}

var validateHelp = commandHelp("validate [options] FILE_OR_DIRECTORY...", `
Checks agent configuration files without starting an agent: the files and
directories given are read, merged and validated exactly as "{{prog}} agent"
does with -config-file and -config-dir, so give it the complete set the
agent will load, not a fragment of it.

    $ {{prog}} validate /etc/herald.d

Keys Herald accepts but does not act on are reported as warnings; they do
not make the configuration invalid. Exits 0 if the configuration is valid,
1 if it is not.`, new(validateCmd).flags())

func init() {
	Register(Command{
		Name:     "validate",
		Synopsis: "Validate config files/directories",
		Help:     validateHelp,
		Run:      func(args []string, cio IO) int { return new(validateCmd).run(args, cio) },
	})
}

func (c *validateCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, validateHelp, cio); !ok {
		return code
	}
	fail := failer(cio.Stderr, "")
	paths := fs.Args()
	if len(paths) == 0 {
		return fail("Must specify at least one config file or directory")
	}
	if c.configFormat != "" && c.configFormat != "json" && c.configFormat != "hcl" {
		// Consul's message, unbalanced quote included, for scripts that
		// match on it.
		return fail("-config-format must be either 'hcl' or 'json")
	}
	cfg, err := config.LoadFiles(paths, c.configFormat)
	if err != nil {
		return fail("Config validation failed: %v", err)
	}
	if c.quiet {
		return 0
	}
	// Consul prints its warnings as errors are printed, on stderr, and only
	// when not quiet.
	for _, w := range cfg.Warnings {
		fmt.Fprintln(cio.Stderr, w)
	}
	fmt.Fprintln(cio.Stdout, "Configuration is valid!")
	return 0
}
