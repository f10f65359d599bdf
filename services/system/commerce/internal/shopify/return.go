package shopify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// returnContext is what returnContextOp reads.
type returnContext struct {
	ID           string `json:"id"`
	Fulfillments []struct {
		Status               string `json:"status"`
		FulfillmentLineItems struct {
			Nodes []struct {
				ID       string      `json:"id"`
				Quantity *int32      `json:"quantity"`
				LineItem lineItemRef `json:"lineItem"`
			} `json:"nodes"`
			PageInfo pageInfo `json:"pageInfo"`
		} `json:"fulfillmentLineItems"`
	} `json:"fulfillments"`
	Returns struct {
		Nodes []struct {
			ID              string `json:"id"`
			Status          string `json:"status"`
			ReturnLineItems struct {
				Nodes []struct {
					Quantity         int32  `json:"quantity"`
					ReturnReasonNote string `json:"returnReasonNote"`
				} `json:"nodes"`
				PageInfo pageInfo `json:"pageInfo"`
			} `json:"returnLineItems"`
		} `json:"nodes"`
		PageInfo pageInfo `json:"pageInfo"`
	} `json:"returns"`
}

// userError is one entry of a mutation's userErrors.
type userError struct {
	Code    string   `json:"code"`
	Field   []string `json:"field"`
	Message string   `json:"message"`
}

type returnInput struct {
	OrderID         string            `json:"orderId"`
	ReturnLineItems []returnLineInput `json:"returnLineItems"`
}

type returnLineInput struct {
	FulfillmentLineItemID    string `json:"fulfillmentLineItemId"`
	Quantity                 int32  `json:"quantity"`
	ReturnReasonDefinitionID string `json:"returnReasonDefinitionId,omitempty"`
	ReturnReasonNote         string `json:"returnReasonNote"`
}

// maxNote is the longest returnReasonNote Shopify takes.
const maxNote = 255

// returnMarker is what CreateReturn writes into every line's note so that a repeat finds the
// return an earlier attempt created: returnCreate takes no idempotency key.
func returnMarker(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "[rb:" + hex.EncodeToString(sum[:8]) + "]"
}

// CreateReturn opens a return on the order for the returned lines, spread over the fulfilment
// line items the units shipped in. returnCreate has no idempotency key, so the call first looks
// for a return an earlier attempt with the same key created (by the marker in its lines' notes)
// and returns that one. Two attempts racing each other can still both create; the workflow's
// retries are sequential.
func (c *Connector) CreateReturn(ctx context.Context, ret *canonicalv1.Return, key string) (string, error) {
	if !isNumeric(ret.GetOrderId()) {
		return "", toError(ctx, failure{notFound: true})
	}
	var data struct {
		Order *returnContext `json:"order"`
	}
	if err := c.do(ctx, returnContextOp, returnContextVars(ret.GetOrderId()), &data); err != nil {
		return "", err
	}
	o := data.Order
	if o == nil {
		return "", toError(ctx, failure{notFound: true})
	}
	if o.Returns.PageInfo.HasNextPage {
		return "", c.fail(ctx, returnContextOp, failure{status: http.StatusOK, cause: errTooLarge{"returns"}})
	}
	marker := returnMarker(key)
	for _, r := range o.Returns.Nodes {
		if r.ReturnLineItems.PageInfo.HasNextPage {
			return "", c.fail(ctx, returnContextOp, failure{status: http.StatusOK, cause: errTooLarge{"return line items"}})
		}
		if !returnCounts(r.Status) {
			continue
		}
		for _, l := range r.ReturnLineItems.Nodes {
			if strings.Contains(l.ReturnReasonNote, marker) {
				c.log.DebugContext(ctx, "shopify return already created by an earlier attempt", "return", r.ID)
				return numericIDOrFail(ctx, c, returnContextOp, r.ID)
			}
		}
	}

	input := returnInput{OrderID: "gid://shopify/Order/" + ret.GetOrderId()}
	for i, rl := range ret.GetLines() {
		reason, err := c.reasonDefinitionID(ctx, rl.GetReason())
		if err != nil {
			return "", err
		}
		left := rl.GetQuantity()
		for _, f := range o.Fulfillments {
			if f.FulfillmentLineItems.PageInfo.HasNextPage {
				return "", c.fail(ctx, returnContextOp, failure{status: http.StatusOK, cause: errTooLarge{"fulfillment line items"}})
			}
			if f.Status != "SUCCESS" {
				continue
			}
			for _, fli := range f.FulfillmentLineItems.Nodes {
				if left == 0 || fli.LineItem.ID != "gid://shopify/LineItem/"+rl.GetOrderLineId() {
					continue
				}
				take := min(left, deref(fli.Quantity))
				if take <= 0 {
					continue
				}
				left -= take
				input.ReturnLineItems = append(input.ReturnLineItems, returnLineInput{
					FulfillmentLineItemID: fli.ID, Quantity: take, ReturnReasonDefinitionID: reason,
					ReturnReasonNote: noteWithMarker(rl.GetNote(), marker),
				})
			}
		}
		if left > 0 {
			return "", errs.E(errs.FailedPrecondition, "return_exceeds_fulfilled", "more units are returned than were fulfilled").
				WithFields(errs.FieldViolation{Field: fmt.Sprintf("return.lines[%d].quantity", i),
					Description: "more than the fulfilled units of order line " + rl.GetOrderLineId()})
		}
	}
	var out struct {
		ReturnCreate *struct {
			Return *struct {
				ID string `json:"id"`
			} `json:"return"`
			UserErrors []userError `json:"userErrors"`
		} `json:"returnCreate"`
	}
	if err := c.do(ctx, returnCreateOp, map[string]any{"input": input}, &out); err != nil {
		return "", err
	}
	p := out.ReturnCreate
	switch {
	case p == nil:
		return "", c.fail(ctx, returnCreateOp, mutationFailure(true, nil, "order"))
	case len(p.UserErrors) > 0 || p.Return == nil:
		return "", c.fail(ctx, returnCreateOp, mutationFailure(false, p.UserErrors, "order"))
	}
	return numericIDOrFail(ctx, c, returnCreateOp, p.Return.ID)
}

