package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
)

func init() {
	Register(Command{Name: "acl token create", Synopsis: "Create an ACL token", Help: aclTokenCreateHelp,
		Run: func(args []string, cio IO) int { return new(aclTokenCreateCmd).run(args, cio) }})
	Register(Command{Name: "acl token read", Synopsis: "Read an ACL token", Help: aclTokenReadHelp,
		Run: func(args []string, cio IO) int { return new(aclTokenReadCmd).run(args, cio) }})
	Register(Command{Name: "acl token update", Synopsis: "Update an ACL token", Help: aclTokenUpdateHelp,
		Run: func(args []string, cio IO) int { return new(aclTokenUpdateCmd).run(args, cio) }})
	Register(Command{Name: "acl token list", Synopsis: "List ACL tokens", Help: aclTokenListHelp,
		Run: func(args []string, cio IO) int { return new(aclTokenListCmd).run(args, cio) }})
	Register(Command{Name: "acl token delete", Synopsis: "Delete an ACL token", Help: aclTokenDeleteHelp,
		Run: func(args []string, cio IO) int { return new(aclTokenDeleteCmd).run(args, cio) }})
	Register(Command{Name: "acl token clone", Synopsis: "Clone an ACL token", Help: aclTokenCloneHelp,
		Run: func(args []string, cio IO) int { return new(aclTokenCloneCmd).run(args, cio) }})
}

// tokenLinkFlags are the flags that attach policies, roles and identities
// to a token.
type tokenLinkFlags struct {
	policyIDs, policyNames    repeatedFlag
	roleIDs, roleNames        repeatedFlag
	serviceIdents, nodeIdents repeatedFlag
}

func (l *tokenLinkFlags) addTo(fs *flag.FlagSet, verb string) {
	fs.Var(&l.policyIDs, "policy-id", "ID of a policy to "+verb+" this token; a unique prefix "+
		"of the ID is enough. May be given several times.")
	fs.Var(&l.policyNames, "policy-name", "Name of a policy to "+verb+" this token. May be given several times.")
	fs.Var(&l.roleIDs, "role-id", "ID of a role to "+verb+" this token; a unique prefix "+
		"of the ID is enough. May be given several times.")
	fs.Var(&l.roleNames, "role-name", "Name of a role to "+verb+" this token. May be given several times.")
	fs.Var(&l.serviceIdents, "service-identity", "Service identity to "+verb+" this token, "+
		"as SERVICENAME or SERVICENAME:DATACENTER1,DATACENTER2,... May be given several times.")
	fs.Var(&l.nodeIdents, "node-identity", "Node identity to "+verb+" this token, as "+
		"NODENAME:DATACENTER. May be given several times.")
}

// policyLinks builds the links of -policy-id (prefixes resolved) and
// -policy-name; names are left to the server to resolve, as Consul's CLI
// does. The client's policy and role links are one type, api.ACLLink.
func policyLinks(client *api.Client, ids, names []string) ([]*api.ACLLink, error) {
	return links("policy", ids, names, func(p string) (string, error) { return policyIDFromPartial(client, p) })
}

// roleLinks is policyLinks for -role-id and -role-name.
func roleLinks(client *api.Client, ids, names []string) ([]*api.ACLLink, error) {
	return links("role", ids, names, func(p string) (string, error) { return roleIDFromPartial(client, p) })
}

func links(kind string, ids, names []string, resolve func(string) (string, error)) ([]*api.ACLLink, error) {
	var out []*api.ACLLink
	for _, name := range names {
		out = append(out, &api.ACLLink{Name: name})
	}
	for _, partial := range ids {
		id, err := resolve(partial)
		if err != nil {
			return nil, fmt.Errorf("Error resolving %s ID %s: %v", kind, partial, err)
		}
		out = append(out, &api.ACLLink{ID: id})
	}
	return out, nil
}

