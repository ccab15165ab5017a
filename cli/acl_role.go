package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/consul/api"
)

func init() {
	Register(Command{Name: "acl role create", Synopsis: "Create an ACL role", Help: aclRoleCreateHelp,
		Run: func(args []string, cio IO) int { return new(aclRoleCreateCmd).run(args, cio) }})
	Register(Command{Name: "acl role read", Synopsis: "Read an ACL role", Help: aclRoleReadHelp,
		Run: func(args []string, cio IO) int { return new(aclRoleReadCmd).run(args, cio) }})
	Register(Command{Name: "acl role update", Synopsis: "Update an ACL role", Help: aclRoleUpdateHelp,
		Run: func(args []string, cio IO) int { return new(aclRoleUpdateCmd).run(args, cio) }})
	Register(Command{Name: "acl role list", Synopsis: "List ACL roles", Help: aclRoleListHelp,
		Run: func(args []string, cio IO) int { return new(aclRoleListCmd).run(args, cio) }})
	Register(Command{Name: "acl role delete", Synopsis: "Delete an ACL role", Help: aclRoleDeleteHelp,
		Run: func(args []string, cio IO) int { return new(aclRoleDeleteCmd).run(args, cio) }})
}

// roleFields are the flags that give a role's contents.
type roleFields struct {
	name          string
	description   string
	policyIDs     repeatedFlag
	policyNames   repeatedFlag
	serviceIdents repeatedFlag
	nodeIdents    repeatedFlag
}

func (r *roleFields) addTo(fs *flag.FlagSet, nameUsage string) {
	fs.StringVar(&r.name, "name", "", nameUsage)
	fs.StringVar(&r.description, "description", "", "A description of the role.")
	fs.Var(&r.policyIDs, "policy-id", "ID of a policy to link to this role; a unique prefix "+
		"of the ID is enough. May be given several times.")
	fs.Var(&r.policyNames, "policy-name", "Name of a policy to link to this role. May be given several times.")
	fs.Var(&r.serviceIdents, "service-identity", "Service identity of this role, as SERVICENAME "+
		"or SERVICENAME:DATACENTER1,DATACENTER2,... May be given several times.")
	fs.Var(&r.nodeIdents, "node-identity", "Node identity of this role, as NODENAME:DATACENTER. "+
		"May be given several times.")
}

// identities parses -service-identity and -node-identity.
func (r *roleFields) identities() ([]*api.ACLServiceIdentity, []*api.ACLNodeIdentity, error) {
	services, err := parseServiceIdentities(r.serviceIdents)
	if err != nil {
		return nil, nil, err
	}
	nodes, err := parseNodeIdentities(r.nodeIdents)
	if err != nil {
		return nil, nil, err
	}
	return services, nodes, nil
}

// printRole prints one role in the chosen format.
func printRole(cio IO, out aclOutput, r *api.ACLRole) int {
	if err := out.print(cio.Stdout, r, func(b *strings.Builder) { prettyRole(b, r, out.showMeta, "") }); err != nil {
		fmt.Fprintln(cio.Stderr, err)
		return 1
	}
	return 0
}

// ---- create

type aclRoleCreateCmd struct {
	aclCommand
	out    aclOutput
	fields roleFields
}

func (c *aclRoleCreateCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl role create")
	c.http.addTo(fs)
	c.out.addTo(fs, true)
	c.fields.addTo(fs, "The new role's name. This flag is required.")
	return fs
}

var aclRoleCreateHelp = commandHelp("acl role create -name NAME [options]", `
Creates a role: a named set of policies and identities that tokens can link.

    $ {{prog}} acl role create -name "new-role" \
                               -description "This is an example role" \
                               -policy-id b52fc3de-5 \
                               -policy-name "acl-replication" \
                               -service-identity "web" \
                               -service-identity "db:east,west"`, new(aclRoleCreateCmd).flags())

