package auth

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the identity configuration: the issuers whose tokens the gateway accepts, and
// Retailbridge's own issuer when it issues tokens itself. It is read from the YAML file named
// by RB_AUTH_CONFIG; without one, DevConfig has Retailbridge issue all three audiences.
type Config struct {
	// Leeway absorbs clock skew on exp, nbf and iat (default 30 s, at most 5 min).
	Leeway time.Duration `yaml:"leeway"`
	// Local is Retailbridge's own issuer; nil when every issuer is external.
	Local *LocalConfig `yaml:"local"`
	// Issuers are the accepted issuers, one entry per (iss, audience).
	Issuers []IssuerConfig `yaml:"issuers"`
}

// LocalConfig is Retailbridge's own issuer: its signing keys, its partner clients, and the
// audiences it issues.
type LocalConfig struct {
	// Issuer is the iss of the tokens it signs.
	Issuer string `yaml:"issuer"`
	// KeyDir is where signing keys lived before the shared identity store; default <data>/keys.
	// Its keys are imported into the store (a gateway's and the CLI's keys live there).
	KeyDir string `yaml:"key_dir"`
	// KeyMaxAge retires keys automatically once older than this and superseded (0 = never).
	KeyMaxAge time.Duration `yaml:"key_max_age"`
	// KeyPoll is how often a running gateway reloads keys and partner clients from the store
	// (default 2 s): the bound within which a rotation, retirement or revocation made anywhere
	// takes effect on every gateway.
	KeyPoll time.Duration `yaml:"key_poll"`
	// ClientsFile is where partner clients lived before the shared identity store; default
	// <data>/clients.json. Its clients are imported into the store.
	ClientsFile string `yaml:"clients_file"`
	// TokenTTL is the lifetime of partner access tokens (default 15 min, at most 1 h).
	TokenTTL time.Duration `yaml:"token_ttl"`
	// The audiences it issues for; an empty one is not issued.
	StorefrontAudience string `yaml:"storefront_audience"`
	SupportAudience    string `yaml:"support_audience"`
	PartnerAudience    string `yaml:"partner_audience"`
}

// IssuerConfig is one accepted issuer. Exactly one key source is set: `local` (the local
// issuer's key directory), `jwks_file` or `jwks_url`.
type IssuerConfig struct {
	Name       string   `yaml:"name"`
	Audience   string   `yaml:"audience"`
	Kind       Audience `yaml:"kind"`
	Algorithms []string `yaml:"algorithms"`
	Local      bool     `yaml:"local"`
	JWKSFile   string   `yaml:"jwks_file"`
	JWKSURL    string   `yaml:"jwks_url"`
	// Refresh is the background refresh (jwks_url, default 15 min) or poll (jwks_file,
	// default 10 s) interval.
	Refresh time.Duration `yaml:"refresh"`
	// MinRefresh is the least time between reloads caused by unknown kids (default 30 s).
	MinRefresh time.Duration `yaml:"min_refresh"`
	// Timeout bounds one JWKS fetch (default 5 s).
	Timeout time.Duration `yaml:"timeout"`
	// Types are the accepted JOSE typ headers (RFC 8725 §3.11). Defaults: the local issuer's
	// partner tokens are RFC 9068 access tokens ("at+jwt"), its storefront and support tokens
	// "JWT" (what it has always minted); an external issuer "JWT" or "at+jwt".
	Types []string `yaml:"types"`
}

// DevConfig is the configuration without a file: Retailbridge issues storefront, support and
// partner tokens itself, signing with the keys in keyDir.
func DevConfig(issuer, storefrontAudience, keyDir, clientsFile string) Config {
	l := &LocalConfig{Issuer: issuer, KeyDir: keyDir, ClientsFile: clientsFile, StorefrontAudience: storefrontAudience,
		SupportAudience: "retailbridge-support", PartnerAudience: "retailbridge-partner"}
	c := Config{Local: l}
	for _, k := range []struct {
		kind Audience
		aud  string
	}{{Storefront, l.StorefrontAudience}, {Support, l.SupportAudience}, {Partner, l.PartnerAudience}} {
		c.Issuers = append(c.Issuers, IssuerConfig{Name: issuer, Audience: k.aud, Kind: k.kind, Algorithms: []string{"EdDSA"}, Local: true})
	}
	c.defaults("")
	return c
}

// ParseConfig reads a configuration strictly (unknown fields are errors), applies defaults —
// relative to dataDir for the local issuer's files — and validates it.
func ParseConfig(b []byte, dataDir string) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("auth config: %w", err)
	}
	c.defaults(dataDir)
	return c, c.Validate()
}