// printToken prints one token in the chosen format.
func printToken(cio IO, out aclOutput, t *api.ACLToken) int {
	if err := out.print(cio.Stdout, t, func(b *strings.Builder) { prettyToken(b, t, out.showMeta) }); err != nil {
		fmt.Fprintln(cio.Stderr, err)
		return 1
	}
	return 0
}

// accessorFlags are the flags that name an existing token: -accessor-id,
// and -id, the older name Consul still accepts.
type accessorFlags struct {
	accessorID string
	id         string
}

func (a *accessorFlags) addTo(fs *flag.FlagSet, verb string) {
	fs.StringVar(&a.accessorID, "accessor-id", "", "The accessor ID of the token to "+verb+
		". A unique prefix of the ID is enough; \"anonymous\" names the anonymous token.")
	fs.StringVar(&a.id, "id", "", "The accessor ID of the token to "+verb+"; the same as -accessor-id.")
}

// given is the accessor the command line names, "" when none.
func (a *accessorFlags) given() string {
	if a.accessorID != "" {
		return a.accessorID
	}
	return a.id
}

// ---- create

type aclTokenCreateCmd struct {
	aclCommand
	out         aclOutput
	links       tokenLinkFlags
	accessor    string
	secret      string
	description string
	local       bool
	expiresTTL  time.Duration
}

func (c *aclTokenCreateCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl token create")
	c.http.addTo(fs)
	c.out.addTo(fs, true)
	c.links.addTo(fs, "link to")
	fs.StringVar(&c.accessor, "accessor", "", "Create the token with this accessor `ID`, a UUID; "+
		"generated when not given.")
	fs.StringVar(&c.secret, "secret", "", "Create the token with this secret `ID`, a UUID; "+
		"generated when not given.")
	fs.StringVar(&c.description, "description", "", "A description of the token.")
	fs.BoolVar(&c.local, "local", false, "Create the token local to this datacenter.")
	fs.DurationVar(&c.expiresTTL, "expires-ttl", 0, "How long the token stays valid, "+
		"such as 10m or 24h; it never expires when not given.")
	return fs
}

var aclTokenCreateHelp = commandHelp("acl token create [options]", `
Creates a token. Link policies with -policy-id (a unique prefix of the ID is
enough) or -policy-name, roles with -role-id or -role-name, and identities
with -service-identity and -node-identity; at least one of them is needed.

    $ {{prog}} acl token create -description "Replication token" \
                                -policy-name "acl-replication" \
                                -role-id c630d4ef-6 \
                                -service-identity "web" \
                                -service-identity "db:east,west"`, new(aclTokenCreateCmd).flags())

func (c *aclTokenCreateCmd) run(args []string, cio IO) int {
	l := &c.links
	client, code, ok := c.start(c.flags(), args, aclTokenCreateHelp, cio, func() error {
		if len(l.policyIDs)+len(l.policyNames)+len(l.roleIDs)+len(l.roleNames)+
			len(l.serviceIdents)+len(l.nodeIdents) == 0 {
			return errors.New("Cannot create a token without specifying -policy-name, -policy-id, " +
				"-role-name, -role-id, -service-identity, or -node-identity at least once")
		}
		return c.out.check()
	})
	if !ok {
		return code
	}
	fail := failer(cio.Stderr, "")

	token := &api.ACLToken{
		AccessorID:    c.accessor,
		SecretID:      c.secret,
		Description:   c.description,
		Local:         c.local,
		ExpirationTTL: c.expiresTTL,
	}
	var err error
	if token.ServiceIdentities, err = parseServiceIdentities(l.serviceIdents); err != nil {
		return fail("%s", err)
	}
	if token.NodeIdentities, err = parseNodeIdentities(l.nodeIdents); err != nil {
		return fail("%s", err)
	}
	if token.Policies, err = policyLinks(client, l.policyIDs, l.policyNames); err != nil {
		return fail("%s", err)
	}
	if token.Roles, err = roleLinks(client, l.roleIDs, l.roleNames); err != nil {
		return fail("%s", err)
	}
	created, _, err := client.ACL().TokenCreate(token, nil)
	if err != nil {
		return fail("Failed to create new token: %v", err)
	}
	return printToken(cio, c.out, created)
}

