package shopify

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/retailbridge/retailbridge/services/sandbox/shopify/adminschema"
)

// sampleVars are variables of the shape each operation is sent with, built from the connector's
// own input types so that their field names are the ones on the wire.
func sampleVars(name string) (map[string]any, bool) {
	order := "gid://shopify/Order/1"
	switch name {
	case "GetOrder":
		return regularOrder.vars("1"), true
	case "ListOrders":
		return map[string]any{"first": 20, "after": "cursor", "query": "customer_id:1"}, true
	case "ListOrderChanges":
		return map[string]any{"first": 100, "after": "cursor", "query": changesQuery(time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC))}, true
	case "Ready", "RunningBulkOperations":
		return map[string]any{}, true
	case "Variants":
		return map[string]any{"after": "cursor"}, true
	case "BulkOrderChanges":
		return map[string]any{"query": bulkChangesQuery(time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC))}, true
	case "BulkOperation":
		return map[string]any{"id": "gid://shopify/BulkOperation/1"}, true
	case "ReturnContext":
		return returnContextVars("1"), true
	case "ReturnCreate":
		return map[string]any{"input": returnInput{OrderID: order, ReturnLineItems: []returnLineInput{{
			FulfillmentLineItemID: "gid://shopify/FulfillmentLineItem/1", Quantity: 1,
			ReturnReasonDefinitionID: "gid://shopify/ReturnReasonDefinition/1", ReturnReasonNote: "n"}}}}, true
	case "ReturnReasons":
		return returnReasonsVars(), true
	case "FulfillmentContext":
		return map[string]any{"id": order, "orders": fulfillmentSize.orders, "lines": fulfillmentSize.lines,
			"fulfillments": fulfillmentSize.fulfillments}, true
	case "FulfillmentCreate":
		return map[string]any{"fulfillment": map[string]any{"notifyCustomer": true,
			"trackingInfo": map[string]any{"number": "1Z999", "company": "UPS"},
			"lineItemsByFulfillmentOrder": []foInput{{FulfillmentOrderID: "gid://shopify/FulfillmentOrder/1",
				FulfillmentOrderLineItems: []foLineInput{{ID: "gid://shopify/FulfillmentOrderLineItem/1", Quantity: 1}}}}}}, true
	case "ReturnClose", "ReturnStatus":
		return map[string]any{"id": "gid://shopify/Return/1"}, true
	case "InventoryLevel":
		return map[string]any{"query": `sku:"A-1"`, "location": "gid://shopify/Location/1"}, true
	case "InventorySet":
		return map[string]any{"key": "k", "input": inventorySetInput{Name: availableName, Reason: "correction",
			ReferenceDocumentURI: "retailbridge://inventory/A-1", Quantities: []inventoryQuantityInput{{
				InventoryItemID: "gid://shopify/InventoryItem/1", LocationID: "gid://shopify/Location/1", Quantity: 3, ChangeFromQuantity: 2}}}}, true
	case "RecordRefund":
		return map[string]any{"key": "k", "input": refundInput{OrderID: order, Note: "n", Currency: "USD",
			RefundLineItems: []refundLineInput{{LineItemID: "gid://shopify/LineItem/1", Quantity: 1, RestockType: "RETURN"}},
			Transactions:    []transactionInput{{OrderID: order, Kind: "REFUND", Gateway: refundGateway, Amount: "1.00"}}}}, true
	}
	return nil, false
}

// pendingDeprecations are deprecated uses not yet replaced, each with why. Every other deprecated
// use fails the test; an entry here that no longer matches anything fails it too.
var pendingDeprecations = map[string]string{}

// TestOperationsAgainstShopifySchema validates every document the connector sends, with
// variables of the shape it sends, against Shopify's published Admin schema of the pinned version
// and of every later vendored one, and refuses deprecated fields, arguments, input fields and
// enum values: Shopify removes those in a later version.
func TestOperationsAgainstShopifySchema(t *testing.T) {
	t.Parallel()
	validated := 0
	seen := map[string]bool{}
	for _, version := range adminschema.Versions() {
		if version < PinnedAPIVersion {
			continue
		}
		schema, err := adminschema.Load(version)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range operations {
			vars, ok := sampleVars(op.name)
			if !ok {
				t.Errorf("%s: no sample variables; add the operation to sampleVars", op.name)
				continue
			}
			doc, gerrs := gqlparser.LoadQuery(schema, op.query)
			if len(gerrs) > 0 {
				t.Errorf("%s refuses %s: %v", version, op.name, gerrs)
				continue
			}
			if _, err := validator.VariableValues(schema, doc.Operations.ForName(op.name), jsonVars(t, vars)); err != nil {
				t.Errorf("%s refuses the variables of %s: %v", version, op.name, err)
			}
			dep, err := adminschema.Deprecated(schema, doc, vars)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range dep {
				if reason, ok := pendingDeprecations[op.name+" "+d]; ok {
					seen[op.name+" "+d] = true
					t.Logf("%s: %s uses deprecated %s (pending: %s)", version, op.name, d, reason)
					continue
				}
				t.Errorf("%s: %s uses deprecated %s", version, op.name, d)
			}
			validated++
		}
	}
	for k := range pendingDeprecations {
		if !seen[k] {
			t.Errorf("pendingDeprecations lists %q, which no operation uses any more: remove it", k)
		}
	}
	t.Logf("validated %d documents (%d operations) against Shopify's Admin schema", validated, len(operations))
}

// TestEveryOperationIsRegistered finds every operation literal in the package's source and
// requires it in operations, so a new document cannot bypass the schema test.
func TestEveryOperationIsRegistered(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "operation" {
				return true
			}
			found = append(found, literalName(t, fset, lit))
			return true
		})
	}
	var registered []string
	for _, op := range operations {
		registered = append(registered, op.name)
	}
	slices.Sort(found)
	slices.Sort(registered)
	if !slices.Equal(found, registered) {
		t.Errorf("operation literals in the source %v, registered %v", found, registered)
	}
	if len(found) == 0 {
		t.Error("found no operation literal: the scan is broken")
	}
}

func literalName(t *testing.T, fset *token.FileSet, lit *ast.CompositeLit) string {
	t.Helper()
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok || kv.Key.(*ast.Ident).Name != "name" {
			continue
		}
		if s, ok := kv.Value.(*ast.BasicLit); ok {
			name, _ := strconv.Unquote(s.Value)
			return name
		}
	}
	t.Errorf("%s: an operation literal without a constant name", fset.Position(lit.Pos()))
	return ""
}

// jsonVars is vars as the JSON decoder on the other side sees them.
func jsonVars(t *testing.T, vars map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(vars)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
