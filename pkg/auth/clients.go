package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Client is a partner's OAuth 2.0 client: one tenant, the scopes it may request, and the hash
// of its secret. The secret itself is shown once at creation and never stored.
type Client struct {
	ID         string     `json:"client_id"`
	Name       string     `json:"name,omitempty"`
	Tenant     string     `json:"tenant"`
	Scopes     []string   `json:"scopes"`
	SecretHash string     `json:"secret_hash"`
	Created    time.Time  `json:"created"`
	Revoked    *time.Time `json:"revoked,omitempty"`
}

// ClientStore persists clients. The file store is the default; a SQL store can replace it
// behind this interface.
type ClientStore interface {
	// Create adds c; its id must be new.
	Create(ctx context.Context, c Client) error
	// Get returns the client with id, or ErrClientNotFound. It sees changes made by other
	// processes (a revocation from the CLI) at once.
	Get(ctx context.Context, id string) (Client, error)
	// List returns every client, revoked ones included, oldest first.
	List(ctx context.Context) ([]Client, error)
	// Revoke marks the client revoked at at.
	Revoke(ctx context.Context, id string, at time.Time) error
}

// ErrClientNotFound is returned for an unknown client id.
var ErrClientNotFound = errors.New("auth: no such client")

// FileClientStore keeps clients in a JSON file with mode 0600, replaced atomically on every
// change and re-read whenever it changed on disk, so a revocation by another process takes
// effect on the next request. Concurrent writers in different processes are not serialised:
// operators run one client command at a time.
type FileClientStore struct {
	path string

	mu      sync.Mutex
	stat    os.FileInfo
	clients map[string]Client
}

type clientFile struct {
	Clients []Client `json:"clients"`
}

// OpenClientFile opens (without creating) the client file at path.
func OpenClientFile(path string) *FileClientStore {
	return &FileClientStore{path: path, clients: map[string]Client{}}
}

// load re-reads the file if it changed since the last read; callers hold mu.
func (s *FileClientStore) load() error {
	st, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		s.stat, s.clients = nil, map[string]Client{}
		return nil
	}
	if err != nil {
		return err
	}
	if s.stat != nil && os.SameFile(st, s.stat) && st.ModTime().Equal(s.stat.ModTime()) && st.Size() == s.stat.Size() {
		return nil
	}
	b, err := os.ReadFile(s.path)
	if err != nil {
		return err
	}
	var f clientFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("auth: client file %s: %w", s.path, err)
	}
	m := make(map[string]Client, len(f.Clients))
	for _, c := range f.Clients {
		m[c.ID] = c
	}
	s.clients, s.stat = m, st
	return nil
}

func (s *FileClientStore) save() error {
	f := clientFile{Clients: s.sorted()}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.path, append(b, '\n')); err != nil {
		return err
	}
	s.stat = nil // re-read our own write next time
	return nil
}

func (s *FileClientStore) sorted() []Client {
	out := make([]Client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Client) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Create implements ClientStore.
func (s *FileClientStore) Create(_ context.Context, c Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return err
	}
	if _, ok := s.clients[c.ID]; ok {
		return fmt.Errorf("auth: client %q exists", c.ID)
	}
	s.clients[c.ID] = c
	return s.save()
}

// Get implements ClientStore.
func (s *FileClientStore) Get(_ context.Context, id string) (Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return Client{}, err
	}
	c, ok := s.clients[id]
	if !ok {
		return Client{}, ErrClientNotFound
	}
	return c, nil
}

// List implements ClientStore.
func (s *FileClientStore) List(context.Context) ([]Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return nil, err
	}
	return s.sorted(), nil
}

// Revoke implements ClientStore.
func (s *FileClientStore) Revoke(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return err
	}
	c, ok := s.clients[id]
	if !ok {
		return ErrClientNotFound
	}
	if c.Revoked != nil {
		return nil
	}
	at = at.UTC()
	c.Revoked = &at
	s.clients[id] = c
	return s.save()
}

// Clients registers, authenticates and revokes partner clients.
type Clients struct {
	store  ClientStore
	hasher *secretHasher
	now    func() time.Time
	// dummy is a hash checked for unknown client ids, so a guess at an id costs as long as a
	// guess at a secret and response times do not reveal which ids exist. It is made on first
	// use: every gateway start would otherwise pay for one hash.
	dummyOnce sync.Once
	dummy     string
	dummyErr  error
}

// ClientsOptions tune Clients.
type ClientsOptions struct {
	// Argon2 is the cost of new secret hashes (default DefaultArgon2).
	Argon2 Argon2Params
	// Concurrency bounds simultaneous secret checks (default 4).
	Concurrency int
	Now         func() time.Time
}

// NewClients returns the client registry over store.
func NewClients(store ClientStore, o ClientsOptions) (*Clients, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	return &Clients{store: store, hasher: newSecretHasher(o.Argon2, o.Concurrency), now: orNow(o.Now)}, nil
}

// checkDummy spends the time of one secret check on nothing.
func (c *Clients) checkDummy(ctx context.Context, secret string) {
	c.dummyOnce.Do(func() { c.dummy, c.dummyErr = c.hasher.hash(context.Background(), "not a secret") })
	if c.dummyErr == nil {
		_, _ = c.hasher.check(ctx, secret, c.dummy)
	}
}