// ---- read

type aclTokenReadCmd struct {
	aclCommand
	out      aclOutput
	accessor accessorFlags
	self     bool
}

func (c *aclTokenReadCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl token read")
	c.http.addTo(fs)
	c.out.addTo(fs, true)
	c.accessor.addTo(fs, "read")
	fs.BoolVar(&c.self, "self", false, "Read the token the request is made with (-token or "+
		"its environment variables) instead of one named by -accessor-id.")
	return fs
}

var aclTokenReadHelp = commandHelp("acl token read [options] -accessor-id TOKENID", `
Prints the details of one token, named by its accessor ID or a unique
prefix of it, or with -self the token the request is made with.

    $ {{prog}} acl token read -accessor-id 4be56c77-82
    $ {{prog}} acl token read -self`, new(aclTokenReadCmd).flags())

func (c *aclTokenReadCmd) run(args []string, cio IO) int {
	client, code, ok := c.start(c.flags(), args, aclTokenReadHelp, cio, func() error {
		if c.accessor.given() == "" && !c.self {
			return errors.New("Must specify the -accessor-id parameter")
		}
		return c.out.check()
	})
	if !ok {
		return code
	}
	fail := failer(cio.Stderr, "")

	if c.self {
		t, _, err := client.ACL().TokenReadSelf(nil)
		if err != nil {
			return fail("Error reading token: %v", err)
		}
		return printToken(cio, c.out, t)
	}
	id, err := tokenAccessorFromPartial(client, c.accessor.given())
	if err != nil {
		return fail("Error determining token ID: %v", err)
	}
	t, _, err := client.ACL().TokenRead(id, nil)
	if err != nil {
		return fail("Error reading token %q: %v", id, err)
	}
	return printToken(cio, c.out, t)
}

// ---- update

type aclTokenUpdateCmd struct {
	aclCommand
	out         aclOutput
	accessor    accessorFlags
	links       tokenLinkFlags
	description string

	appendPolicyIDs, appendPolicyNames repeatedFlag
	appendRoleIDs, appendRoleNames     repeatedFlag
	appendServiceIdents                repeatedFlag
	appendNodeIdents                   repeatedFlag

	// The -merge-* flags are the older way to append, which Consul still
	// accepts: with them the plain link flags add instead of replacing.
	mergePolicies, mergeRoles, mergeServiceIdents, mergeNodeIdents bool
}

func (c *aclTokenUpdateCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl token update")
	c.http.addTo(fs)
	c.out.addTo(fs, true)
	c.accessor.addTo(fs, "update")
	c.links.addTo(fs, "set on")
	fs.StringVar(&c.description, "description", "", "A new description of the token; "+
		"the current one is kept when not given.")
	fs.Var(&c.appendPolicyIDs, "append-policy-id", "ID of a policy to add to the token's policies. "+
		"May be given several times.")
	fs.Var(&c.appendPolicyNames, "append-policy-name", "Name of a policy to add to the token's "+
		"policies. May be given several times.")
	fs.Var(&c.appendRoleIDs, "append-role-id", "ID of a role to add to the token's roles. "+
		"May be given several times.")
	fs.Var(&c.appendRoleNames, "append-role-name", "Name of a role to add to the token's roles. "+
		"May be given several times.")
	fs.Var(&c.appendServiceIdents, "append-service-identity", "Service identity to add to the "+
		"token's, as for -service-identity. May be given several times.")
	fs.Var(&c.appendNodeIdents, "append-node-identity", "Node identity to add to the token's, "+
		"as for -node-identity. May be given several times.")
	fs.BoolVar(&c.mergePolicies, "merge-policies", false, "Add the -policy-id and -policy-name "+
		"policies to the token's instead of replacing them (older form of -append-policy-*).")
	fs.BoolVar(&c.mergeRoles, "merge-roles", false, "Add the -role-id and -role-name roles to "+
		"the token's instead of replacing them (older form of -append-role-*).")
	fs.BoolVar(&c.mergeServiceIdents, "merge-service-identities", false, "Add the "+
		"-service-identity identities to the token's instead of replacing them.")
	fs.BoolVar(&c.mergeNodeIdents, "merge-node-identities", false, "Add the -node-identity "+
		"identities to the token's instead of replacing them.")
	return fs
}