// LoadConfig reads the configuration file at path.
func LoadConfig(path, dataDir string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("auth config: %w", err)
	}
	c, err := ParseConfig(b, dataDir)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (c *Config) defaults(dataDir string) {
	if c.Leeway == 0 {
		c.Leeway = 30 * time.Second
	}
	if l := c.Local; l != nil {
		if l.KeyDir == "" {
			l.KeyDir = filepath.Join(dataDir, "keys")
		}
		if l.ClientsFile == "" {
			l.ClientsFile = filepath.Join(dataDir, "clients.json")
		}
		if l.KeyPoll == 0 {
			l.KeyPoll = 2 * time.Second
		}
		if l.TokenTTL == 0 {
			l.TokenTTL = 15 * time.Minute
		}
	}
	for i := range c.Issuers {
		is := &c.Issuers[i]
		if is.MinRefresh == 0 {
			is.MinRefresh = 30 * time.Second
		}
		if is.Timeout == 0 {
			is.Timeout = 5 * time.Second
		}
		if len(is.Types) == 0 {
			is.Types = defaultTypes(*is)
		}
		if is.Refresh == 0 {
			is.Refresh = 15 * time.Minute
			if is.JWKSFile != "" {
				is.Refresh = 10 * time.Second
			}
		}
	}
}

// validateIssuer checks issuer entry i, adding what is wrong.
func (c Config) validateIssuer(i int, is IssuerConfig, seen map[string]bool, add func(field, msg string, args ...any)) {
	f := fmt.Sprintf("issuers[%d]", i)
	if is.Name == "" {
		add(f+".name", "must not be empty")
	}
	if is.Audience == "" {
		add(f+".audience", "must not be empty")
	}
	if seen[is.Name+"\x00"+is.Audience] {
		add(f, "issuer %q and audience %q are configured twice", is.Name, is.Audience)
	}
	seen[is.Name+"\x00"+is.Audience] = true
	switch is.Kind {
	case Storefront, Support, Partner:
	default:
		add(f+".kind", "%q is not storefront, support or partner", is.Kind)
	}
	if len(is.Algorithms) == 0 {
		add(f+".algorithms", "pin at least one algorithm")
	}
	for _, a := range is.Algorithms {
		if !slices.Contains(publicKeyAlgorithms, a) {
			add(f+".algorithms", "%q is not one of %s (none and HMAC are never accepted)", a, strings.Join(publicKeyAlgorithms, ", "))
		}
	}
	sources := 0
	for _, set := range []bool{is.Local, is.JWKSFile != "", is.JWKSURL != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		add(f, "set exactly one key source: local, jwks_file or jwks_url")
	}
	if is.Local {
		if c.Local == nil {
			add(f+".local", "there is no local issuer")
		} else if is.Name != c.Local.Issuer {
			add(f+".name", "a local issuer is named %q", c.Local.Issuer)
		}
		if !slices.Equal(is.Algorithms, []string{"EdDSA"}) {
			add(f+".algorithms", "local keys are Ed25519: pin [EdDSA]")
		}
	}
	if is.JWKSURL != "" {
		if err := checkJWKSURL(is.JWKSURL); err != nil {
			add(f+".jwks_url", "%v", err)
		}
	}
	for _, t := range is.Types {
		if t == "" || len(t) > 64 || strings.ContainsAny(t, " \t,;\"") {
			add(f+".types", "%q is not a media type such as JWT or at+jwt", t)
		}
	}
	if minted := defaultTypes(is)[0]; is.Local && !slices.ContainsFunc(is.Types, func(t string) bool { return normaliseType(t) == normaliseType(minted) }) {
		add(f+".types", "the local issuer mints %s tokens as %s: include it", is.Kind, minted)
	}
	if is.Refresh < 0 || is.MinRefresh < 0 || is.Timeout < 0 {
		add(f, "refresh, min_refresh and timeout must not be negative")
	}
}

// defaultTypes is the typ headers an issuer accepts when its configuration names none: exactly
// what the local issuer mints for that audience, or either access-token type from others.
func defaultTypes(is IssuerConfig) []string {
	switch {
	case is.Local && is.Kind == Partner:
		return []string{TypeAccessToken}
	case is.Local:
		return []string{TypeJWT}
	}
	return slices.Clone(DefaultTokenTypes)
}

// Validate names every bad field at once.
func (c Config) Validate() error {
	var bad []string
	add := func(field, msg string, args ...any) { bad = append(bad, field+": "+fmt.Sprintf(msg, args...)) }
	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		add("leeway", "must be between 0 and 5m")
	}
	if l := c.Local; l != nil {
		if l.Issuer == "" {
			add("local.issuer", "must not be empty")
		}
		if l.TokenTTL < time.Minute || l.TokenTTL > time.Hour {
			add("local.token_ttl", "must be between 1m and 1h")
		}
		if l.KeyMaxAge < 0 {
			add("local.key_max_age", "must not be negative")
		}
		if l.KeyPoll < 0 {
			add("local.key_poll", "must not be negative")
		}
		if l.StorefrontAudience == "" && l.SupportAudience == "" && l.PartnerAudience == "" {
			add("local", "names no audience to issue")
		}
	}
	if len(c.Issuers) == 0 {
		add("issuers", "at least one issuer is required")
	}
	seen := map[string]bool{}
	for i, is := range c.Issuers {
		c.validateIssuer(i, is, seen, add)
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("invalid auth configuration:\n  %s", strings.Join(bad, "\n  "))
}

