package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/graph-gophers/graphql-go"
)

// urlScalar is Shopify's URL scalar.
type urlScalar string

func (urlScalar) ImplementsGraphQLType(name string) bool { return name == "URL" }
func (u *urlScalar) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("URL must be a string, got %T", input)
	}
	*u = urlScalar(s)
	return nil
}

// uint64Scalar is Shopify's UnsignedInt64, serialised as a string.
type uint64Scalar uint64

func (uint64Scalar) ImplementsGraphQLType(name string) bool { return name == "UnsignedInt64" }
func (n *uint64Scalar) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("UnsignedInt64 must be a string, got %T", input)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	*n = uint64Scalar(v)
	return err
}
func (n uint64Scalar) MarshalJSON() ([]byte, error) {
	return json.Marshal(strconv.FormatUint(uint64(n), 10))
}

// bulkOpResolver is a BulkOperation as of now.
type bulkOpResolver struct {
	op  *bulkOperation
	now time.Time
}

func (b *bulkOpResolver) done() bool { return !b.now.Before(b.op.ready) }

func (b *bulkOpResolver) ID() graphql.ID      { return gid("BulkOperation", b.op.id) }
func (b *bulkOpResolver) CreatedAt() dateTime { return dt(b.op.createdAt) }
func (b *bulkOpResolver) Query() string       { return b.op.query }
func (b *bulkOpResolver) Type() string        { return "QUERY" }
func (b *bulkOpResolver) PartialDataUrl() *urlScalar {
	return nil
}

func (b *bulkOpResolver) Status() string {
	switch {
	case !b.done():
		return "RUNNING"
	case b.op.failed:
		return "FAILED"
	}
	return "COMPLETED"
}

func (b *bulkOpResolver) ErrorCode() *string {
	if b.done() && b.op.failed {
		s := "INTERNAL_SERVER_ERROR"
		return &s
	}
	return nil
}

func (b *bulkOpResolver) CompletedAt() *dateTime {
	if !b.done() || b.op.failed {
		return nil
	}
	return dtp(&b.op.ready)
}

func (b *bulkOpResolver) ObjectCount() uint64Scalar {
	if !b.done() {
		return 0
	}
	return uint64Scalar(b.op.objects)
}

func (b *bulkOpResolver) RootObjectCount() uint64Scalar {
	if !b.done() {
		return 0
	}
	return uint64Scalar(b.op.rootObjects)
}

func (b *bulkOpResolver) FileSize() *uint64Scalar {
	if !b.done() || b.op.failed || len(b.op.file) == 0 {
		return nil
	}
	n := uint64Scalar(len(b.op.file))
	return &n
}

// Url is null until the operation completes, and for an export of nothing (as on Shopify).
func (b *bulkOpResolver) Url() *urlScalar {
	if !b.done() || b.op.failed || len(b.op.file) == 0 {
		return nil
	}
	u := urlScalar(b.op.base + "/_bulk/" + b.op.id + ".jsonl")
	return &u
}

// nodeResolver is the Node interface; the sandbox resolves bulk operations through it.
type nodeResolver struct{ op *bulkOpResolver }

func (n *nodeResolver) ID() graphql.ID                           { return n.op.ID() }
func (n *nodeResolver) ToBulkOperation() (*bulkOpResolver, bool) { return n.op, true }

type bulkUserError struct {
	Code  string
	Field []string
	Msg   string
}

type bulkRunPayload struct {
	op   *bulkOpResolver
	errs []bulkUserError
}

func (p *bulkRunPayload) BulkOperation() *bulkOpResolver { return p.op }
func (p *bulkRunPayload) UserErrors() []*bulkUserErrorResolver {
	out := make([]*bulkUserErrorResolver, len(p.errs))
	for i, e := range p.errs {
		out[i] = &bulkUserErrorResolver{e}
	}
	return out
}

type bulkUserErrorResolver struct{ e bulkUserError }

func (r *bulkUserErrorResolver) Code() *string    { c := r.e.Code; return &c }
func (r *bulkUserErrorResolver) Field() *[]string { return &r.e.Field }
func (r *bulkUserErrorResolver) Message() string  { return r.e.Msg }

func (r *rootResolver) BulkOperationRunQuery(ctx context.Context, args struct {
	Query        string
	GroupObjects bool
}) *bulkRunPayload {
	op, errs := r.bulk.run(ctx, args.Query)
	if op == nil {
		return &bulkRunPayload{errs: errs}
	}
	return &bulkRunPayload{op: &bulkOpResolver{op: op, now: r.bulk.now()}}
}

func (r *rootResolver) CurrentBulkOperation(args struct{ Type string }) *bulkOpResolver {
	op := r.bulk.current()
	if op == nil || args.Type != "QUERY" {
		return nil
	}
	return &bulkOpResolver{op: op, now: r.bulk.now()}
}

func (r *rootResolver) BulkOperations(args struct {
	First   *int32
	After   *string
	Last    *int32
	Before  *string
	Query   *string
	Reverse bool
	SortKey string
}) (*connection[*bulkOpResolver], error) {
	q := ""
	if args.Query != nil {
		q = *args.Query
	}
	now := r.bulk.now()
	var list []*bulkOpResolver
	for _, op := range r.bulk.list(q) {
		list = append(list, &bulkOpResolver{op: op, now: now})
	}
	return paginate(list, func(b *bulkOpResolver) string { return b.op.id },
		pageArgs{First: args.First, After: args.After, Last: args.Last, Before: args.Before, Reverse: args.Reverse})
}

func (r *rootResolver) Node(args struct{ ID graphql.ID }) (*nodeResolver, error) {
	id, err := parseGID("BulkOperation", args.ID)
	if err != nil {
		return nil, nil // not an object the sandbox resolves by id: null, as for an unknown id
	}
	op := r.bulk.get(id)
	if op == nil {
		return nil, nil
	}
	return &nodeResolver{op: &bulkOpResolver{op: op, now: r.bulk.now()}}, nil
}
