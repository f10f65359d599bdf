package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/tenancy"
)

// identityUsage documents the identity commands (clients, keys, token).
const identityUsage = `  retailbridge clients create --tenant T --scopes "S…" [--name N]   register a partner client; prints its secret once
  retailbridge clients list                                   list partner clients
  retailbridge clients revoke CLIENT_ID                       revoke a client and every token it holds
  retailbridge keys rotate                                    add a signing key; older keys stay published
  retailbridge keys list                                      list signing keys
  retailbridge keys retire KID                                stop publishing a key; its tokens are refused
  retailbridge token --audience storefront|support|partner …  print a development token the local stack accepts
      storefront: --customer ID   support: --subject AGENT --scope "support:read …"   partner: --client CLIENT_ID
` + auditUsage

// openLocalIdentity reads the configuration and the local issuer's keys and clients from the
// identity store every gateway shares (DATABASE_URL, else <data>/identity.db). The database
// closes when ctx ends.
func openLocalIdentity(ctx context.Context, fs *flag.FlagSet, args []string, getenv func(string) string, stdout io.Writer, u usageText) (*auth.Authority, config.Config, []string, error) {
	cfg, rest, err := loadConfig(fs, args, getenv, stdout, u)
	if err != nil {
		return nil, cfg, nil, err
	}
	db, err := stack.OpenIdentityDB(ctx, cfg)
	if err != nil {
		return nil, cfg, nil, err
	}
	context.AfterFunc(ctx, func() { _ = db.Close() })
	a, err := stack.OpenIdentity(ctx, cfg, db, nil)
	if err != nil {
		return nil, cfg, nil, err
	}
	if a.Tokens == nil {
		return nil, cfg, nil, fmt.Errorf("the identity configuration (%s) has no local issuer", stack.AuthConfigPath(cfg))
	}
	return a, cfg, rest, nil
}

// checkPartnerGrant refuses a client its tenant directory does not know (it would reach nothing)
// or a scope no partner route checks (a typo would silently grant nothing).
func checkPartnerGrant(cfg config.Config, tenant string, scopes []string) error {
	dir, err := stack.LoadTenants(cfg.Tenants)
	if err != nil {
		return err
	}
	if _, ok := dir.Get(tenant); !ok {
		return fmt.Errorf("%w: tenant %q is not in the tenant directory (RB_TENANTS or the built-in configs/tenants.yaml: %s)",
			errUsage, tenant, strings.Join(dir.IDs(), ", "))
	}
	for _, sc := range scopes {
		if !slices.Contains(tenancy.Scopes, sc) {
			return fmt.Errorf("%w: scope %q is not a partner scope (%s)", errUsage, sc, strings.Join(tenancy.Scopes, " "))
		}
	}
	return nil
}

// clientVerbs and keyVerbs are the identity commands' verbs.
var (
	clientVerbs = []subcommand{
		{"create", `create --tenant T --scopes "S…" [--name N]`}, {"list", "list"}, {"revoke", "revoke CLIENT_ID"},
	}
	keyVerbs = []subcommand{{"rotate", "rotate"}, {"list", "list"}, {"retire", "retire KID"}}
)

// verbUsage is the --help text of one verb of group.
func verbUsage(group string, verbs []subcommand, verb, about string) usageText {
	for _, v := range verbs {
		if v.name == verb {
			return usageText{line: group + " " + v.line, about: about}
		}
	}
	return usageText{line: group + " " + verb, about: about}
}

