package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/acl"
)

// The `acl` commands are Consul's: they manage tokens, policies and roles
// through /v1/acl/* with the official client, print Consul's "pretty" layout
// or the API object as JSON, and resolve IDs from unique prefixes as
// Consul's CLI does. This file holds what they share.

func init() {
	Register(Command{Name: "acl", Synopsis: "Interact with the ACL system", Help: aclHelp})
	Register(Command{Name: "acl token", Synopsis: "Manage ACL tokens", Help: aclTokenHelp})
	Register(Command{Name: "acl policy", Synopsis: "Manage ACL policies", Help: aclPolicyHelp})
	Register(Command{Name: "acl role", Synopsis: "Manage ACL roles", Help: aclRoleHelp})
}

const aclHelp = `Usage: {{prog}} acl <subcommand> [options] [args]

  This command has subcommands for interacting with the ACL system: tokens,
  the policies that grant them rights, and the roles that group policies.

  Bootstrap ACLs:

      $ {{prog}} acl bootstrap

  List all ACL tokens:

      $ {{prog}} acl token list

  Create a new ACL policy:

      $ {{prog}} acl policy create -name "new-policy" \
                                  -description "This is an example policy" \
                                  -valid-datacenter "dc1" \
                                  -rules @rules.hcl

  Set the default agent token:

      $ {{prog}} acl set-agent-token default 0bc6bc46-f25e-4262-b2d9-ffbe1d96be6f

  For more examples, ask for subcommand help.`

const aclTokenHelp = `Usage: {{prog}} acl token <subcommand> [options] [args]

  This command has subcommands for managing ACL tokens.

  Create a new token:

      $ {{prog}} acl token create -description "Replication token" -policy-name "acl-replication"

  Read a token by a unique prefix of its accessor ID:

      $ {{prog}} acl token read -id 986

  Read the token the request is made with:

      $ {{prog}} acl token read -self`

const aclPolicyHelp = `Usage: {{prog}} acl policy <subcommand> [options] [args]

  This command has subcommands for managing ACL policies.

  Create a new policy from a rules file:

      $ {{prog}} acl policy create -name "new-policy" -rules @rules.hcl

  Read a policy by name:

      $ {{prog}} acl policy read -name "new-policy"`

const aclRoleHelp = `Usage: {{prog}} acl role <subcommand> [options] [args]

  This command has subcommands for managing ACL roles.

  Create a new role:

      $ {{prog}} acl role create -name "db-updater" -policy-name "db-write"

  Read a role by name:

      $ {{prog}} acl role read -name "db-updater"`

// Output formats of the acl commands, as Consul names them.
const (
	aclFormatPretty = "pretty"
	aclFormatJSON   = "json"
)

// aclOutput holds the flags that choose how an ACL object is printed.
type aclOutput struct {
	format   string
	showMeta bool
}

// addTo registers -format and, when withMeta, -meta on fs.
func (o *aclOutput) addTo(fs *flag.FlagSet, withMeta bool) {
	fs.StringVar(&o.format, "format", aclFormatPretty, "Output format {pretty|json}")
	if withMeta {
		fs.BoolVar(&o.showMeta, "meta", false,
			"Also show metadata such as the content hash and the Raft indices of each entry.")
	}
}

// check refuses an unknown format before any request is made, with
// Consul's message.
func (o *aclOutput) check() error {
	if o.format != aclFormatPretty && o.format != aclFormatJSON {
		return fmt.Errorf("Unknown format: %s", o.format)
	}
	return nil
}

