package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/consul/api"
)

func init() {
	Register(Command{Name: "acl policy create", Synopsis: "Create an ACL policy", Help: aclPolicyCreateHelp,
		Run: func(args []string, cio IO) int { return new(aclPolicyCreateCmd).run(args, cio) }})
	Register(Command{Name: "acl policy read", Synopsis: "Read an ACL policy", Help: aclPolicyReadHelp,
		Run: func(args []string, cio IO) int { return new(aclPolicyReadCmd).run(args, cio) }})
	Register(Command{Name: "acl policy update", Synopsis: "Update an ACL policy", Help: aclPolicyUpdateHelp,
		Run: func(args []string, cio IO) int { return new(aclPolicyUpdateCmd).run(args, cio) }})
	Register(Command{Name: "acl policy list", Synopsis: "List ACL policies", Help: aclPolicyListHelp,
		Run: func(args []string, cio IO) int { return new(aclPolicyListCmd).run(args, cio) }})
	Register(Command{Name: "acl policy delete", Synopsis: "Delete an ACL policy", Help: aclPolicyDeleteHelp,
		Run: func(args []string, cio IO) int { return new(aclPolicyDeleteCmd).run(args, cio) }})
}

// policyFields are the flags that give a policy's contents.
type policyFields struct {
	name        string
	description string
	datacenters repeatedFlag
	rules       string
}

func (p *policyFields) addTo(fs *flag.FlagSet, nameUsage string) {
	fs.StringVar(&p.name, "name", "", nameUsage)
	fs.StringVar(&p.description, "description", "", "A description of the policy.")
	fs.Var(&p.datacenters, "valid-datacenter", "Datacenter in which the policy is valid; "+
		"valid in all when not given. May be given several times.")
	fs.StringVar(&p.rules, "rules", "", "The policy rules. \"@path\" reads them from a file "+
		"and \"-\" from stdin.")
}

// loadRules reads -rules: inline, "@path" or "-" for stdin.
func loadRules(arg string, cio IO) (string, error) {
	data, err := readDataArg(arg, cio.Stdin)
	if err != nil {
		return "", err
	}
	return string(data), nil
}

// printPolicy prints one policy in the chosen format.
func printPolicy(cio IO, out aclOutput, p *api.ACLPolicy) int {
	if err := out.print(cio.Stdout, p, func(b *strings.Builder) { prettyPolicy(b, p, out.showMeta) }); err != nil {
		fmt.Fprintln(cio.Stderr, err)
		return 1
	}
	return 0
}

// policyIDOrName resolves the policy named by -id (a prefix will do) or,
// failing that, by -name.
func policyIDOrName(client *api.Client, id, name string) (string, error) {
	if id != "" {
		return policyIDFromPartial(client, id)
	}
	p, err := policyByName(client, name)
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

// ---- create

type aclPolicyCreateCmd struct {
	aclCommand
	out    aclOutput
	fields policyFields
}

func (c *aclPolicyCreateCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl policy create")
	c.http.addTo(fs)
	c.out.addTo(fs, true)
	c.fields.addTo(fs, "The new policy's name. This flag is required.")
	return fs
}

var aclPolicyCreateHelp = commandHelp("acl policy create -name NAME [options]", `
Creates a policy. -rules takes the rules inline, from a file with @path, or
from stdin with "-".

    $ {{prog}} acl policy create -name "new-policy" \
                                 -description "This is an example policy" \
                                 -valid-datacenter "dc1" \
                                 -valid-datacenter "dc2" \
                                 -rules @rules.hcl`, new(aclPolicyCreateCmd).flags())

func (c *aclPolicyCreateCmd) run(args []string, cio IO) int {
	var rules string
	client, code, ok := c.start(c.flags(), args, aclPolicyCreateHelp, cio, func() error {
		if c.fields.name == "" {
			return errors.New("Missing require '-name' flag\n" + renderHelp(aclPolicyCreateHelp, Prog(cio)))
		}
		if err := c.out.check(); err != nil {
			return err
		}
		var err error
		if rules, err = loadRules(c.fields.rules, cio); err != nil {
			return fmt.Errorf("Error loading rules: %v", err)
		}
		return nil
	})
	if !ok {
		return code
	}
	p, _, err := client.ACL().PolicyCreate(&api.ACLPolicy{
		Name:        c.fields.name,
		Description: c.fields.description,
		Datacenters: c.fields.datacenters,
		Rules:       rules,
	}, nil)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Failed to create new policy: %v\n", err)
		return 1
	}
	return printPolicy(cio, c.out, p)
}

