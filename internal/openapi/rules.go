package openapi

import (
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// The input rules of the process APIs, said in the document. The contracts give types only; the
// process services check the rest in code (services/process/*: validateList, validateCreate,
// checkList, …), and the gateway validates every request against this document before it
// reaches them (gateway/contract.go), so a rule written here is one the gateway enforces and a
// client can read. Keep each bound equal to the service's: the service stays the last guard.
//
// Every object schema a request body can reach is closed (additionalProperties: false): a
// member the contract does not have is refused, not ignored. A request body without a rule, a
// rule naming a property the schema does not have, and an RPC without parameter rules fail
// generation.

// Limits the process services enforce (maxIDLength and friends in services/process/*).
const (
	maxID        = 256  // order, line, customer and return ids
	maxLines     = 100  // lines per eligibility check or return
	maxNote      = 1000 // an audit or customer note
	maxToken     = 1024 // a page token
	maxSKUs      = 100
	maxSKU       = 64
	maxLocations = 50
	maxLocation  = 128
	maxIDKey     = 255 // an idempotency key the inventory process takes (maxIDLength there)
)

// prop is a constraint on one property or parameter schema.
type prop func(*openapi3.Schema)

func length(minimum, maximum uint64) prop {
	return func(s *openapi3.Schema) { s.MinLength, s.MaxLength = minimum, &maximum }
}

func between(minimum, maximum float64) prop {
	return func(s *openapi3.Schema) { s.Min, s.Max = &minimum, &maximum }
}

func atLeast(minimum float64) prop { return func(s *openapi3.Schema) { s.Min = &minimum } }

func items(minimum, maximum uint64, each prop) prop {
	return func(s *openapi3.Schema) {
		s.MinItems, s.MaxItems = minimum, &maximum
		if each != nil && s.Items != nil && s.Items.Value != nil {
			each(s.Items.Value)
		}
	}
}

// schemaRule is what a request schema requires and bounds.
type schemaRule struct {
	required []string
	props    map[string]prop
	// readOnly properties are answers, never input: the service decides them (mass assignment).
	readOnly []string
	// only narrows a property that refers to an enum to the values a request may send.
	only map[string][]any
}

var schemaRules = map[string]schemaRule{
	"v1CheckEligibilityRequest": {required: []string{"order_id"},
		props: map[string]prop{"order_id": length(1, maxID), "lines": items(0, maxLines, nil)}},
	"v1LineSelection": {required: []string{"order_line_id"},
		props: map[string]prop{"order_line_id": length(1, maxID), "quantity": atLeast(0)}},
	"processReturnsV1CreateReturnRequest": {required: []string{"order_id", "method", "lines"},
		props: map[string]prop{"order_id": length(1, maxID), "lines": items(1, maxLines, nil)},
		only:  map[string][]any{"method": {"RETURN_METHOD_MAIL", "RETURN_METHOD_IN_STORE"}}},
	"v1ReturnLine": {required: []string{"order_line_id", "quantity", "reason"},
		props:    map[string]prop{"order_line_id": length(1, maxID), "quantity": atLeast(1), "note": length(0, maxNote)},
		readOnly: []string{"sku", "refund_amount", "restocking_fee", "condition", "disposition"}},
	"v1Money": {required: []string{"currency_code", "amount_minor"},
		props: map[string]prop{"currency_code": length(3, 3)}},
	"ReturnsServiceCancelReturnBody": {props: map[string]prop{"note": length(0, maxNote)}},
	"OrderWorkflowServiceResolveOrderExceptionBody": {required: []string{"resolution"},
		props: map[string]prop{"note": length(0, maxNote), "tax_code": length(0, 64)},
		only:  map[string][]any{"resolution": {"EXCEPTION_RESOLUTION_RETRY", "EXCEPTION_RESOLUTION_USE_TAX_CODE", "EXCEPTION_RESOLUTION_CANCEL"}}},
	"OrderWorkflowServicePutTaxCodeBody": {required: []string{"tax_code"}, props: map[string]prop{"tax_code": length(1, 64)}},
	"ReturnsServiceOverrideRefundBody":   {required: []string{"amount"}, props: map[string]prop{"note": length(0, maxNote)}},
	"ReturnsServiceResolveExceptionBody": {required: []string{"approve"}, props: map[string]prop{"note": length(0, maxNote)}},
	"processInventoryV1AdjustInventoryRequest": {required: []string{"sku", "location_id", "state", "reason_code"},
		props: map[string]prop{"sku": length(1, maxSKU), "location_id": length(1, maxLocation), "reason_code": length(1, 64),
			"note": length(0, maxNote), "idempotency_key": length(0, maxIDKey), "set_to": atLeast(0)},
		only: map[string][]any{"state": {"INVENTORY_STATE_ON_HAND", "INVENTORY_STATE_SELLABLE", "INVENTORY_STATE_DAMAGED",
			"INVENTORY_STATE_RETURNED_AWAITING_INSPECTION", "INVENTORY_STATE_QUALITY_CONTROL", "INVENTORY_STATE_SAFETY_STOCK",
			"INVENTORY_STATE_IN_TRANSIT"}}},
	"ReturnsServiceResolveRefundBody": {required: []string{"resolution", "note"},
		props: map[string]prop{"note": length(1, maxNote)},
		only:  map[string][]any{"resolution": {"REFUND_RESOLUTION_RETRY", "REFUND_RESOLUTION_SETTLED_OUTSIDE"}}},
}

// paramRule bounds one parameter of an RPC; required makes it mandatory on the audiences named
// (all when empty).
type paramRule struct {
	rule     prop
	required []string
}

var ids = paramRule{rule: length(1, maxID)}

var paramRules = map[string]map[string]paramRule{
	"ListOrders": {"page_size": {rule: between(1, 100)}, "page_token": {rule: length(0, maxToken)},
		"customer_id": {rule: length(1, maxID), required: []string{"support"}}},
	"GetOrder":         {"order_id": ids},
	"CheckEligibility": {},
	"CreateReturn":     {},
	"GetReturn":        {"return_id": ids},
	"ListReturns": {"page_size": {rule: between(1, 100)}, "page_token": {rule: length(0, maxToken)},
		"order_id": ids, "customer_id": ids, "state": {rule: length(1, 64)}, "min_age_hours": {rule: between(0, 24*366)}},
	"CancelReturn":             {"return_id": ids},
	"ResolveException":         {"return_id": ids},
	"OverrideRefund":           {"return_id": ids},
	"ResolveRefund":            {"return_id": ids},
	"GetOrderWorkflow":         {"order_id": ids},
	"ListOrderExceptions":      {"queue": {rule: length(1, 64)}, "page_size": {rule: between(1, 500)}},
	"ResolveOrderException":    {"order_id": ids},
	"PutTaxCode":               {"jurisdiction": {rule: length(2, 16)}, "category": {rule: length(1, 64)}},
	"ListSettlementPayouts":    {"page_size": {rule: between(1, 500)}, "page_token": {rule: length(0, maxToken)}},
	"ListSettlementMismatches": {"kind": {rule: length(1, 64)}, "page_size": {rule: between(1, 500)}, "page_token": {rule: length(0, maxToken)}},
	"RunSettlement":            {},
	"GetSettlementRun":         {"run_id": {rule: length(1, 64)}},
	"ListItemMaster":           {"page_size": {rule: between(1, 500)}, "page_token": {rule: length(0, maxToken)}},
	"GetItemMaster":            {"sku": {rule: length(1, maxSKU)}},
	"ListFeedFiles":            {"page_size": {rule: between(1, 500)}},
	"GetFeedFile":              {"file_id": {rule: length(1, 20)}},
	"ListFeedRejects":          {"file_id": {rule: length(1, 20)}},
	"SearchOrders":             {"q": {rule: length(1, 256), required: []string{}}, "page_size": {rule: between(1, 100)}},
	"SearchReturns":            {"q": {rule: length(1, 256), required: []string{}}, "page_size": {rule: between(1, 100)}},
	"GetAvailability": {"skus": {rule: items(1, maxSKUs, length(1, maxSKU)), required: []string{}},
		"location_ids": {rule: items(0, maxLocations, length(1, maxLocation))}, "channel": {rule: length(1, 64)}},
	"ListMovements": {"sku": {rule: length(1, maxSKU), required: []string{"support"}},
		"location_id": {rule: length(1, maxLocation), required: []string{"support"}},
		"page_size":   {rule: between(1, 500)}, "page_token": {rule: length(0, maxToken)}},
	"ListDrift": {"sku": {rule: length(1, maxSKU)}, "location_id": {rule: length(1, maxLocation)},
		"source": {rule: length(1, 16)}, "page_size": {rule: between(1, 500)}, "page_token": {rule: length(0, maxToken)}},
	"AdjustInventory": {},
	"ListSkuMismatches": {"sku": {rule: length(1, maxSKU)}, "kind": {rule: length(1, 64)},
		"page_size": {rule: between(1, 500)}, "page_token": {rule: length(0, maxToken)}},
	"ListPositions": {"skus": {rule: items(0, maxSKUs, length(1, maxSKU))},
		"location_ids": {rule: items(0, maxLocations, length(1, maxLocation))},
		"page_size":    {rule: between(1, 500)}, "page_token": {rule: length(0, maxToken)}},
}

// applyInputRules writes the rules into doc: schema rules on the components, parameter rules on
// each operation (rpcs maps operation ids, already rewritten to <audience>.<RPC>), and closes
// every object schema a request body reaches.
func applyInputRules(doc *openapi3.T) error {
	for _, name := range sortedKeys(schemaRules) {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			continue // not in this document; a body without its rule fails below
		}
		if err := applySchemaRule(name, ref.Value, schemaRules[name]); err != nil {
			return err
		}
	}
	for _, path := range sortedKeys(doc.Paths.Map()) {
		for method, op := range doc.Paths.Value(path).Operations() {
			audienceName, rpc, _ := strings.Cut(op.OperationID, ".")
			if _, processRoute := rpcRules[rpc]; !processRoute {
				continue
			}
			if err := applyParamRules(op, audienceName, rpc); err != nil {
				return fmt.Errorf("%s %s: %w", method, path, err)
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					body := strings.TrimPrefix(mt.Schema.Ref, "#/components/schemas/")
					if _, ok := schemaRules[body]; !ok {
						return fmt.Errorf("%w: %s %s: no input rule for its body %q: add it to schemaRules", errUnknownRoute, method, path, body)
					}
					closeObjects(mt.Schema, map[*openapi3.Schema]bool{})
				}
			}
		}
	}
	return nil
}

