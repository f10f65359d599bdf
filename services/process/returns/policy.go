package returns

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// Policy is the return policy, loaded from configuration (configs/returns-policy.yaml) so that
// the business changes windows, fees and methods without a release. Build one with LoadPolicy or
// ParsePolicy; a Policy is read-only once built and safe for concurrent use.
type Policy struct {
	// Version identifies this edition of the policy; required.
	Version string `yaml:"version"`
	// TimeZone is the IANA zone calendar days are counted in; empty means UTC.
	TimeZone string `yaml:"time_zone"`
	// DefaultWindowDays applies to categories without their own window.
	DefaultWindowDays int `yaml:"default_window_days"`
	// FinalSale says what the ERP's final_sale flag means.
	FinalSale FinalSaleRule `yaml:"final_sale"`
	// NonReturnableCategories are never returnable.
	NonReturnableCategories []string `yaml:"non_returnable_categories"`
	// Categories holds per-category windows and fees, keyed by the ERP's category name.
	Categories map[string]CategoryRule `yaml:"categories"`
	// ReturnMethods lists the methods offered per fulfilment model (ship_to_home,
	// pick_up_in_store, ship_from_store, in_store_purchase): mail or in_store.
	ReturnMethods map[string][]string `yaml:"return_methods"`

	loc *time.Location // TimeZone, resolved when the policy is parsed
}

// FinalSaleRule is the policy for items the ERP flags as final sale.
type FinalSaleRule struct {
	// Returnable false makes final-sale items never returnable; true ignores the flag.
	Returnable bool `yaml:"returnable"`
}

// CategoryRule is the policy for one item category.
type CategoryRule struct {
	// WindowDays is the category's window; 0 means the policy's default.
	WindowDays int `yaml:"window_days"`
	// ChannelWindowDays overrides WindowDays for orders placed in a channel (web, mobile_app,
	// point_of_sale, marketplace).
	ChannelWindowDays map[string]int `yaml:"channel_window_days"`
	// RestockingFeeBps is the fee per unit in basis points of the unit price paid.
	RestockingFeeBps int64 `yaml:"restocking_fee_bps"`
	// RestockingFeeMinMinor is the minimum fee per unit in minor units, per ISO 4217 currency.
	RestockingFeeMinMinor map[string]int64 `yaml:"restocking_fee_min_minor"`
}

// Names the policy file uses for canonical enums.
const (
	methodMail    = "mail"
	methodInStore = "in_store"

	modelShipToHome = "ship_to_home"

	maxWindowDays = 3650
	maxFeeBps     = 10000
)

var channelNames = map[canonicalv1.Channel]string{
	canonicalv1.Channel_CHANNEL_WEB:           "web",
	canonicalv1.Channel_CHANNEL_MOBILE_APP:    "mobile_app",
	canonicalv1.Channel_CHANNEL_POINT_OF_SALE: "point_of_sale",
	canonicalv1.Channel_CHANNEL_MARKETPLACE:   "marketplace",
}

var modelNames = map[canonicalv1.FulfillmentModel]string{
	canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME:      modelShipToHome,
	canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_PICK_UP_IN_STORE:  "pick_up_in_store",
	canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_FROM_STORE:   "ship_from_store",
	canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_IN_STORE_PURCHASE: "in_store_purchase",
}

var methodValues = map[string]canonicalv1.ReturnMethod{
	methodMail:    canonicalv1.ReturnMethod_RETURN_METHOD_MAIL,
	methodInStore: canonicalv1.ReturnMethod_RETURN_METHOD_IN_STORE,
}

var (
	categoryName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)
)

// PolicyError lists every problem found in a policy, each as "yaml.path: what is wrong".
type PolicyError struct {
	Problems []string
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("invalid return policy (%d problems): %s", len(e.Problems), strings.Join(e.Problems, "; "))
}

