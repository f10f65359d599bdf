package returns

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestShippedPolicyLoads(t *testing.T) {
	t.Parallel()
	p, err := LoadPolicy(filepath.Join("..", "..", "..", "configs", "returns-policy.yaml"))
	if err != nil {
		t.Fatalf("LoadPolicy: %v", err)
	}
	if p.Version == "" {
		t.Error("Version is empty")
	}
	if got := p.location(); got != time.UTC {
		t.Errorf("location = %v, want UTC", got)
	}
	// The demo data depends on these: beauty and gift cards are not returnable, electronics
	// carry a restocking fee, and pick-up orders can come back to a store.
	for _, c := range []string{"beauty", "gift_card"} {
		if !p.nonReturnable(c) {
			t.Errorf("category %s is returnable, want non-returnable", c)
		}
	}
	if got := p.Categories["electronics"].RestockingFeeBps; got != 1500 {
		t.Errorf("electronics restocking_fee_bps = %d, want 1500", got)
	}
	if diff := cmp.Diff([]string{"mail", "in_store"}, p.ReturnMethods["pick_up_in_store"]); diff != "" {
		t.Errorf("pick_up_in_store methods (-want +got):\n%s", diff)
	}
}

func TestLoadPolicyNamesTheFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte("version: x\ndefault_window_days: -1\nreturn_methods: {ship_to_home: [mail]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadPolicy(path)
	var pe *PolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("LoadPolicy error = %v, want a *PolicyError", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "default_window_days: must be between 1 and 3650") {
		t.Errorf("LoadPolicy error = %q, want it to name the file and the bad field", err)
	}
	if _, err := LoadPolicy(filepath.Join(t.TempDir(), "absent.yaml")); err == nil {
		t.Error("LoadPolicy of a missing file succeeded")
	}
}

// validPolicy is the smallest valid document; cases below break it one way or many.
const validPolicy = `
version: test
default_window_days: 30
return_methods:
  ship_to_home: [mail]
`

func TestParsePolicyReportsEveryProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{
			name: "minimal document",
			doc:  validPolicy,
		},
		{
			name: "broken file lists all its bad fields",
			doc: `
version: ""
time_zone: Mars/Olympus_Mons
default_window_days: -3
colour: blue
final_sale:
  returnable: maybe
non_returnable_categories: [beauty, beauty, Gift Card, electronics]
categories:
  apparel:
    window_days: -1
    channel_window_days:
      kiosk: 10
      point_of_sale: -2
  electronics:
    window_days: 15
    restocking_fee_bps: 15000
    restocking_fee_pct: 15
    restocking_fee_min_minor: {usd: 500, EUR: -1}
return_methods:
  pick_up_in_store: [mail, drop_box, mail]
  teleport: [mail]
  ship_from_store: []
`,
			want: []string{
				`colour: unknown field (line 5)`,
				`final_sale.returnable: got "maybe", want true or false (line 7)`,
				`categories.electronics.restocking_fee_pct: unknown field (line 18)`,
				`version: required`,
				`time_zone: unknown time zone "Mars/Olympus_Mons"`,
				`default_window_days: must be between 1 and 3650`,
				`non_returnable_categories[1]: "beauty" repeats non_returnable_categories[0]`,
				`non_returnable_categories[2]: "Gift Card" is not a category name (lower_snake_case)`,
				`non_returnable_categories[3]: "electronics" is also configured under categories; a non-returnable category has no window or fee`,
				`categories.apparel.window_days: must be between 0 and 3650`,
				`categories.apparel.channel_window_days.kiosk: unknown channel (want web, mobile_app, point_of_sale or marketplace)`,
				`categories.apparel.channel_window_days.point_of_sale: must be between 0 and 3650`,
				`categories.electronics.restocking_fee_bps: must be between 0 and 10000`,
				`categories.electronics.restocking_fee_min_minor.EUR: must not be negative`,
				`categories.electronics.restocking_fee_min_minor.usd: not an ISO 4217 currency code (three capital letters)`,
				`return_methods.ship_to_home: required; it also applies to orders whose fulfilment model is unknown`,
				`return_methods.pick_up_in_store[1]: unknown method "drop_box" (want mail or in_store)`,
				`return_methods.pick_up_in_store[2]: "mail" is listed twice`,
				`return_methods.ship_from_store: must list at least one method`,
				`return_methods.teleport: unknown fulfilment model (want ship_to_home, pick_up_in_store, ship_from_store or in_store_purchase)`,
			},
		},
		{
			name: "wrong shapes are named by path, not Go type",
			doc: validPolicy + `
categories: [apparel]
non_returnable_categories: beauty
`,
			want: []string{
				`categories: got a list, want a mapping (line 7)`,
				`non_returnable_categories: got "beauty", want a list (line 8)`,
			},
		},
		{
			name: "a wrong type is reported once",
			doc: `
version: test
default_window_days: thirty
return_methods: {ship_to_home: [mail]}
`,
			want: []string{`default_window_days: got "thirty", want a whole number (line 3)`},
		},
		{
			name: "machine-local time zone",
			doc:  validPolicy + "time_zone: Local\n",
			want: []string{`time_zone: must be an IANA zone name such as "Europe/Berlin", not Local`},
		},
		{
			name: "a second document",
			doc:  validPolicy + "---\nversion: other\n",
			want: []string{"the file must hold exactly one YAML document"},
		},
		{
			name: "duplicate key",
			doc:  validPolicy + "default_window_days: 14\n",
			want: []string{`default_window_days: repeats the key on line 3 (line 6)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePolicy([]byte(tt.doc))
			var got []string
			if err != nil {
				var pe *PolicyError
				if !errors.As(err, &pe) {
					t.Fatalf("ParsePolicy error = %v, want a *PolicyError", err)
				}
				got = pe.Problems
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePolicyRejectsNonPolicies(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"empty":  "",
		"syntax": "version: [unclosed\n",
	} {
		if _, err := ParsePolicy([]byte(doc)); err == nil {
			t.Errorf("%s: ParsePolicy succeeded, want an error", name)
		}
	}
}