func applySchemaRule(name string, s *openapi3.Schema, r schemaRule) error {
	for _, f := range append(append(append([]string{}, r.required...), r.readOnly...), sortedKeys(r.props)...) {
		if s.Properties[f] == nil {
			return fmt.Errorf("%w: input rule for %s.%s, which the document does not have", errUnknownRoute, name, f)
		}
	}
	s.Required = r.required
	for _, f := range sortedKeys(r.props) {
		p := s.Properties[f]
		if p.Ref != "" {
			return fmt.Errorf("%w: %s.%s refers to a shared schema; bound it there", errUnknownRoute, name, f)
		}
		r.props[f](p.Value)
	}
	for _, f := range r.readOnly {
		s.Properties[f] = narrowed(s.Properties[f], func(w *openapi3.Schema) {
			w.ReadOnly = true
			w.Description = strings.TrimSpace(w.Description + " Decided by Retailbridge: an answer, never sent in a request.")
		})
	}
	for _, f := range sortedKeys(r.only) {
		values := r.only[f]
		s.Properties[f] = narrowed(s.Properties[f], func(w *openapi3.Schema) {
			w.Enum = values
			names := make([]string, len(values))
			for i, v := range values {
				names[i] = fmt.Sprintf("`%v`", v)
			}
			w.Description = "One of " + strings.Join(names, ", ") + "."
		})
	}
	return nil
}

