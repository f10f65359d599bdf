package gateway

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/configs"
	"github.com/retailbridge/retailbridge/gateway/apidocs"
)

// releasedOperations is the HTTP surface of the last release, next to the released buf image:
// buf breaking guards the messages and their JSON, this guards the routes.
const releasedOperations = "../proto/released/http-operations.txt"

var updateReleased = flag.Bool("update-released", false, "record the served operations as released (make release-contracts)")

// TestReleasedOperationsAreStillServed fails when an operation of the last release is gone from
// the served API without having been deprecated, sunset and marked removed in
// configs/http/deprecations.yaml (where it keeps answering 410 Gone).
func TestReleasedOperationsAreStillServed(t *testing.T) {
	b, err := os.ReadFile(releasedOperations)
	if err != nil {
		t.Fatal(err)
	}
	current, err := Operations(apidocs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ParseDeprecations(configs.Deprecations, apidocs.OpenAPI, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if missing := unreleasedRemovals(b, current, ds); len(missing) > 0 {
		t.Fatalf("released operations are gone from the API without a deprecation marked removed after its sunset "+
			"(configs/http/deprecations.yaml; README \"Versions and deprecation\"):\n  %s", strings.Join(missing, "\n  "))
	}
	if *updateReleased {
		out := "# The HTTP operations of the last released API (make release-contracts). An operation listed here\n" +
			"# leaves the API only through configs/http/deprecations.yaml: deprecated, sunset, then removed.\n" +
			strings.Join(current, "\n") + "\n"
		if err := os.WriteFile(releasedOperations, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// unreleasedRemovals lists the released operations that are neither served nor removed after
// their sunset.
func unreleasedRemovals(released []byte, current []string, ds []Deprecation) []string {
	served := map[string]bool{}
	for _, op := range current {
		served[op] = true
	}
	for _, d := range ds {
		if d.Removed {
			served[d.Method+" "+d.Path] = true
		}
	}
	var missing []string
	sc := bufio.NewScanner(bytes.NewReader(released))
	for sc.Scan() {
		op := strings.TrimSpace(sc.Text())
		if op != "" && !strings.HasPrefix(op, "#") && !served[op] {
			missing = append(missing, op)
		}
	}
	return missing
}

func TestUnreleasedRemovals(t *testing.T) {
	t.Parallel()
	released := []byte("# header\nGET /a\nPOST /b\nGET /c/{id}\n")
	current := []string{"GET /a", "GET /d"}
	removed := []Deprecation{{Method: "GET", Path: "/c/{id}", Removed: true}, {Method: "POST", Path: "/b"}}
	got := unreleasedRemovals(released, current, removed)
	if len(got) != 1 || got[0] != "POST /b" {
		t.Errorf("missing = %q, want only POST /b (deprecated but not removed after its sunset)", got)
	}
}