// ---- read

type aclPolicyReadCmd struct {
	aclCommand
	out  aclOutput
	id   string
	name string
}

func (c *aclPolicyReadCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl policy read")
	c.http.addTo(fs)
	c.out.addTo(fs, true)
	fs.StringVar(&c.id, "id", "", "The ID of the policy to read; a unique prefix of it is enough.")
	fs.StringVar(&c.name, "name", "", "The name of the policy to read.")
	return fs
}

var aclPolicyReadHelp = commandHelp("acl policy read [options] POLICY", `
Prints the details of one policy, named by its ID (or a unique prefix of it)
or by its name.

    $ {{prog}} acl policy read -id fdabbcb5-9de5-4b1a-961f-77214ae88cba
    $ {{prog}} acl policy read -name my-policy`, new(aclPolicyReadCmd).flags())

func (c *aclPolicyReadCmd) run(args []string, cio IO) int {
	client, code, ok := c.start(c.flags(), args, aclPolicyReadHelp, cio, func() error {
		if c.id == "" && c.name == "" {
			return errors.New("Must specify either the -id or -name parameters")
		}
		return c.out.check()
	})
	if !ok {
		return code
	}
	fail := failer(cio.Stderr, "")

	if c.id == "" {
		p, err := policyByName(client, c.name)
		if err != nil {
			return fail("Error reading policy %q: %v", "name:"+c.name, err)
		}
		return printPolicy(cio, c.out, p)
	}
	id, err := policyIDFromPartial(client, c.id)
	if err != nil {
		return fail("Error determining policy ID: %v", err)
	}
	p, _, err := client.ACL().PolicyRead(id, nil)
	if err != nil {
		return fail("Error reading policy %q: %v", "id:"+id, err)
	}
	return printPolicy(cio, c.out, p)
}

// ---- update

type aclPolicyUpdateCmd struct {
	aclCommand
	out     aclOutput
	id      string
	fields  policyFields
	noMerge bool
}

func (c *aclPolicyUpdateCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl policy update")
	c.http.addTo(fs)
	c.out.addTo(fs, true)
	fs.StringVar(&c.id, "id", "", "The ID of the policy to update; a unique prefix of it is enough.")
	c.fields.addTo(fs, "The policy's name: the policy to update when -id is not given, "+
		"otherwise its new name.")
	fs.BoolVar(&c.noMerge, "no-merge", false, "Replace every field of the policy with what the "+
		"command line gives, instead of changing only the fields given.")
	return fs
}

var aclPolicyUpdateHelp = commandHelp("acl policy update [options]", `
Updates a policy. Only the fields given change, unless -no-merge is given:
then every field not given is cleared.

    $ {{prog}} acl policy update -id abcd -name "better-name"
    $ {{prog}} acl policy update -name "my-policy" -rules @rules.hcl`, new(aclPolicyUpdateCmd).flags())

