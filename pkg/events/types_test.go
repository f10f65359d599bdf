package events

import (
	"strings"
	"testing"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// TestDeclaredTypes checks every declared event type round-trips through its wire name and that
// the name has the shape subjects are derived from (retailbridge.<domain>.<object>.<what>.v1).
func TestDeclaredTypes(t *testing.T) {
	vals := canonicalv1.EventType(0).Descriptor().Values()
	if vals.Len() < 2 {
		t.Fatal("no event types declared")
	}
	for i := range vals.Len() {
		typ := canonicalv1.EventType(vals.Get(i).Number())
		name := TypeName(typ)
		if typ == canonicalv1.EventType_EVENT_TYPE_UNSPECIFIED {
			if name != "" {
				t.Errorf("TypeName(UNSPECIFIED) = %q, want empty", name)
			}
			continue
		}
		parts := strings.Split(name, ".")
		if len(parts) < 5 || parts[0] != "retailbridge" || parts[len(parts)-1] != "v1" {
			t.Errorf("%s: name %q is not retailbridge.<domain>.<object>.<what>.v1", typ, name)
		}
		if got := TypeOf(name); got != typ {
			t.Errorf("TypeOf(%q) = %s, want %s", name, got, typ)
		}
	}
	for _, name := range []string{"", "retailbridge.returns.return.closed.v1", "retailbridge.wms.return.inspected.v2"} {
		if got := TypeOf(name); got != canonicalv1.EventType_EVENT_TYPE_UNSPECIFIED {
			t.Errorf("TypeOf(%q) = %s, want UNSPECIFIED", name, got)
		}
	}
	if got := TypeName(canonicalv1.EventType(9999)); got != "" {
		t.Errorf("TypeName(9999) = %q, want empty", got)
	}
}