func (c *aclRoleCreateCmd) run(args []string, cio IO) int {
	f := &c.fields
	client, code, ok := c.start(c.flags(), args, aclRoleCreateHelp, cio, func() error {
		if f.name == "" {
			return errors.New("Missing require '-name' flag\n" + renderHelp(aclRoleCreateHelp, Prog(cio)))
		}
		if len(f.policyIDs)+len(f.policyNames)+len(f.serviceIdents)+len(f.nodeIdents) == 0 {
			return errors.New("Cannot create a role without specifying -policy-name, -policy-id, " +
				"-service-identity, or -node-identity at least once")
		}
		return c.out.check()
	})
	if !ok {
		return code
	}
	fail := failer(cio.Stderr, "")

	role := &api.ACLRole{Name: f.name, Description: f.description}
	var err error
	if role.ServiceIdentities, role.NodeIdentities, err = f.identities(); err != nil {
		return fail("%s", err)
	}
	if role.Policies, err = policyLinks(client, f.policyIDs, f.policyNames); err != nil {
		return fail("%s", err)
	}
	created, _, err := client.ACL().RoleCreate(role, nil)
	if err != nil {
		return fail("Failed to create new role: %v", err)
	}
	return printRole(cio, c.out, created)
}

// ---- read

type aclRoleReadCmd struct {
	aclCommand
	out  aclOutput
	id   string
	name string
}

func (c *aclRoleReadCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl role read")
	c.http.addTo(fs)
	c.out.addTo(fs, true)
	fs.StringVar(&c.id, "id", "", "The ID of the role to read; a unique prefix of it is enough.")
	fs.StringVar(&c.name, "name", "", "The name of the role to read.")
	return fs
}

var aclRoleReadHelp = commandHelp("acl role read [options] ROLE", `
Prints the details of one role, named by its ID (or a unique prefix of it)
or by its name.

    $ {{prog}} acl role read -id fdabbcb5-9de5-4b1a-961f-77214ae88cba
    $ {{prog}} acl role read -name my-role`, new(aclRoleReadCmd).flags())