// NewClient is what creating a client returns: the client and its secret, shown once.
type NewClient struct {
	Client
	Secret string
}

// Create registers a client for tenant with scopes.
func (c *Clients) Create(ctx context.Context, tenant string, scopes []string, name string) (NewClient, error) {
	if err := ValidTenant(tenant); err != nil {
		return NewClient{}, err
	}
	scopes = normaliseScopes(scopes)
	if len(scopes) == 0 {
		return NewClient{}, errors.New("auth: a client needs at least one scope")
	}
	for _, s := range scopes {
		if !validScopeToken(s) {
			return NewClient{}, fmt.Errorf("auth: scope %q is not an RFC 6749 scope token", s)
		}
	}
	if len(name) > 200 {
		return NewClient{}, errors.New("auth: client name longer than 200 characters")
	}
	idb := make([]byte, 12)
	sec := make([]byte, 32)
	if _, err := rand.Read(idb); err != nil {
		return NewClient{}, err
	}
	if _, err := rand.Read(sec); err != nil {
		return NewClient{}, err
	}
	secret := "rbs_" + base64.RawURLEncoding.EncodeToString(sec)
	hash, err := c.hasher.hash(ctx, secret)
	if err != nil {
		return NewClient{}, err
	}
	cl := Client{ID: "rbc_" + hex.EncodeToString(idb), Name: name, Tenant: tenant, Scopes: scopes, SecretHash: hash,
		Created: c.now().UTC().Truncate(time.Second)}
	if err := c.store.Create(ctx, cl); err != nil {
		return NewClient{}, err
	}
	return NewClient{Client: cl, Secret: secret}, nil
}

// Errors of client authentication.
var (
	// ErrBadClient is any failed authentication: unknown id, wrong secret.
	ErrBadClient = errors.New("auth: client authentication failed")
	// ErrClientRevoked is returned only to a caller that presented the right secret.
	ErrClientRevoked = errors.New("auth: client revoked")
)

// Authenticate checks a client's secret in constant time. Unknown ids cost a full hash check
// too. A revoked client with the right secret gets ErrClientRevoked.
func (c *Clients) Authenticate(ctx context.Context, id, secret string) (Client, error) {
	if !validClientID(id) || secret == "" || len(secret) > 256 {
		c.checkDummy(ctx, secret)
		return Client{}, ErrBadClient
	}
	cl, err := c.store.Get(ctx, id)
	if errors.Is(err, ErrClientNotFound) {
		c.checkDummy(ctx, secret)
		return Client{}, ErrBadClient
	}
	if err != nil {
		return Client{}, err
	}
	ok, err := c.hasher.check(ctx, secret, cl.SecretHash)
	if err != nil {
		return Client{}, err
	}
	if !ok {
		return Client{}, ErrBadClient
	}
	if cl.Revoked != nil {
		return Client{}, ErrClientRevoked
	}
	return cl, nil
}

// Admit returns nil when the client behind partner principal p may still call as p: it exists,
// is not revoked, and p's tenant and scopes are within its grant. It runs on every partner
// request, so revoking a client also refuses the tokens it already holds.
func (c *Clients) Admit(ctx context.Context, p Principal) error {
	cl, err := c.store.Get(ctx, p.Subject)
	if err != nil {
		return err
	}
	if cl.Revoked != nil {
		return ErrClientRevoked
	}
	if p.Tenant != cl.Tenant {
		return fmt.Errorf("auth: token tenant %q is not the client's", p.Tenant)
	}
	for _, s := range p.Scopes {
		if !slices.Contains(cl.Scopes, s) {
			return fmt.Errorf("auth: scope %q is not granted to the client", s)
		}
	}
	return nil
}

// Get returns a client.
func (c *Clients) Get(ctx context.Context, id string) (Client, error) { return c.store.Get(ctx, id) }

// List returns every client.
func (c *Clients) List(ctx context.Context) ([]Client, error) { return c.store.List(ctx) }

// Revoke revokes a client; its new token requests and its outstanding tokens are refused.
func (c *Clients) Revoke(ctx context.Context, id string) error {
	return c.store.Revoke(ctx, id, c.now())
}

func validClientID(id string) bool {
	if !strings.HasPrefix(id, "rbc_") || len(id) != 4+24 {
		return false
	}
	_, err := hex.DecodeString(id[4:])
	return err == nil
}

// ValidTenant checks a tenant id: 1 to 64 letters, digits, '-', '_' or '.'.
func ValidTenant(t string) error {
	if t == "" || len(t) > 64 {
		return errors.New("auth: a tenant is 1 to 64 characters")
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.", r)) {
			return fmt.Errorf("auth: tenant %q may hold only letters, digits, '-', '_' and '.'", t)
		}
	}
	return nil
}

// validScopeToken is RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x21 || b == 0x22 || b == 0x5C || b > 0x7E {
			return false
		}
	}
	return true
}

// normaliseScopes splits, deduplicates and sorts scopes.
func normaliseScopes(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		out = append(out, strings.Fields(s)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