// noteWithMarker appends the marker to the customer's note, shortening the note if it must.
func noteWithMarker(note, marker string) string {
	note = strings.TrimSpace(note)
	if note == "" {
		return marker
	}
	if limit := maxNote - len(marker) - 1; len(note) > limit {
		note = strings.ToValidUTF8(note[:limit], "")
	}
	return note + " " + marker
}

// CloseReturn closes a return. Closing a return that is already closed succeeds.
func (c *Connector) CloseReturn(ctx context.Context, id string) error {
	if !isNumeric(id) {
		return toError(ctx, failure{notFound: true, object: "return"})
	}
	var out struct {
		ReturnClose *struct {
			UserErrors []userError `json:"userErrors"`
		} `json:"returnClose"`
	}
	gid := "gid://shopify/Return/" + id
	if err := c.do(ctx, returnCloseOp, map[string]any{"id": gid}, &out); err != nil {
		return err
	}
	p := out.ReturnClose
	if p != nil && len(p.UserErrors) == 0 {
		return nil
	}
	if p != nil && p.UserErrors[0].Code == "INVALID_STATE" {
		var st struct {
			Return *struct {
				Status string `json:"status"`
			} `json:"return"`
		}
		if err := c.do(ctx, returnStatusOp, map[string]any{"id": gid}, &st); err != nil {
			return err
		}
		if st.Return != nil && st.Return.Status == "CLOSED" {
			return nil // an earlier attempt closed it
		}
	}
	var ue []userError
	if p != nil {
		ue = p.UserErrors
	}
	return c.fail(ctx, returnCloseOp, mutationFailure(p == nil, ue, "return"))
}

// mutationFailure describes a mutation that did not do what it was asked: no payload at all, or
// user errors. object names what a NOT_FOUND user error is about.
func mutationFailure(noPayload bool, ue []userError, object string) failure {
	if noPayload {
		return failure{status: http.StatusOK, cause: fmt.Errorf("the mutation returned no payload")}
	}
	return failure{status: http.StatusOK, user: ue, object: object}
}

func numericIDOrFail(ctx context.Context, c *Connector, op operation, gid string) (string, error) {
	id, err := numericID(gid)
	if err != nil {
		return "", c.fail(ctx, op, failure{status: http.StatusOK, cause: err})
	}
	return id, nil
}