// narrowed wraps a property in an allOf, so a shared schema it refers to stays as it is and
// only this use of it is constrained.
func narrowed(p *openapi3.SchemaRef, constrain func(*openapi3.Schema)) *openapi3.SchemaRef {
	w := &openapi3.Schema{}
	if p.Ref != "" {
		w.AllOf = openapi3.SchemaRefs{p}
	} else {
		c := *p.Value
		w = &c
	}
	constrain(w)
	return w.NewRef()
}

func applyParamRules(op *openapi3.Operation, audienceName, rpc string) error {
	rules, ok := paramRules[rpc]
	if !ok {
		return fmt.Errorf("%w: no parameter rules for RPC %q: add it to paramRules", errUnknownRoute, rpc)
	}
	for _, name := range sortedKeys(rules) {
		var param *openapi3.Parameter
		for _, p := range op.Parameters {
			if p.Value != nil && p.Value.Name == name {
				param = p.Value
			}
		}
		if param == nil {
			continue // bound on another audience's route (storefront lists have no customer_id)
		}
		r := rules[name]
		r.rule(param.Schema.Value)
		if r.required != nil && (len(r.required) == 0 || contains(r.required, audienceName)) {
			param.Required = true
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// closeObjects sets additionalProperties: false on every object schema under ref.
func closeObjects(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if s.Type.Is(openapi3.TypeObject) && len(s.Properties) > 0 {
		no := false
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	}
	for _, p := range s.Properties {
		closeObjects(p, seen)
	}
	closeObjects(s.Items, seen)
	for _, a := range s.AllOf {
		closeObjects(a, seen)
	}
}