var aclTokenUpdateHelp = commandHelp("acl token update [options]", `
Updates a token. What is not given on the command line is kept; the link
flags replace the token's links of their kind, their -append- forms (or the
plain ones with the matching -merge- flag) add to them. Whether a token is
local cannot be changed.

    $ {{prog}} acl token update -accessor-id abcd -description "replication"
    $ {{prog}} acl token update -accessor-id abcd -append-policy-name "token-replication"`,
	new(aclTokenUpdateCmd).flags())

func (c *aclTokenUpdateCmd) run(args []string, cio IO) int {
	l := &c.links
	client, code, ok := c.start(c.flags(), args, aclTokenUpdateHelp, cio, func() error {
		switch {
		case c.accessor.given() == "":
			return errors.New("Cannot update a token without specifying the -accessor-id parameter")
		case (len(l.policyIDs) > 0 || len(l.policyNames) > 0) &&
			(len(c.appendPolicyIDs) > 0 || len(c.appendPolicyNames) > 0):
			return errors.New("Cannot combine the use of policy-id/policy-name flags with append- variants. " +
				"To set or overwrite existing policies, use -policy-id or -policy-name. " +
				"To append to existing policies, use -append-policy-id or -append-policy-name.")
		case (len(l.roleIDs) > 0 || len(l.roleNames) > 0) &&
			(len(c.appendRoleIDs) > 0 || len(c.appendRoleNames) > 0):
			return errors.New("Cannot combine the use of role-id/role-name flags with append- variants. " +
				"To set or overwrite existing roles, use -role-id or -role-name. " +
				"To append to existing roles, use -append-role-id or -append-role-name.")
		case len(l.serviceIdents) > 0 && len(c.appendServiceIdents) > 0:
			return errors.New("Cannot combine the use of service-identity flag with append-service-identity. " +
				"To set or overwrite existing service identities, use -service-identity. " +
				"To append to existing service identities, use -append-service-identity.")
		case len(l.nodeIdents) > 0 && len(c.appendNodeIdents) > 0:
			return errors.New("Cannot combine the use of node-identity flag with append-node-identity. " +
				"To set or overwrite existing node identities, use -node-identity. " +
				"To append to existing node identities, use -append-node-identity.")
		}
		return c.out.check()
	})
	if !ok {
		return code
	}
	fail := failer(cio.Stderr, "")

	id, err := tokenAccessorFromPartial(client, c.accessor.given())
	if err != nil {
		return fail("Error determining token ID: %v", err)
	}
	t, _, err := client.ACL().TokenRead(id, nil)
	if err != nil {
		return fail("Error when retrieving current token: %v", err)
	}
	if c.description != "" {
		t.Description = c.description
	}

	// Policies: replace with the plain flags, add with the append forms or
	// with -merge-policies.
	if err := c.updatePolicies(client, t); err != nil {
		return fail("%s", err)
	}
	if err := c.updateRoles(client, t); err != nil {
		return fail("%s", err)
	}
	if err := c.updateIdentities(t); err != nil {
		return fail("%s", err)
	}

	updated, _, err := client.ACL().TokenUpdate(t, nil)
	if err != nil {
		return fail("Failed to update token %s: %v", id, err)
	}
	return printToken(cio, c.out, updated)
}