func (c *aclPolicyUpdateCmd) run(args []string, cio IO) int {
	var rules string
	fs := c.flags()
	client, code, ok := c.start(fs, args, aclPolicyUpdateHelp, cio, func() error {
		if c.id == "" && c.fields.name == "" {
			return errors.New("Must specify either the -id or -name parameters")
		}
		if err := c.out.check(); err != nil {
			return err
		}
		var err error
		if rules, err = loadRules(c.fields.rules, cio); err != nil {
			return fmt.Errorf("Error loading data source: %v", err)
		}
		return nil
	})
	if !ok {
		return code
	}
	fail := failer(cio.Stderr, "")

	id, err := policyIDOrName(client, c.id, c.fields.name)
	if err != nil {
		return fail("Error determining policy ID: %v", err)
	}
	updated := &api.ACLPolicy{
		ID:          id,
		Name:        c.fields.name,
		Description: c.fields.description,
		Datacenters: c.fields.datacenters,
		Rules:       rules,
	}
	if !c.noMerge {
		current, _, err := client.ACL().PolicyRead(id, nil)
		if err != nil {
			return fail("Error reading policy %q: %v", id, err)
		}
		if !flagWasSet(fs, "name") {
			updated.Name = current.Name
		}
		if !flagWasSet(fs, "description") {
			updated.Description = current.Description
		}
		if !flagWasSet(fs, "rules") {
			updated.Rules = current.Rules
		}
		if len(c.fields.datacenters) == 0 {
			updated.Datacenters = current.Datacenters
		}
	}
	p, _, err := client.ACL().PolicyUpdate(updated, nil)
	if err != nil {
		return fail("Error updating policy %q: %v", id, err)
	}
	return printPolicy(cio, c.out, p)
}

// ---- list

type aclPolicyListCmd struct {
	aclCommand
	out aclOutput
}

func (c *aclPolicyListCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl policy list")
	c.http.addTo(fs)
	c.out.addTo(fs, true)
	return fs
}

var aclPolicyListHelp = commandHelp("acl policy list [options]", `
Lists all the ACL policies.

    $ {{prog}} acl policy list`, new(aclPolicyListCmd).flags())

func (c *aclPolicyListCmd) run(args []string, cio IO) int {
	client, code, ok := c.start(c.flags(), args, aclPolicyListHelp, cio, c.out.check)
	if !ok {
		return code
	}
	policies, _, err := client.ACL().PolicyList(c.http.queryOptions())
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Failed to retrieve the policy list: %v\n", err)
		return 1
	}
	err = c.out.print(cio.Stdout, policies, func(b *strings.Builder) {
		for _, p := range policies {
			prettyPolicyListEntry(b, p, c.out.showMeta)
		}
	})
	if err != nil {
		fmt.Fprintln(cio.Stderr, err)
		return 1
	}
	return 0
}

// ---- delete

type aclPolicyDeleteCmd struct {
	aclCommand
	id   string
	name string
}

func (c *aclPolicyDeleteCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl policy delete")
	c.http.addTo(fs)
	fs.StringVar(&c.id, "id", "", "The ID of the policy to delete; a unique prefix of it is enough.")
	fs.StringVar(&c.name, "name", "", "The name of the policy to delete.")
	return fs
}

var aclPolicyDeleteHelp = commandHelp("acl policy delete [options] -id POLICY", `
Deletes a policy named by its ID (or a unique prefix of it) or its name.

    $ {{prog}} acl policy delete -id b6b85
    $ {{prog}} acl policy delete -name my-policy`, new(aclPolicyDeleteCmd).flags())

func (c *aclPolicyDeleteCmd) run(args []string, cio IO) int {
	client, code, ok := c.start(c.flags(), args, aclPolicyDeleteHelp, cio, func() error {
		if c.id == "" && c.name == "" {
			return errors.New("Must specify either the -id or -name parameters")
		}
		return nil
	})
	if !ok {
		return code
	}
	fail := failer(cio.Stderr, "")
	id, err := policyIDOrName(client, c.id, c.name)
	if err != nil {
		return fail("Error determining policy ID: %v", err)
	}
	if _, err := client.ACL().PolicyDelete(id, nil); err != nil {
		return fail("Error deleting policy %q: %v", id, err)
	}
	fmt.Fprintf(cio.Stdout, "Policy %q deleted successfully\n", id)
	return 0
}
