package shopify

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxPageSize is Shopify's limit on first/last.
const maxPageSize = 250

// pageArgs are the Relay arguments every connection field takes.
type pageArgs struct {
	First   *int32
	After   *string
	Last    *int32
	Before  *string
	Reverse bool
}

type connection[T any] struct {
	edges []*edge[T]
	page  *pageInfo
}

type edge[T any] struct {
	cursor string
	node   T
}

type pageInfo struct {
	hasNext, hasPrev bool
	start, end       *string
}

func (c *connection[T]) Edges() []*edge[T]   { return c.edges }
func (c *connection[T]) PageInfo() *pageInfo { return c.page }
func (c *connection[T]) Nodes() []T {
	out := make([]T, len(c.edges))
	for i, e := range c.edges {
		out[i] = e.node
	}
	return out
}

func (e *edge[T]) Cursor() string { return e.cursor }
func (e *edge[T]) Node() T        { return e.node }

func (p *pageInfo) HasNextPage() bool     { return p.hasNext }
func (p *pageInfo) HasPreviousPage() bool { return p.hasPrev }
func (p *pageInfo) StartCursor() *string  { return p.start }
func (p *pageInfo) EndCursor() *string    { return p.end }

// cursor is the opaque position of one element, shaped like Shopify's base64 JSON cursors.
type cursor struct {
	LastID    int64  `json:"last_id"`
	LastValue string `json:"last_value"`
}

func encodeCursor(id string) string {
	n, _ := strconv.ParseInt(id, 10, 64)
	b, _ := json.Marshal(cursor{LastID: n, LastValue: id})
	return base64.StdEncoding.EncodeToString(b)
}

func decodeCursor(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.LastValue == "" {
		return "", fmt.Errorf("Invalid cursor for current pagination sort.")
	}
	return c.LastValue, nil
}

var errNoPageSize = errors.New("you must provide one of first or last")

// checkPageArgs applies Shopify's rules on first/last.
func checkPageArgs(first, last *int32) error {
	if first == nil && last == nil {
		return errNoPageSize
	}
	for _, n := range []*int32{first, last} {
		if n != nil && (*n < 0 || *n > maxPageSize) {
			return fmt.Errorf("The page size must be between 0 and %d.", maxPageSize)
		}
	}
	return nil
}

// everything is a connection of every item: what a bulk operation's query reads.
func everything[T any](items []T, key func(T) string) *connection[T] {
	c := &connection[T]{page: &pageInfo{}}
	for _, t := range items {
		c.edges = append(c.edges, &edge[T]{cursor: encodeCursor(key(t)), node: t})
	}
	return c
}

// paginateIn is paginate, except in a bulk operation's query (orders and their line items), which
// pages nothing: a connection without first or last is every element.
func paginateIn[T any](ctx context.Context, items []T, key func(T) string, a pageArgs) (*connection[T], error) {
	if bulkMode(ctx) && a.First == nil && a.Last == nil {
		return everything(items, key), nil
	}
	return paginate(items, key, a)
}

// paginate cuts one page out of items (already in display order before reverse).
func paginate[T any](items []T, key func(T) string, a pageArgs) (*connection[T], error) {
	if err := checkPageArgs(a.First, a.Last); err != nil {
		return nil, err
	}
	if a.Reverse {
		items = slices.Clone(items)
		slices.Reverse(items)
	}
	lo, hi := 0, len(items)
	find := func(c string) (int, error) {
		id, err := decodeCursor(c)
		if err != nil {
			return 0, err
		}
		i := slices.IndexFunc(items, func(t T) bool { return key(t) == id })
		if i < 0 {
			return 0, fmt.Errorf("Invalid cursor for current pagination sort.")
		}
		return i, nil
	}
	if a.After != nil {
		i, err := find(*a.After)
		if err != nil {
			return nil, err
		}
		lo = i + 1
	}
	if a.Before != nil {
		i, err := find(*a.Before)
		if err != nil {
			return nil, err
		}
		hi = min(hi, i)
	}
	if lo > hi {
		lo = hi
	}
	page := &pageInfo{hasPrev: lo > 0, hasNext: hi < len(items)}
	if a.First != nil && int(*a.First) < hi-lo {
		hi = lo + int(*a.First)
		page.hasNext = true
	}
	if a.Last != nil && int(*a.Last) < hi-lo {
		lo = hi - int(*a.Last)
		page.hasPrev = true
	}
	c := &connection[T]{page: page}
	for _, t := range items[lo:hi] {
		c.edges = append(c.edges, &edge[T]{cursor: encodeCursor(key(t)), node: t})
	}
	if len(c.edges) > 0 {
		page.start, page.end = &c.edges[0].cursor, &c.edges[len(c.edges)-1].cursor
	}
	return c, nil
}