// updatePolicies replaces the token's policies with those of the plain
// flags, or adds them with -merge-policies; the -append- flags add theirs.
func (c *aclTokenUpdateCmd) updatePolicies(client *api.Client, t *api.ACLToken) error {
	ids, names, add := c.links.policyIDs, c.links.policyNames, c.mergePolicies
	if len(c.appendPolicyIDs) > 0 || len(c.appendPolicyNames) > 0 {
		ids, names, add = c.appendPolicyIDs, c.appendPolicyNames, true
	}
	links, err := policyLinks(client, ids, names)
	if err != nil {
		return err
	}
	t.Policies = updateLinks(t.Policies, links, add)
	return nil
}

// updateRoles is updatePolicies for roles.
func (c *aclTokenUpdateCmd) updateRoles(client *api.Client, t *api.ACLToken) error {
	ids, names, add := c.links.roleIDs, c.links.roleNames, c.mergeRoles
	if len(c.appendRoleIDs) > 0 || len(c.appendRoleNames) > 0 {
		ids, names, add = c.appendRoleIDs, c.appendRoleNames, true
	}
	links, err := roleLinks(client, ids, names)
	if err != nil {
		return err
	}
	t.Roles = updateLinks(t.Roles, links, add)
	return nil
}

// updateLinks is current with links added (add) or replaced by links; no
// links given leaves current as it is.
func updateLinks(current, links []*api.ACLLink, add bool) []*api.ACLLink {
	switch {
	case len(links) == 0:
		return current
	case !add:
		return links
	}
	for _, l := range links {
		if !hasLink(current, l) {
			current = append(current, l)
		}
	}
	return current
}

// hasLink reports whether l is among links: by ID when l has one (a
// resolved -policy-id), else by name.
func hasLink(links []*api.ACLLink, l *api.ACLLink) bool {
	for _, have := range links {
		if (l.ID != "" && have.ID == l.ID) || (l.ID == "" && have.Name == l.Name) {
			return true
		}
	}
	return false
}

// updateIdentities replaces or extends the token's identities. An added
// service identity replaces one of the same service name (its datacenters
// change); an added node identity is skipped if already there.
func (c *aclTokenUpdateCmd) updateIdentities(t *api.ACLToken) error {
	values, add := []string(c.links.serviceIdents), c.mergeServiceIdents
	if len(c.appendServiceIdents) > 0 {
		values, add = c.appendServiceIdents, true
	}
	services, err := parseServiceIdentities(values)
	if err != nil {
		return err
	}
	switch {
	case len(services) == 0:
	case !add:
		t.ServiceIdentities = services
	default:
		t.ServiceIdentities = mergeServiceIdentities(t.ServiceIdentities, services)
	}

	values, add = c.links.nodeIdents, c.mergeNodeIdents
	if len(c.appendNodeIdents) > 0 {
		values, add = c.appendNodeIdents, true
	}
	nodes, err := parseNodeIdentities(values)
	if err != nil {
		return err
	}
	switch {
	case len(nodes) == 0:
	case !add:
		t.NodeIdentities = nodes
	default:
		t.NodeIdentities = mergeNodeIdentities(t.NodeIdentities, nodes)
	}
	return nil
}

// mergeServiceIdentities adds each of more to have, replacing the one with
// the same service name.
func mergeServiceIdentities(have, more []*api.ACLServiceIdentity) []*api.ACLServiceIdentity {
next:
	for _, s := range more {
		for i, h := range have {
			if h.ServiceName == s.ServiceName {
				have[i] = s
				continue next
			}
		}
		have = append(have, s)
	}
	return have
}

// mergeNodeIdentities adds each of more that have lacks.
func mergeNodeIdentities(have, more []*api.ACLNodeIdentity) []*api.ACLNodeIdentity {
next:
	for _, n := range more {
		for _, h := range have {
			if h.NodeName == n.NodeName && h.Datacenter == n.Datacenter {
				continue next
			}
		}
		have = append(have, n)
	}
	return have
}

// ---- list

type aclTokenListCmd struct {
	aclCommand
	out aclOutput
}