func (c *aclRoleReadCmd) run(args []string, cio IO) int {
	client, code, ok := c.start(c.flags(), args, aclRoleReadHelp, cio, func() error {
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
		r, _, err := client.ACL().RoleReadByName(c.name, nil)
		if err != nil {
			return fail("Error reading role %q: %v", c.name, err)
		}
		if r == nil {
			return fail("Role not found with name %q", c.name)
		}
		return printRole(cio, c.out, r)
	}
	id, err := roleIDFromPartial(client, c.id)
	if err != nil {
		return fail("Error determining role ID: %v", err)
	}
	r, _, err := client.ACL().RoleRead(id, nil)
	if err != nil {
		return fail("Error reading role %q: %v", id, err)
	}
	if r == nil {
		return fail("Role not found with ID %q", id)
	}
	return printRole(cio, c.out, r)
}

// ---- update

type aclRoleUpdateCmd struct {
	aclCommand
	out     aclOutput
	id      string
	fields  roleFields
	noMerge bool
}

func (c *aclRoleUpdateCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl role update")
	c.http.addTo(fs)
	c.out.addTo(fs, true)
	fs.StringVar(&c.id, "id", "", "The ID of the role to update; a unique prefix of it is enough.")
	c.fields.addTo(fs, "A new name for the role.")
	fs.BoolVar(&c.noMerge, "no-merge", false, "Replace every field of the role with what the "+
		"command line gives, instead of adding the policies and identities given to the role's.")
	return fs
}

var aclRoleUpdateHelp = commandHelp("acl role update [options]", `
Updates a role. By default the name and description change only if given,
and the policies and identities given are added to the role's; with
-no-merge the role becomes exactly what the command line gives.

    $ {{prog}} acl role update -id abcd -name "better-name"
    $ {{prog}} acl role update -id abcd -policy-name "token-replication" -service-identity "web"`,
	new(aclRoleUpdateCmd).flags())

func (c *aclRoleUpdateCmd) run(args []string, cio IO) int {
	f := &c.fields
	client, code, ok := c.start(c.flags(), args, aclRoleUpdateHelp, cio, func() error {
		if c.id == "" {
			return errors.New("Cannot update a role without specifying the -id parameter")
		}
		return c.out.check()
	})
	if !ok {
		return code
	}
	fail := failer(cio.Stderr, "")

	id, err := roleIDFromPartial(client, c.id)
	if err != nil {
		return fail("Error determining role ID: %v", err)
	}
	services, nodes, err := f.identities()
	if err != nil {
		return fail("%s", err)
	}
	policies, err := policyLinks(client, f.policyIDs, f.policyNames)
	if err != nil {
		return fail("%s", err)
	}
	// The current role is read in both cases, so that a missing one fails
	// clearly rather than being created.
	current, _, err := client.ACL().RoleRead(id, nil)
	if err != nil {
		return fail("Error when retrieving current role: %v", err)
	}
	if current == nil {
		return fail("Role not found with ID %q", id)
	}

	r := current
	if c.noMerge {
		r = &api.ACLRole{ID: id, Name: f.name, Description: f.description,
			Policies: policies, ServiceIdentities: services, NodeIdentities: nodes}
	} else {
		if f.name != "" {
			r.Name = f.name
		}
		if f.description != "" {
			r.Description = f.description
		}
		r.Policies = updateLinks(r.Policies, policies, true)
		r.ServiceIdentities = mergeServiceIdentities(r.ServiceIdentities, services)
		r.NodeIdentities = mergeNodeIdentities(r.NodeIdentities, nodes)
	}
	updated, _, err := client.ACL().RoleUpdate(r, nil)
	if err != nil {
		return fail("Error updating role %q: %v", id, err)
	}
	return printRole(cio, c.out, updated)
}

// ---- list

type aclRoleListCmd struct {
	aclCommand
	out aclOutput
}

func (c *aclRoleListCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl role list")
	c.http.addTo(fs)
	c.out.addTo(fs, true)
	return fs
}

var aclRoleListHelp = commandHelp("acl role list [options]", `
Lists all the ACL roles.

    $ {{prog}} acl role list`, new(aclRoleListCmd).flags())

func (c *aclRoleListCmd) run(args []string, cio IO) int {
	client, code, ok := c.start(c.flags(), args, aclRoleListHelp, cio, c.out.check)
	if !ok {
		return code
	}
	roles, _, err := client.ACL().RoleList(c.http.queryOptions())
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Failed to retrieve the role list: %v\n", err)
		return 1
	}
	err = c.out.print(cio.Stdout, roles, func(b *strings.Builder) {
		for _, r := range roles {
			prettyRole(b, r, c.out.showMeta, "   ")
		}
	})
	if err != nil {
		fmt.Fprintln(cio.Stderr, err)
		return 1
	}
	return 0
}

// ---- delete

type aclRoleDeleteCmd struct {
	aclCommand
	id   string
	name string
}

func (c *aclRoleDeleteCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl role delete")
	c.http.addTo(fs)
	fs.StringVar(&c.id, "id", "", "The ID of the role to delete; a unique prefix of it is enough.")
	fs.StringVar(&c.name, "name", "", "The name of the role to delete.")
	return fs
}

var aclRoleDeleteHelp = commandHelp("acl role delete [options] -id ROLE", `
Deletes a role named by its ID (or a unique prefix of it) or its name.

    $ {{prog}} acl role delete -id b6b85
    $ {{prog}} acl role delete -name my-role`, new(aclRoleDeleteCmd).flags())

func (c *aclRoleDeleteCmd) run(args []string, cio IO) int {
	client, code, ok := c.start(c.flags(), args, aclRoleDeleteHelp, cio, func() error {
		if c.id == "" && c.name == "" {
			return errors.New("Must specify the -id or -name parameters")
		}
		return nil
	})
	if !ok {
		return code
	}
	fail := failer(cio.Stderr, "")
	var id string
	var err error
	if c.id != "" {
		id, err = roleIDFromPartial(client, c.id)
	} else {
		id, err = roleIDByName(client, c.name)
	}
	if err != nil {
		return fail("Error determining role ID: %v", err)
	}
	if _, err := client.ACL().RoleDelete(id, nil); err != nil {
		return fail("Error deleting role %q: %v", id, err)
	}
	fmt.Fprintf(cio.Stdout, "Role %q deleted successfully\n", id)
	return 0
}