// search filters and sorts orders with the subset of Shopify's search syntax the sandbox knows:
// field:value terms for customer_id, id, name, source_name, financial_status and
// fulfillment_status (values may be quoted), updated_at with a comparison (updated_at:>='…'), all of which must match, where a group
// "(a OR b)" matches when either does. Other fields are ignored.
func (st *store) search(query, sortKey string) []*order {
	type term struct{ field, value string }
	var clauses [][]term // every clause must match; a clause matches when any of its terms does
	joinNext := false
	for _, tok := range searchTokens(query) {
		if tok == "OR" {
			joinNext = len(clauses) > 0
			continue
		}
		tok = strings.TrimRight(strings.TrimLeft(tok, "("), ")")
		field, value, ok := strings.Cut(tok, ":")
		if !ok {
			joinNext = false
			continue
		}
		t := term{strings.ToLower(field), strings.Trim(value, `"'`)}
		if joinNext {
			clauses[len(clauses)-1] = append(clauses[len(clauses)-1], t)
		} else {
			clauses = append(clauses, []term{t})
		}
		joinNext = false
	}
	matches := func(o *order, t term) bool {
		switch t.field {
		case "customer_id":
			return o.src.CustomerID == t.value
		case "id":
			return o.src.ID == t.value
		case "name":
			return strings.TrimPrefix(o.src.Name, "#") == strings.TrimPrefix(t.value, "#")
		case "source_name":
			return o.sourceName == t.value
		case "financial_status":
			return strings.EqualFold(o.financialStatus, t.value)
		case "fulfillment_status":
			return strings.EqualFold(o.src.FulfillmentStatus, t.value)
		case "updated_at":
			return compareTime(o.updatedAt, t.value)
		}
		return true
	}
	var out []*order
next:
	for _, o := range st.orders {
		for _, c := range clauses {
			if !slices.ContainsFunc(c, func(t term) bool { return matches(o, t) }) {
				continue next
			}
		}
		out = append(out, o)
	}
	num := func(o *order) int64 { n, _ := strconv.ParseInt(o.src.ID, 10, 64); return n }
	slices.SortStableFunc(out, func(a, b *order) int {
		var c int
		switch sortKey {
		case "CREATED_AT", "PROCESSED_AT":
			c = a.src.CreatedAt.Compare(b.src.CreatedAt)
		case "UPDATED_AT":
			c = a.updatedAt.Compare(b.updatedAt)
		case "TOTAL_PRICE":
			c = cmp.Compare(a.src.TotalMinor(), b.src.TotalMinor())
		}
		if c == 0 {
			c = cmp.Compare(num(a), num(b))
		}
		return c
	})
	return out
}

// compareTime matches a time against a search value with Shopify's comparators (">", ">=", "<",
// "<=", or none for equality) and an ISO 8601 time or date; an unreadable value matches nothing.
func compareTime(t time.Time, value string) bool {
	op := ""
	for _, p := range []string{">=", "<=", ">", "<"} {
		if strings.HasPrefix(value, p) {
			op, value = p, value[len(p):]
			break
		}
	}
	value = strings.Trim(value, `"'`)
	v, err := time.Parse(time.RFC3339, value)
	if err != nil {
		if v, err = time.Parse(time.DateOnly, value); err != nil {
			return false
		}
	}
	t = t.Truncate(time.Second) // Shopify compares to the second
	switch op {
	case ">=":
		return !t.Before(v)
	case "<=":
		return !t.After(v)
	case ">":
		return t.After(v)
	case "<":
		return t.Before(v)
	}
	return t.Equal(v)
}

// searchTokens splits a search query on spaces outside double quotes.
func searchTokens(q string) []string {
	var out []string
	var b strings.Builder
	quoted := false
	for _, r := range q {
		switch {
		case r == '"':
			quoted = !quoted
			b.WriteRune(r)
		case (r == ' ' || r == '\t') && !quoted:
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}