// print writes v as indented JSON for -format=json, and otherwise its
// pretty rendering. Like Consul's UI it ends the output with a newline of
// its own, even after a rendering that already ends with one.
func (o *aclOutput) print(w io.Writer, v any, pretty func(*strings.Builder)) error {
	if o.format == aclFormatJSON {
		b, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	var b strings.Builder
	pretty(&b)
	if b.Len() == 0 {
		return nil // an empty list prints nothing, not a blank line
	}
	_, err := fmt.Fprintln(w, b.String())
	return err
}

// aclCommand is the part every acl command shares: the HTTP flags, with
// the parsing and connecting that go with them.
type aclCommand struct {
	http httpFlags
}

// start parses args and connects to the agent. When ok is false the command
// must return code. check runs between parsing and connecting, so that
// usage errors are reported without touching the network.
func (c *aclCommand) start(fs *flag.FlagSet, args []string, help string, cio IO, check func() error) (client *api.Client, code int, ok bool) {
	if ok, code := parseFlags(fs, args, help, cio); !ok {
		return nil, code, false
	}
	if check != nil {
		if err := check(); err != nil {
			fmt.Fprintln(cio.Stderr, err)
			return nil, 1, false
		}
	}
	client, ok = c.http.connect(cio)
	if !ok {
		return nil, 1, false
	}
	return client, 0, true
}

// fullUUIDLength is the length of a complete ID: anything shorter is taken
// as a prefix to resolve against the listing.
const fullUUIDLength = 36

// uniqueIDPrefix finds the one ID among ids that starts with partial, with
// Consul's messages when none or several do. kind names the object
// ("token", "policy", "role").
func uniqueIDPrefix(kind, partial string, ids []string) (string, error) {
	found := ""
	for _, id := range ids {
		if !strings.HasPrefix(id, partial) {
			continue
		}
		if found != "" {
			return "", fmt.Errorf("Partial %s ID is not unique", kind)
		}
		found = id
	}
	if found == "" {
		return "", fmt.Errorf("No such %s ID with prefix: %s", kind, partial)
	}
	return found, nil
}

// tokenAccessorFromPartial resolves a token's accessor ID from a unique
// prefix; "anonymous" names the anonymous token.
func tokenAccessorFromPartial(client *api.Client, partial string) (string, error) {
	if partial == "anonymous" {
		return acl.AnonymousTokenID, nil
	}
	if len(partial) == fullUUIDLength {
		return partial, nil
	}
	tokens, _, err := client.ACL().TokenList(nil)
	if err != nil {
		return "", err
	}
	ids := make([]string, len(tokens))
	for i, t := range tokens {
		ids[i] = t.AccessorID
	}
	return uniqueIDPrefix("token", partial, ids)
}

// policyIDFromPartial resolves a policy ID from a unique prefix;
// "global-management" names the built-in policy.
func policyIDFromPartial(client *api.Client, partial string) (string, error) {
	if partial == acl.GlobalManagementPolicyName {
		return acl.GlobalManagementPolicyID, nil
	}
	if len(partial) == fullUUIDLength {
		return partial, nil
	}
	policies, _, err := client.ACL().PolicyList(nil)
	if err != nil {
		return "", err
	}
	ids := make([]string, len(policies))
	for i, p := range policies {
		ids[i] = p.ID
	}
	return uniqueIDPrefix("policy", partial, ids)
}

// policyByName reads a policy by its exact name.
func policyByName(client *api.Client, name string) (*api.ACLPolicy, error) {
	p, _, err := client.ACL().PolicyReadByName(name, nil)
	if err != nil {
		return nil, fmt.Errorf("Failed to find policy with name %s: %w", name, err)
	}
	if p == nil {
		return nil, fmt.Errorf("Failed to find policy with name %s: %s", name, acl.ErrNotFound)
	}
	return p, nil
}

// roleIDFromPartial resolves a role ID from a unique prefix.
func roleIDFromPartial(client *api.Client, partial string) (string, error) {
	if len(partial) == fullUUIDLength {
		return partial, nil
	}
	roles, _, err := client.ACL().RoleList(nil)
	if err != nil {
		return "", err
	}
	ids := make([]string, len(roles))
	for i, r := range roles {
		ids[i] = r.ID
	}
	return uniqueIDPrefix("role", partial, ids)
}

// roleIDByName finds the ID of the role with exactly this name.
func roleIDByName(client *api.Client, name string) (string, error) {
	roles, _, err := client.ACL().RoleList(nil)
	if err != nil {
		return "", err
	}
	for _, r := range roles {
		if r.Name == name {
			return r.ID, nil
		}
	}
	return "", fmt.Errorf("No such role with name %s", name)
}

// parseServiceIdentities reads -service-identity values: NAME, or
// NAME:DC1,DC2 to limit the identity to those datacenters.
func parseServiceIdentities(values []string) ([]*api.ACLServiceIdentity, error) {
	var out []*api.ACLServiceIdentity
	for _, v := range values {
		parts := strings.Split(v, ":")
		switch len(parts) {
		case 1:
			out = append(out, &api.ACLServiceIdentity{ServiceName: parts[0]})
		case 2:
			out = append(out, &api.ACLServiceIdentity{
				ServiceName: parts[0],
				Datacenters: strings.Split(parts[1], ","),
			})
		default:
			return nil, fmt.Errorf("Malformed -service-identity argument: %q", v)
		}
	}
	return out, nil
}

// parseNodeIdentities reads -node-identity values, NAME:DATACENTER.
func parseNodeIdentities(values []string) ([]*api.ACLNodeIdentity, error) {
	var out []*api.ACLNodeIdentity
	for _, v := range values {
		parts := strings.Split(v, ":")
		if len(parts) != 2 {
			return nil, fmt.Errorf("Malformed -node-identity argument: %q", v)
		}
		out = append(out, &api.ACLNodeIdentity{NodeName: parts[0], Datacenter: parts[1]})
	}
	return out, nil
}

// The pretty layouts below are Consul's: a label column, then the value;
// list entries of policies and roles are indented under their name.

// tokenLine writes one token field, its label padded to Consul's column.
func tokenLine(b *strings.Builder, label string, value any) {
	fmt.Fprintf(b, "%-18s%v\n", label+":", value)
}

func prettyToken(b *strings.Builder, t *api.ACLToken, showMeta bool) {
	tokenLine(b, "AccessorID", t.AccessorID)
	tokenLine(b, "SecretID", t.SecretID)
	if t.Namespace != "" {
		tokenLine(b, "Namespace", t.Namespace)
	}
	tokenLine(b, "Description", t.Description)
	tokenLine(b, "Local", t.Local)
	if t.AuthMethod != "" {
		tokenLine(b, "Auth Method", fmt.Sprintf("%s (Namespace: %s)", t.AuthMethod, t.AuthMethodNamespace))
	}
	tokenLine(b, "Create Time", t.CreateTime)
	if t.ExpirationTime != nil && !t.ExpirationTime.IsZero() {
		tokenLine(b, "Expiration Time", *t.ExpirationTime)
	}
	if showMeta {
		tokenLine(b, "Hash", fmt.Sprintf("%x", t.Hash))
		tokenLine(b, "Create Index", t.CreateIndex)
		tokenLine(b, "Modify Index", t.ModifyIndex)
	}
	prettyTokenLinks(b, t.Policies, t.Roles, t.ServiceIdentities, t.NodeIdentities)
}

func prettyTokenListEntry(b *strings.Builder, t *api.ACLTokenListEntry, showMeta bool) {
	tokenLine(b, "AccessorID", t.AccessorID)
	tokenLine(b, "SecretID", t.SecretID)
	if t.Namespace != "" {
		tokenLine(b, "Namespace", t.Namespace)
	}
	tokenLine(b, "Description", t.Description)
	tokenLine(b, "Local", t.Local)
	if t.AuthMethod != "" {
		tokenLine(b, "Auth Method", fmt.Sprintf("%s (Namespace: %s)", t.AuthMethod, t.AuthMethodNamespace))
	}
	tokenLine(b, "Create Time", t.CreateTime)
	if t.ExpirationTime != nil && !t.ExpirationTime.IsZero() {
		tokenLine(b, "Expiration Time", *t.ExpirationTime)
	}
	tokenLine(b, "Legacy", t.Legacy)
	if showMeta {
		tokenLine(b, "Hash", fmt.Sprintf("%x", t.Hash))
		tokenLine(b, "Create Index", t.CreateIndex)
		tokenLine(b, "Modify Index", t.ModifyIndex)
	}
	prettyTokenLinks(b, t.Policies, t.Roles, t.ServiceIdentities, t.NodeIdentities)
}

func prettyTokenLinks(b *strings.Builder, policies, roles []*api.ACLLink,
	services []*api.ACLServiceIdentity, nodes []*api.ACLNodeIdentity) {
	if len(policies) > 0 {
		b.WriteString("Policies:\n")
		for _, p := range policies {
			fmt.Fprintf(b, "   %s - %s\n", p.ID, p.Name)
		}
	}
	if len(roles) > 0 {
		b.WriteString("Roles:\n")
		for _, r := range roles {
			fmt.Fprintf(b, "   %s - %s\n", r.ID, r.Name)
		}
	}
	prettyIdentities(b, "", services, nodes)
}

// prettyIdentities writes the service and node identities of a token or
// role, each line indented by indent plus Consul's three spaces.
func prettyIdentities(b *strings.Builder, indent string, services []*api.ACLServiceIdentity, nodes []*api.ACLNodeIdentity) {
	if len(services) > 0 {
		b.WriteString(indent + "Service Identities:\n")
		for _, s := range services {
			dcs := "all"
			if len(s.Datacenters) > 0 {
				dcs = strings.Join(s.Datacenters, ", ")
			}
			fmt.Fprintf(b, "%s   %s (Datacenters: %s)\n", indent, s.ServiceName, dcs)
		}
	}
	if len(nodes) > 0 {
		b.WriteString(indent + "Node Identities:\n")
		for _, n := range nodes {
			fmt.Fprintf(b, "%s   %s (Datacenter: %s)\n", indent, n.NodeName, n.Datacenter)
		}
	}
}

// objectLine writes one field of a policy or role in Consul's 14-column
// layout, after indent.
func objectLine(b *strings.Builder, indent, label string, value any) {
	fmt.Fprintf(b, "%s%-14s%v\n", indent, label+":", value)
}

func prettyPolicy(b *strings.Builder, p *api.ACLPolicy, showMeta bool) {
	objectLine(b, "", "ID", p.ID)
	objectLine(b, "", "Name", p.Name)
	if p.Namespace != "" {
		objectLine(b, "", "Namespace", p.Namespace)
	}
	objectLine(b, "", "Description", p.Description)
	objectLine(b, "", "Datacenters", strings.Join(p.Datacenters, ", "))
	if showMeta {
		objectLine(b, "", "Hash", fmt.Sprintf("%x", p.Hash))
		objectLine(b, "", "Create Index", p.CreateIndex)
		objectLine(b, "", "Modify Index", p.ModifyIndex)
	}
	b.WriteString("Rules:\n")
	b.WriteString(p.Rules)
}

func prettyPolicyListEntry(b *strings.Builder, p *api.ACLPolicyListEntry, showMeta bool) {
	fmt.Fprintf(b, "%s:\n", p.Name)
	objectLine(b, "   ", "ID", p.ID)
	if p.Namespace != "" {
		objectLine(b, "   ", "Namespace", p.Namespace)
	}
	objectLine(b, "   ", "Description", p.Description)
	objectLine(b, "   ", "Datacenters", strings.Join(p.Datacenters, ", "))
	if showMeta {
		objectLine(b, "   ", "Hash", fmt.Sprintf("%x", p.Hash))
		objectLine(b, "   ", "Create Index", p.CreateIndex)
		objectLine(b, "   ", "Modify Index", p.ModifyIndex)
	}
}

// prettyRole writes a role; indent is "" for a single role and three
// spaces for an entry of a list, whose name heads it.
func prettyRole(b *strings.Builder, r *api.ACLRole, showMeta bool, indent string) {
	if indent != "" {
		fmt.Fprintf(b, "%s:\n", r.Name)
	}
	objectLine(b, indent, "ID", r.ID)
	if indent == "" {
		objectLine(b, indent, "Name", r.Name)
	}
	if r.Namespace != "" {
		objectLine(b, indent, "Namespace", r.Namespace)
	}
	objectLine(b, indent, "Description", r.Description)
	if showMeta {
		objectLine(b, indent, "Hash", fmt.Sprintf("%x", r.Hash))
		objectLine(b, indent, "Create Index", r.CreateIndex)
		objectLine(b, indent, "Modify Index", r.ModifyIndex)
	}
	if len(r.Policies) > 0 {
		b.WriteString(indent + "Policies:\n")
		for _, p := range r.Policies {
			fmt.Fprintf(b, "%s   %s - %s\n", indent, p.ID, p.Name)
		}
	}
	prettyIdentities(b, indent, r.ServiceIdentities, r.NodeIdentities)
}