func (c *aclTokenListCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl token list")
	c.http.addTo(fs)
	c.out.addTo(fs, true)
	return fs
}

var aclTokenListHelp = commandHelp("acl token list [options]", `
Lists all the ACL tokens.

    $ {{prog}} acl token list`, new(aclTokenListCmd).flags())

func (c *aclTokenListCmd) run(args []string, cio IO) int {
	client, code, ok := c.start(c.flags(), args, aclTokenListHelp, cio, c.out.check)
	if !ok {
		return code
	}
	tokens, _, err := client.ACL().TokenList(c.http.queryOptions())
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Failed to retrieve the token list: %v\n", err)
		return 1
	}
	err = c.out.print(cio.Stdout, tokens, func(b *strings.Builder) {
		for i, t := range tokens {
			if i > 0 {
				b.WriteString("\n")
			}
			prettyTokenListEntry(b, t, c.out.showMeta)
		}
	})
	if err != nil {
		fmt.Fprintln(cio.Stderr, err)
		return 1
	}
	return 0
}

// ---- delete

type aclTokenDeleteCmd struct {
	aclCommand
	accessor accessorFlags
}

func (c *aclTokenDeleteCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl token delete")
	c.http.addTo(fs)
	c.accessor.addTo(fs, "delete")
	return fs
}

var aclTokenDeleteHelp = commandHelp("acl token delete [options] -accessor-id TOKENID", `
Deletes a token named by its accessor ID or a unique prefix of it.

    $ {{prog}} acl token delete -accessor-id b6b85
    $ {{prog}} acl token delete -accessor-id b6b856da-5193-4e78-845a-7d61ca8371ba`,
	new(aclTokenDeleteCmd).flags())

func (c *aclTokenDeleteCmd) run(args []string, cio IO) int {
	client, code, ok := c.start(c.flags(), args, aclTokenDeleteHelp, cio, func() error {
		if c.accessor.given() == "" {
			return errors.New("Must specify the -accessor-id parameter")
		}
		return nil
	})
	if !ok {
		return code
	}
	fail := failer(cio.Stderr, "")
	id, err := tokenAccessorFromPartial(client, c.accessor.given())
	if err != nil {
		return fail("Error determining token ID: %v", err)
	}
	if _, err := client.ACL().TokenDelete(id, nil); err != nil {
		return fail("Error deleting token %q: %v", id, err)
	}
	fmt.Fprintf(cio.Stdout, "Token %q deleted successfully\n", id)
	return 0
}

// ---- clone

type aclTokenCloneCmd struct {
	aclCommand
	out         aclOutput
	accessor    accessorFlags
	description string
}

func (c *aclTokenCloneCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl token clone")
	c.http.addTo(fs)
	c.out.addTo(fs, false)
	c.accessor.addTo(fs, "clone")
	fs.StringVar(&c.description, "description", "", "A description of the new token.")
	return fs
}

var aclTokenCloneHelp = commandHelp("acl token clone [options]", `
Creates a new token with the same policies, roles and identities as an
existing one, optionally with another description.

    $ {{prog}} acl token clone -accessor-id abcd -description "replication"`,
	new(aclTokenCloneCmd).flags())

func (c *aclTokenCloneCmd) run(args []string, cio IO) int {
	client, code, ok := c.start(c.flags(), args, aclTokenCloneHelp, cio, func() error {
		if c.accessor.given() == "" {
			return errors.New("Cannot clone a token without specifying the -accessor-id parameter")
		}
		return c.out.check()
	})
	if !ok {
		return code
	}
	fail := failer(cio.Stderr, "")
	id, err := tokenAccessorFromPartial(client, c.accessor.given())
	if err != nil {
		return fail("Error determining token Accessor ID: %v", err)
	}
	t, _, err := client.ACL().TokenClone(id, c.description, nil)
	if err != nil {
		return fail("Error cloning token: %v", err)
	}
	return printToken(cio, c.out, t)
}