// Authority is the assembled identity: the verifier over every configured issuer and, when
// Retailbridge issues tokens itself, its keyring, partner clients and token service.
type Authority struct {
	Verifier *Verifier
	// Keyring, Clients and Tokens are nil without a local issuer.
	Keyring *Keyring
	Clients *Clients
	Tokens  *TokenService

	runners []Runner
}

// AuthorityDeps are an Authority's collaborators.
type AuthorityDeps struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Transport carries JWKS fetches (default http.DefaultTransport).
	Transport http.RoundTripper
	// Store is the shared identity store: keys and partner clients live there, and the key
	// directory and client file of the configuration are imported into it (ImportLegacy). Nil
	// keeps them in those files (tools and tests of a single process).
	Store *IdentityStore
	// Bootstrap is the file a first signing key is created in when the key directory holds
	// none; empty leaves an empty keyring empty. With a Store, a first key is always created.
	Bootstrap string
	// Argon2 overrides the client-secret hash cost (tests).
	Argon2 Argon2Params
}

// NewAuthority builds the identity c describes: it reads the local keys and fetches remote
// key sets once. Run keeps them fresh.
func NewAuthority(c Config, d AuthorityDeps) (*Authority, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	d.Logger = orDiscard(d.Logger)
	a := &Authority{}
	if l := c.Local; l != nil {
		kr, cl, err := openLocal(l, d)
		if err != nil {
			return nil, err
		}
		auds := map[Audience]string{}
		for kind, aud := range map[Audience]string{Storefront: l.StorefrontAudience, Support: l.SupportAudience, Partner: l.PartnerAudience} {
			if aud != "" {
				auds[kind] = aud
			}
		}
		a.Keyring, a.Clients = kr, cl
		a.Tokens = &TokenService{issuer: l.Issuer, audiences: auds, ttl: l.TokenTTL, keys: kr, clients: cl, now: orNow(d.Now)}
		a.runners = append(a.runners, kr)
		if d.Store != nil {
			a.runners = append(a.runners, d.Store)
		}
	}
	var issuers []Issuer
	for _, ic := range c.Issuers {
		is := Issuer{Name: ic.Name, Audience: ic.Audience, Kind: ic.Kind, Algorithms: ic.Algorithms, Types: ic.Types}
		switch {
		case ic.Local:
			is.KeySet = a.Keyring
			if ic.Kind == Partner {
				is.Clients = a.Clients
			}
		case ic.JWKSFile != "":
			f, err := NewJWKSFile(ic.JWKSFile, ic.Refresh, ic.MinRefresh, d.Logger, d.Now)
			if err != nil {
				return nil, err
			}
			is.KeySet = f
			a.runners = append(a.runners, f)
		case ic.JWKSURL != "":
			r, err := NewRemoteJWKS(ic.JWKSURL, RemoteJWKSOptions{Refresh: ic.Refresh, MinInterval: ic.MinRefresh,
				Timeout: ic.Timeout, Transport: d.Transport, Logger: d.Logger, Now: d.Now})
			if err != nil {
				return nil, err
			}
			is.KeySet = r
			a.runners = append(a.runners, r)
		}
		issuers = append(issuers, is)
	}
	v, err := NewVerifier(c.Leeway, d.Now, issuers...)
	if err != nil {
		return nil, err
	}
	v.authority = a
	a.Verifier = v
	return a, nil
}

// openLocal opens the local issuer's keyring and clients: in the shared store when there is one
// (after importing the files the configuration names), else in those files.
func openLocal(l *LocalConfig, d AuthorityDeps) (*Keyring, *Clients, error) {
	ko := KeyringOptions{MaxAge: l.KeyMaxAge, Poll: l.KeyPoll, Bootstrap: d.Bootstrap, Logger: d.Logger, Now: d.Now}
	co := ClientsOptions{Argon2: d.Argon2, Now: d.Now}
	if d.Store == nil {
		kr, err := OpenKeyring(l.KeyDir, ko)
		if err != nil {
			return nil, nil, err
		}
		cl, err := NewClients(OpenClientFile(l.ClientsFile), co)
		return kr, cl, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := d.Store.ImportLegacy(ctx, l.KeyDir, l.ClientsFile)
	if err != nil {
		return nil, nil, err
	}
	if n.Keys+n.Clients > 0 {
		d.Logger.Info("imported identity files into the shared identity store; they are no longer read",
			"keys", n.Keys, "key_dir", l.KeyDir, "clients", n.Clients, "clients_file", l.ClientsFile)
	}
	ko.CreateFirst = true
	kr, err := NewStoreKeyring(d.Store, ko)
	if err != nil {
		return nil, nil, err
	}
	cl, err := NewClients(d.Store, co)
	return kr, cl, err
}

// Run keeps key sets fresh (directory polls, JWKS refreshes) until ctx ends.
func (a *Authority) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, r := range a.runners {
		wg.Go(func() { r.Run(ctx) })
	}
	wg.Wait()
}