// LoadPolicy reads and validates the policy file at path.
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("return policy: %w", err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy decodes and validates a policy document. Unknown keys are errors. A *PolicyError
// names every bad field at once: unknown keys, values of the wrong type and rule violations.
func ParsePolicy(data []byte) (*Policy, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("return policy: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Policy
	var problems []string
	decoded := map[string]bool{} // paths with decode problems, not reported twice
	validate := true
	switch err := dec.Decode(&p); {
	case errors.Is(err, io.EOF):
		return nil, errors.New("return policy: empty document")
	case err != nil:
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("return policy: %w", err)
		}
		for _, msg := range te.Errors {
			// yaml skips a whole mapping with a repeated key, so checking the rest would only
			// report fields it did not read.
			validate = validate && !strings.Contains(msg, "already defined at line")
			path, problem := describeDecodeError(&root, msg)
			decoded[path] = true
			problems = append(problems, problem)
		}
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		problems = append(problems, "the file must hold exactly one YAML document")
	}
	if err := p.Validate(); validate && err != nil {
		var pe *PolicyError
		if !errors.As(err, &pe) {
			return nil, err
		}
		for _, prob := range pe.Problems {
			path, _, _ := strings.Cut(prob, ": ")
			if !decoded[path] {
				problems = append(problems, prob)
			}
		}
	}
	if len(problems) > 0 {
		return nil, &PolicyError{Problems: problems}
	}
	p.loc, _ = loadLocation(p.TimeZone) // Validate proved it loads
	return &p, nil
}

// Validate checks every field and returns a *PolicyError naming all bad ones, or nil.
func (p *Policy) Validate() error {
	var v problems
	if strings.TrimSpace(p.Version) == "" {
		v.add("version", "required")
	}
	if _, err := loadLocation(p.TimeZone); err != nil {
		v.add("time_zone", err.Error())
	}
	if p.DefaultWindowDays < 1 || p.DefaultWindowDays > maxWindowDays {
		v.add("default_window_days", fmt.Sprintf("must be between 1 and %d", maxWindowDays))
	}

	seen := map[string]int{}
	for i, c := range p.NonReturnableCategories {
		path := fmt.Sprintf("non_returnable_categories[%d]", i)
		switch j, dup := seen[c]; {
		case !categoryName.MatchString(c):
			v.add(path, fmt.Sprintf("%q is not a category name (lower_snake_case)", c))
		case dup:
			v.add(path, fmt.Sprintf("%q repeats non_returnable_categories[%d]", c, j))
		default:
			seen[c] = i
		}
		if _, ok := p.Categories[c]; ok {
			v.add(path, fmt.Sprintf("%q is also configured under categories; a non-returnable category has no window or fee", c))
		}
	}

	for _, name := range slices.Sorted(maps.Keys(p.Categories)) {
		validateCategory(&v, "categories."+name, name, p.Categories[name])
	}

	if _, ok := p.ReturnMethods[modelShipToHome]; !ok {
		v.add("return_methods."+modelShipToHome, "required; it also applies to orders whose fulfilment model is unknown")
	}
	for _, model := range slices.Sorted(maps.Keys(p.ReturnMethods)) {
		path := "return_methods." + model
		if !knownName(modelNames, model) {
			v.add(path, "unknown fulfilment model (want ship_to_home, pick_up_in_store, ship_from_store or in_store_purchase)")
			continue
		}
		methods := p.ReturnMethods[model]
		if len(methods) == 0 {
			v.add(path, "must list at least one method")
		}
		for i, m := range methods {
			mpath := fmt.Sprintf("%s[%d]", path, i)
			if _, ok := methodValues[m]; !ok {
				v.add(mpath, fmt.Sprintf("unknown method %q (want mail or in_store)", m))
			} else if slices.Index(methods, m) < i {
				v.add(mpath, fmt.Sprintf("%q is listed twice", m))
			}
		}
	}
	return v.err()
}

func validateCategory(v *problems, path, name string, c CategoryRule) {
	if !categoryName.MatchString(name) {
		v.add(path, "category names are lower_snake_case")
	}
	if c.WindowDays < 0 || c.WindowDays > maxWindowDays {
		v.add(path+".window_days", fmt.Sprintf("must be between 0 and %d", maxWindowDays))
	}
	for _, ch := range slices.Sorted(maps.Keys(c.ChannelWindowDays)) {
		cpath := path + ".channel_window_days." + ch
		if !knownName(channelNames, ch) {
			v.add(cpath, "unknown channel (want web, mobile_app, point_of_sale or marketplace)")
		} else if d := c.ChannelWindowDays[ch]; d < 0 || d > maxWindowDays {
			v.add(cpath, fmt.Sprintf("must be between 0 and %d", maxWindowDays))
		}
	}
	if c.RestockingFeeBps < 0 || c.RestockingFeeBps > maxFeeBps {
		v.add(path+".restocking_fee_bps", fmt.Sprintf("must be between 0 and %d", maxFeeBps))
	}
	for _, cur := range slices.Sorted(maps.Keys(c.RestockingFeeMinMinor)) {
		mpath := path + ".restocking_fee_min_minor." + cur
		if !currencyCode.MatchString(cur) {
			v.add(mpath, "not an ISO 4217 currency code (three capital letters)")
		} else if c.RestockingFeeMinMinor[cur] < 0 {
			v.add(mpath, "must not be negative")
		}
	}
}

func knownName[K comparable](names map[K]string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// loadLocation resolves a policy time zone. "Local" is refused: the answer must not depend on
// the machine the service runs on.
func loadLocation(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, errors.New(`must be an IANA zone name such as "Europe/Berlin", not Local`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

// location returns the policy's zone; a Policy built by hand rather than parsed resolves it on
// every call, and falls back to UTC when it does not resolve.
func (p *Policy) location() *time.Location {
	if p.loc != nil {
		return p.loc
	}
	loc, err := loadLocation(p.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

type problems []string

func (v *problems) add(path, msg string) { *v = append(*v, path+": "+msg) }

func (v problems) err() error {
	if len(v) == 0 {
		return nil
	}
	return &PolicyError{Problems: v}
}

var (
	decodeLine    = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownField  = regexp.MustCompile(`^field (\S+) not found in type `)
	duplicateKey  = regexp.MustCompile(`^mapping key (".*") already defined at line (\d+)$`)
	cannotDecode  = regexp.MustCompile("^cannot unmarshal (\\S+)(?: `(.*)`)? into (.+)$")
	goTypeSummary = strings.NewReplacer("int64", "a whole number", "int", "a whole number",
		"bool", "true or false", "string", "a string")
)

// describeDecodeError turns one of yaml's messages ("line 12: field fee not found in type
// returns.CategoryRule") into the path it concerns and a problem in the policy's terms.
func describeDecodeError(root *yaml.Node, msg string) (path, problem string) {
	m := decodeLine.FindStringSubmatch(msg)
	if m == nil {
		return "", msg
	}
	line, _ := strconv.Atoi(m[1])
	rest := m[2]
	if f := unknownField.FindStringSubmatch(rest); f != nil {
		path = pathAt(root, func(k, _ *yaml.Node) bool { return k != nil && k.Line == line && k.Value == f[1] })
		return path, fmt.Sprintf("%s: unknown field (line %d)", path, line)
	}
	if d := duplicateKey.FindStringSubmatch(rest); d != nil {
		key, _ := strconv.Unquote(d[1])
		path = pathAt(root, func(k, _ *yaml.Node) bool { return k != nil && k.Line == line && k.Value == key })
		return path, fmt.Sprintf("%s: repeats the key on line %s (line %d)", path, d[2], line)
	}
	if c := cannotDecode.FindStringSubmatch(rest); c != nil {
		tag, value := c[1], c[2]
		path = pathAt(root, func(_, v *yaml.Node) bool {
			if v.Line != line || v.ShortTag() != tag {
				return false
			}
			if short, ok := strings.CutSuffix(value, "..."); ok { // yaml shortens long values
				return strings.HasPrefix(v.Value, short)
			}
			return value == "" || v.Value == value
		})
		return path, fmt.Sprintf("%s: got %s, want %s (line %d)", path, yamlSummary(tag, value), goSummary(c[3]), line)
	}
	return "", msg
}

func yamlSummary(tag, value string) string {
	switch tag {
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	}
	return strconv.Quote(value)
}

func goSummary(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.ContainsAny(goType, ".["):
		return "a mapping"
	}
	return goTypeSummary.Replace(goType)
}

// pathAt returns the dotted path of the first entry that match accepts, in document order, or
// "" when there is none. match sees a mapping entry's key and value, or a sequence item as the
// value with a nil key.
func pathAt(root *yaml.Node, match func(key, value *yaml.Node) bool) string {
	var walk func(n *yaml.Node, path string) string
	walk = func(n *yaml.Node, path string) string {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				if p := walk(c, path); p != "" {
					return p
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if match(k, v) {
					return p
				}
				if deeper := walk(v, p); deeper != "" {
					return deeper
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if match(nil, c) {
					return p
				}
				if deeper := walk(c, p); deeper != "" {
					return deeper
				}
			}
		}
		return ""
	}
	return walk(root, "")
}
