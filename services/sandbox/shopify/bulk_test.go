package shopify_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/shopify"
)

const bulkRun = `mutation Run($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id status } userErrors { code field message } } }`

const bulkNode = `query Op($id: ID!) { node(id: $id) { ... on BulkOperation { id status objectCount rootObjectCount url query } } }`

// A bulk query runs on the shop's side: RUNNING for the configured delay (five at once, a sixth
// refused), then COMPLETED with a JSONL file of every order — nested connections on
// lines of their own with __parentId — downloadable without the access token.
func TestBulkOperationExportsTheWholeShop(t *testing.T) {
	t.Parallel()
	sb, clk := newSandbox(t, shopify.Options{BulkDelay: time.Minute})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	q := `{ orders(query: "updated_at:>='2000-01-01T00:00:00Z'") { edges { node { id updatedAt lineItems { edges { node { id sku } } } } } } }`
	run := query(t, sb, bulkRun, map[string]any{"q": q})
	id, _ := path(run.body, "data", "bulkOperationRunQuery", "bulkOperation", "id").(string)
	if id == "" {
		t.Fatalf("bulkOperationRunQuery = %s", run.raw)
	}
	for range 4 {
		query(t, sb, bulkRun, map[string]any{"q": `{ orders { edges { node { id } } } }`})
	}
	running := query(t, sb, `{ bulkOperations(first: 10, query: "status:running operation_type:query") { nodes { id query } } }`, nil)
	if n, _ := path(running.body, "data", "bulkOperations", "nodes").([]any); len(n) != 5 || path(n[4], "id") != id {
		t.Errorf("running bulk queries, newest first: %s; want 5 ending with %s", running.raw, id)
	}
	sixth := query(t, sb, bulkRun, map[string]any{"q": q})
	if code := path(sixth.body, "data", "bulkOperationRunQuery", "userErrors", 0, "code"); code != "LIMIT_REACHED" {
		t.Errorf("a sixth bulk query while five run: %s; want LIMIT_REACHED", sixth.raw)
	}
	if st := path(query(t, sb, bulkNode, map[string]any{"id": id}).body, "data", "node", "status"); st != "RUNNING" {
		t.Errorf("status before the delay = %v, want RUNNING", st)
	}
	clk.Advance(time.Minute)
	node := query(t, sb, bulkNode, map[string]any{"id": id})
	url, _ := path(node.body, "data", "node", "url").(string)
	if st := path(node.body, "data", "node", "status"); st != "COMPLETED" || url == "" {
		t.Fatalf("after the delay: %s", node.raw)
	}
	cur := query(t, sb, `{ currentBulkOperation { id status } }`, nil)
	if got := path(cur.body, "data", "currentBulkOperation", "status"); got != "COMPLETED" {
		t.Errorf("currentBulkOperation (the latest) = %s, want it completed", cur.raw)
	}
	// The file's address is the sandbox's; fetch it as a client would, with no token.
	resp, err := http.Get(srv.URL + url[strings.Index(url, "/_bulk/"):])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	orders, lines := map[string]bool{}, 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if p, ok := l["__parentId"].(string); ok {
			if !orders[p] {
				t.Errorf("line item %v comes before (or without) its order %s", l["id"], p)
			}
			lines++
			continue
		}
		orders[l["id"].(string)] = true
	}
	want := len(dataset().Orders)
	if len(orders) != want || lines < want {
		t.Errorf("the file has %d orders and %d line items; want every order (%d) and its lines", len(orders), lines, want)
	}
	if got := path(node.body, "data", "node", "rootObjectCount"); got != strconv.Itoa(want) {
		t.Errorf("rootObjectCount = %v, want %d", got, want)
	}
}