// runClients manages partner OAuth clients: create, list, revoke.
func runClients(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(ctx) // closes the identity database on return
	defer cancel()
	if done, err := groupHelp("clients", clientVerbs, args, stdout); done {
		return err
	}
	fs := flag.NewFlagSet("clients "+args[0], flag.ContinueOnError)
	u := func(about string) usageText { return verbUsage("clients", clientVerbs, args[0], about) }
	switch args[0] {
	case "create":
		tenant := fs.String("tenant", "", "the partner's tenant (required)")
		scopes := fs.String("scopes", "", "space-separated scopes the client may request (required)")
		name := fs.String("name", "", "a label for operators")
		a, cfg, _, err := openLocalIdentity(ctx, fs, args[1:], getenv, stdout, u("Registers a partner client and prints its secret once."))
		if err != nil {
			return err
		}
		if *tenant == "" || strings.TrimSpace(*scopes) == "" {
			return fmt.Errorf("%w: --tenant and --scopes are required", errUsage)
		}
		if err := checkPartnerGrant(cfg, *tenant, strings.Fields(*scopes)); err != nil {
			return err
		}
		c, err := a.Clients.Create(ctx, *tenant, strings.Fields(*scopes), *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client_id:     %s\nclient_secret: %s\ntenant:        %s\nscopes:        %s\n\n"+
			"The secret is shown this once and stored only as a hash: keep it now.\n",
			c.ID, c.Secret, c.Tenant, strings.Join(c.Scopes, " "))
		return nil
	case "list":
		a, _, _, err := openLocalIdentity(ctx, fs, args[1:], getenv, stdout, u("Lists partner clients."))
		if err != nil {
			return err
		}
		cs, err := a.Clients.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_ID\tTENANT\tSCOPES\tNAME\tCREATED\tSTATUS")
		for _, c := range cs {
			status := "active"
			if c.Revoked != nil {
				status = "revoked " + c.Revoked.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Tenant, strings.Join(c.Scopes, " "), c.Name, c.Created.Format(time.RFC3339), status)
		}
		return tw.Flush()
	case "revoke":
		a, _, rest, err := openLocalIdentity(ctx, fs, args[1:], getenv, stdout, u("Revokes a client and every token it holds."))
		if err != nil {
			return err
		}
		if len(rest) != 1 {
			return fmt.Errorf("%w: clients revoke CLIENT_ID", errUsage)
		}
		if err := a.Clients.Revoke(ctx, rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s: every gateway refuses its token requests and the tokens it holds within its key poll interval (default 2s)\n", rest[0])
		return nil
	}
	return fmt.Errorf("%w: unknown clients command %q", errUsage, args[0])
}

// runKeys manages the local issuer's signing keys: rotate, list, retire.
func runKeys(args []string, getenv func(string) string, stdout io.Writer) error {
	// The commands are short; the database closes when they return.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if done, err := groupHelp("keys", keyVerbs, args, stdout); done {
		return err
	}
	if !slices.ContainsFunc(keyVerbs, func(v subcommand) bool { return v.name == args[0] }) {
		return fmt.Errorf("%w: unknown keys command %q", errUsage, args[0])
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	u := verbUsage("keys", keyVerbs, args[0], "Manages the local issuer's signing keys: rotate adds one (older keys stay published), retire stops publishing one.")
	// A key id is an RFC 7638 thumbprint (base64url) and may begin with '-': it is an argument,
	// not an unknown flag.
	u.dashPositionals = args[0] == "retire"
	a, _, rest, err := openLocalIdentity(ctx, fs, args[1:], getenv, stdout, u)
	if err != nil {
		return err
	}
	kr := a.Keyring
	switch args[0] {
	case "rotate":
		k, err := kr.Rotate()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key %s; older keys stay published until `retailbridge keys retire KID`\n", k.ID)
		return nil
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tCREATED\tSTATUS")
		for _, k := range kr.Keys() {
			status := "published"
			switch {
			case k.Signing:
				status = "signing"
			case !k.Retired.IsZero():
				status = "retired " + k.Retired.Format(time.RFC3339)
			case k.Expired:
				status = "retired (age limit)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.ID, k.Created.Format(time.RFC3339), status)
		}
		return tw.Flush()
	case "retire":
		if len(rest) != 1 {
			return fmt.Errorf("%w: keys retire KID", errUsage)
		}
		if err := kr.Retire(rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "retired %s: every gateway refuses its tokens within its key poll interval (default 2s)\n", rest[0])
		return nil
	}
	return fmt.Errorf("%w: unknown keys command %q", errUsage, args[0])
}

// runIssueToken prints a development token signed with the local issuer's signing key:
// storefront (--customer), support (--subject, --scope) or partner (--client, an existing client).
func runIssueToken(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(ctx) // closes the identity database on return
	defer cancel()
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	audience := fs.String("audience", "storefront", "storefront, support or partner")
	customer := fs.String("customer", "", "storefront: the customer id (the token subject)")
	subject := fs.String("subject", "", "the token subject (support: the agent id)")
	client := fs.String("client", "", "partner: the client id; the token carries its tenant")
	scope := fs.String("scope", "", "space-separated scopes (default per audience)")
	ttl := fs.Duration("ttl", time.Hour, "lifetime (at most 24h)")
	a, _, _, err := openLocalIdentity(ctx, fs, args, getenv, stdout, usageText{
		line:  "token --audience storefront|support|partner [--customer ID | --subject S | --client ID] [--scope \"S…\"] [--ttl D]",
		about: "Prints a development token signed with the local issuer's signing key.",
	})
	if err != nil {
		return err
	}
	if *ttl <= 0 || *ttl > 24*time.Hour {
		return fmt.Errorf("%w: --ttl must be between 0 and 24h", errUsage)
	}
	var sub, tenant string
	var scopes []string
	switch auth.Audience(*audience) {
	case auth.Storefront:
		sub, scopes = firstNonEmpty(*customer, *subject), []string{"orders:read returns:read returns:write"}
		if sub == "" {
			return fmt.Errorf("%w: --customer is required", errUsage)
		}
	case auth.Support:
		sub, scopes = *subject, []string{"support:read"}
		if sub == "" {
			return fmt.Errorf("%w: --subject is required", errUsage)
		}
	case auth.Partner:
		c, err := a.Clients.Get(ctx, firstNonEmpty(*client, *subject))
		if err != nil {
			return fmt.Errorf("--client: %w", err)
		}
		if c.Revoked != nil {
			return fmt.Errorf("client %s is revoked", c.ID)
		}
		sub, tenant, scopes = c.ID, c.Tenant, c.Scopes
	default:
		return fmt.Errorf("%w: --audience must be storefront, support or partner", errUsage)
	}
	if *scope != "" {
		if auth.Audience(*audience) == auth.Partner {
			for _, sc := range strings.Fields(*scope) {
				if !slices.Contains(scopes, sc) {
					return fmt.Errorf("scope %q is not granted to client %s", sc, sub)
				}
			}
		}
		scopes = []string{*scope}
	}
	tok, err := a.Tokens.Mint(auth.Audience(*audience), sub, tenant, scopes, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
