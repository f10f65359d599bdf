package businesscentral

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"google.golang.org/protobuf/proto"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// create is what a create sends once the lookup found nothing: ext is the external document number.
type create func(ctx context.Context, ext string) (*document, error)

// createOnce makes a create idempotent (see idempotency.go): it returns the document an earlier
// attempt with key made for the same request, refuses a key used for another request, and
// otherwise creates.
func (c *Client) createOnce(ctx context.Context, op, key string, req proto.Message, group, set, expand string, do create) (*document, error) {
	prefix, full := externalNumber(op, key, req)
	unlock, err := c.keys.lock(ctx, prefix)
	if err != nil {
		return nil, toErr(err)
	}
	defer unlock()
	q := url.Values{"$filter": {"startswith(externalDocumentNumber," + literal(prefix) + ")"}}
	if expand != "" {
		q.Set("$expand", expand)
	}
	var page collection[document]
	if err := c.get(ctx, c.entityURL(group, set, q), &page, set); err != nil {
		return nil, err
	}
	if len(page.Value) > 0 {
		d := page.Value[0]
		if d.External != full {
			return nil, errs.E(errs.FailedPrecondition, "idempotency_key_reused",
				"the idempotency key was already used for a different request")
		}
		c.repeats.Add(1)
		return &d, nil
	}
	return do(ctx, full)
}

// post creates a document and reads the answer.
func (c *Client) post(ctx context.Context, u *url.URL, body any, entity string) (*document, error) {
	ans, err := c.call(ctx, request{method: http.MethodPost, url: u, body: body, entity: entity})
	if err != nil {
		return nil, err
	}
	var d document
	if err := decodeInto(ans.body, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// read reads one document by id; ids not in Business Central's format name no document.
func (c *Client) read(ctx context.Context, group, set, id, expand, entity string) (*document, error) {
	if !isGUID(id) {
		return nil, toErr(&vendorError{status: http.StatusNotFound, odata: true, entity: entity, detail: "not a document id"})
	}
	q := url.Values{}
	if expand != "" {
		q.Set("$expand", expand)
	}
	var d document
	if err := c.get(ctx, c.entityURL(group, set+"("+id+")", q), &d, entity); err != nil {
		return nil, err
	}
	return &d, nil
}

// batchOp is one operation of an OData JSON $batch.
type batchOp struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
	entity  string
}

type batchAnswer struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// MaxBatch is how many operations Business Central accepts in one $batch.
const MaxBatch = 100

// batch sends ops as one transactional $batch (Isolation: snapshot): Business Central applies all
// of them or none. The first failed operation's error is returned, classified.
func (c *Client) batch(ctx context.Context, ops []batchOp) ([]batchAnswer, error) {
	if len(ops) > MaxBatch {
		return nil, errs.E(errs.Internal, "batch_too_large", "")
	}
	for i := range ops {
		if ops[i].Body != nil {
			if ops[i].Headers == nil {
				ops[i].Headers = map[string]string{}
			}
			ops[i].Headers["Content-Type"] = "application/json"
		}
	}
	ans, err := c.call(ctx, request{method: http.MethodPost, url: c.root.JoinPath(groupV2, "$batch"),
		body: map[string]any{"requests": ops}, header: map[string]string{"Isolation": "snapshot"}, entity: "batch"})
	if err != nil {
		return nil, err
	}
	var out struct {
		Responses []batchAnswer `json:"responses"`
	}
	if err := decodeInto(ans.body, &out); err != nil {
		return nil, err
	}
	if len(out.Responses) != len(ops) {
		return nil, toErr(badPayload(errors.New("the batch answer does not match its operations")))
	}
	for i, r := range out.Responses {
		if r.Status >= 300 {
			ve := newVendorError(r.Status, http.Header{}, r.Body, c.now())
			ve.entity = ops[i].entity
			return out.Responses, toErr(ve)
		}
	}
	return out.Responses, nil
}
