package gateway

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/retailbridge/retailbridge/pkg/auth"
)

// RateLimit is a GCRA policy: Rate requests per Period with bursts up to Burst.
type RateLimit struct {
	Rate   int           `yaml:"rate"`
	Period time.Duration `yaml:"period"`
	Burst  int           `yaml:"burst"`
}

// RatePolicies maps "<audience>/<route class>" to a limit; "<audience>/default" is the fallback.
type RatePolicies map[string]RateLimit

// Route classes group routes that cost the backends alike.
const (
	ClassEligibility  = "eligibility"
	ClassReturnCreate = "return_create"
	ClassRead         = "read"
	ClassBulkRead     = "bulk_read"
	ClassWrite        = "write"
	classDefault      = "default"
)

var knownClasses = []string{classDefault, ClassEligibility, ClassReturnCreate, ClassRead, ClassBulkRead, ClassWrite}

// ParseRatePolicies reads a rate-limit file strictly and validates every policy, naming every
// bad field at once.
func ParseRatePolicies(b []byte) (RatePolicies, error) {
	var doc struct {
		Policies RatePolicies `yaml:"policies"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("rate limits: %w", err)
	}
	var bad []string
	names := make([]string, 0, len(doc.Policies))
	for name := range doc.Policies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := doc.Policies[name]
		aud, class, ok := strings.Cut(name, "/")
		switch auth.Audience(aud) {
		case auth.Storefront, auth.Support, auth.Partner:
		default:
			bad = append(bad, fmt.Sprintf("policies.%s: audience %q is not storefront, support or partner", name, aud))
		}
		if !ok || !contains(knownClasses, class) {
			bad = append(bad, fmt.Sprintf("policies.%s: route class %q is not one of %s", name, class, strings.Join(knownClasses, ", ")))
		}
		if p.Rate <= 0 {
			bad = append(bad, fmt.Sprintf("policies.%s.rate: must be positive", name))
		}
		if p.Burst <= 0 {
			bad = append(bad, fmt.Sprintf("policies.%s.burst: must be positive", name))
		}
		if p.Period <= 0 {
			bad = append(bad, fmt.Sprintf("policies.%s.period: must be a positive duration such as 1s or 1m", name))
		}
	}
	for _, aud := range []auth.Audience{auth.Storefront, auth.Support, auth.Partner} {
		if _, ok := doc.Policies[string(aud)+"/"+classDefault]; !ok {
			bad = append(bad, fmt.Sprintf("policies.%s/default: required", aud))
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("invalid rate limits:\n  %s", strings.Join(bad, "\n  "))
	}
	return doc.Policies, nil
}

// LoadRatePolicies reads path, or parses def when path is empty.
func LoadRatePolicies(path string, def []byte) (RatePolicies, error) {
	if path == "" {
		return ParseRatePolicies(def)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := ParseRatePolicies(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// For returns the policy for an audience and route class, and its name.
func (p RatePolicies) For(aud auth.Audience, class string) (string, RateLimit) {
	if l, ok := p[string(aud)+"/"+class]; ok {
		return class, l
	}
	return classDefault, p[string(aud)+"/"+classDefault]
}

// routeClass classifies a request on the proto-defined routes.
func routeClass(r *http.Request) string {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/returns/eligibility"):
		return ClassEligibility
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/returns"):
		return ClassReturnCreate
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		// Partner lists and stock reads (up to 100 SKUs a call) are the bulk reads.
		if rest, ok := strings.CutPrefix(path, "/v1/partner/"); ok && (!strings.Contains(rest, "/") || strings.HasPrefix(rest, "inventory/")) {
			return ClassBulkRead
		}
		return ClassRead
	}
	return ClassWrite
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
