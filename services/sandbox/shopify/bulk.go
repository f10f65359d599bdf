package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/graph-gophers/graphql-go"
)

// Bulk operations as Shopify runs them: bulkOperationRunQuery takes a query document, runs it on
// the shop's side without pagination or the single-query cost limit, and leaves the result as a
// JSONL file — one object per line, the objects of nested connections on lines of their own
// with __parentId naming their parent — at a URL the app downloads without its access token
// (Shopify's is a pre-signed storage address; here /_bulk/<id>.jsonl on the sandbox). The app
// follows the operation with node(id:), bulkOperations(query: "status:running") or the deprecated
// currentBulkOperation. From API version 2026-01 five bulk queries run at once per shop; a sixth
// is refused with LIMIT_REACHED. The sandbox takes the snapshot when the operation is created and
// reports it RUNNING for Options.BulkDelay. Operations are kept in memory, not in the state file.

// schemaSDL is the schema the sandbox serves: the core subset (schema.go) and bulk operations.
const schemaSDL = coreSDL + bulkSDL

const bulkSDL = `
"An absolute URL."
scalar URL
"An unsigned 64-bit integer, serialised as a string."
scalar UnsignedInt64

"An object with a global id."
interface Node {
  id: ID!
}

"An asynchronous operation that exports data in bulk; its result is a JSONL file at url."
type BulkOperation implements Node {
  completedAt: DateTime
  createdAt: DateTime!
  errorCode: BulkOperationErrorCode
  fileSize: UnsignedInt64
  id: ID!
  objectCount: UnsignedInt64!
  partialDataUrl: URL
  query: String!
  rootObjectCount: UnsignedInt64!
  status: BulkOperationStatus!
  type: BulkOperationType!
  url: URL
}

enum BulkOperationStatus {
  CANCELED
  CANCELING
  COMPLETED
  CREATED
  EXPIRED
  FAILED
  RUNNING
}

enum BulkOperationType {
  MUTATION
  QUERY
}

enum BulkOperationErrorCode {
  ACCESS_DENIED
  INTERNAL_SERVER_ERROR
  TIMEOUT
}

type BulkOperationConnection {
  edges: [BulkOperationEdge!]!
  nodes: [BulkOperation!]!
  pageInfo: PageInfo!
}

type BulkOperationEdge {
  cursor: String!
  node: BulkOperation!
}

enum BulkOperationsSortKeys {
  COMPLETED_AT
  CREATED_AT
}

type BulkOperationRunQueryPayload {
  bulkOperation: BulkOperation
  userErrors: [BulkOperationUserError!]!
}

type BulkOperationUserError {
  code: BulkOperationUserErrorCode
  field: [String!]
  message: String!
}

enum BulkOperationUserErrorCode {
  INVALID
  LIMIT_REACHED
  OPERATION_IN_PROGRESS
}
`

// bulkOps are the shop's bulk operations.
type bulkOps struct {
	mu     sync.Mutex
	exec   *graphql.Schema
	delay  time.Duration
	now    func() time.Time
	ops    map[string]*bulkOperation
	latest *bulkOperation
	seq    int
}

type bulkOperation struct {
	id          string
	query       string
	createdAt   time.Time
	ready       time.Time
	failed      bool
	file        []byte
	objects     int
	rootObjects int
	base        string // the sandbox's address, for url
}

// maxRunningBulk is how many bulk queries a shop runs at once (API version 2026-01 on).
const maxRunningBulk = 5

// list returns the operations matching a bulkOperations search ("status:running",
// "operation_type:query"; other terms are ignored), newest first.
func (b *bulkOps) list(query string) []*bulkOperation {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	var out []*bulkOperation
	for _, op := range b.ops {
		status := "completed"
		if now.Before(op.ready) {
			status = "running"
		} else if op.failed {
			status = "failed"
		}
		if want, ok := searchTerm(query, "status"); ok && !strings.EqualFold(want, status) {
			continue
		}
		if want, ok := searchTerm(query, "operation_type"); ok && !strings.EqualFold(want, "query") {
			continue
		}
		out = append(out, op)
	}
	slices.SortFunc(out, func(a, b *bulkOperation) int { // newest first; ids grow with creation
		if c := b.createdAt.Compare(a.createdAt); c != 0 {
			return c
		}
		x, _ := strconv.Atoi(a.id)
		y, _ := strconv.Atoi(b.id)
		return y - x
	})
	return out
}

// searchTerm finds field:value in a search string.
func searchTerm(query, field string) (string, bool) {
	for _, t := range strings.Fields(query) {
		if v, ok := strings.CutPrefix(t, field+":"); ok {
			return strings.Trim(v, `"'`), true
		}
	}
	return "", false
}

type bulkModeKey struct{}

// bulkMode reports whether ctx runs a bulk operation's query: connections return every element.
func bulkMode(ctx context.Context) bool { b, _ := ctx.Value(bulkModeKey{}).(bool); return b }

type baseKey struct{}

// withBase keeps the address the request reached the sandbox at (for bulk result URLs).
func withBase(ctx context.Context, r *http.Request) context.Context {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return context.WithValue(ctx, baseKey{}, scheme+"://"+r.Host)
}

// run starts a bulk query: refused while another runs; otherwise the query is executed now (the
// caller holds the store's lock) and its JSONL kept.
func (b *bulkOps) run(ctx context.Context, query string) (*bulkOperation, []bulkUserError) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	running := 0
	for _, op := range b.ops {
		if now.Before(op.ready) {
			running++
		}
	}
	if running >= maxRunningBulk {
		return nil, []bulkUserError{{Code: "LIMIT_REACHED",
			Msg: fmt.Sprintf("A maximum of %d bulk query operations can run at the same time per shop.", maxRunningBulk)}}
	}
	res := b.exec.Exec(context.WithValue(ctx, bulkModeKey{}, true), query, "", nil)
	if len(res.Errors) > 0 {
		return nil, []bulkUserError{{Code: "INVALID", Field: []string{"query"}, Msg: "Invalid bulk query: " + res.Errors[0].Message}}
	}
	b.seq++
	op := &bulkOperation{id: strconv.Itoa(4100 + b.seq), query: query, createdAt: now, ready: now.Add(b.delay)}
	op.base, _ = ctx.Value(baseKey{}).(string)
	var err error
	if op.file, op.objects, op.rootObjects, err = flattenJSONL(res.Data); err != nil {
		op.failed = true
	}
	if b.ops == nil {
		b.ops = map[string]*bulkOperation{}
	}
	b.ops[op.id], b.latest = op, op
	return op, nil
}

func (b *bulkOps) get(id string) *bulkOperation {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ops[id]
}

func (b *bulkOps) current() *bulkOperation {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.latest
}

// serveFile serves a completed operation's JSONL (GET /_bulk/{file}).
func (b *bulkOps) serveFile(w http.ResponseWriter, r *http.Request) {
	id, ok := bytes.CutSuffix([]byte(r.PathValue("file")), []byte(".jsonl"))
	op := b.get(string(id))
	if !ok || op == nil || b.now().Before(op.ready) || op.failed {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/jsonl")
	_, _ = w.Write(op.file)
}

// flattenJSONL turns a query's result into Shopify's bulk JSONL: the nodes of the root
// connection one per line, each nested connection's nodes on lines of their own after their
// parent, with __parentId.
func flattenJSONL(data json.RawMessage) ([]byte, int, int, error) {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(data, &root); err != nil || len(root) != 1 {
		return nil, 0, 0, fmt.Errorf("a bulk query selects one root connection")
	}
	var buf bytes.Buffer
	objects, roots := 0, 0
	for _, conn := range root {
		nodes, ok := connectionNodes(conn)
		if !ok {
			return nil, 0, 0, fmt.Errorf("a bulk query's root field must be a connection")
		}
		for _, n := range nodes {
			roots++
			if err := emitNode(&buf, n, "", &objects); err != nil {
				return nil, 0, 0, err
			}
		}
	}
	return buf.Bytes(), objects, roots, nil
}

// connectionNodes returns a connection's nodes (edges { node } or nodes), or false.
func connectionNodes(raw json.RawMessage) ([]map[string]json.RawMessage, bool) {
	var c struct {
		Edges *[]struct {
			Node map[string]json.RawMessage `json:"node"`
		} `json:"edges"`
		Nodes *[]map[string]json.RawMessage `json:"nodes"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return nil, false
	}
	switch {
	case c.Edges != nil:
		out := make([]map[string]json.RawMessage, len(*c.Edges))
		for i, e := range *c.Edges {
			out[i] = e.Node
		}
		return out, true
	case c.Nodes != nil:
		return *c.Nodes, true
	}
	return nil, false
}

func emitNode(buf *bytes.Buffer, node map[string]json.RawMessage, parent string, objects *int) error {
	children := map[string][]map[string]json.RawMessage{}
	for k, v := range node {
		if nodes, ok := connectionNodes(v); ok && bytes.HasPrefix(bytes.TrimSpace(v), []byte("{")) {
			children[k] = nodes
			delete(node, k)
		}
	}
	if parent != "" {
		node["__parentId"], _ = json.Marshal(parent)
	}
	line, err := json.Marshal(node)
	if err != nil {
		return err
	}
	buf.Write(line)
	buf.WriteByte('\n')
	*objects++
	var id string
	_ = json.Unmarshal(node["id"], &id)
	for _, nodes := range children {
		for _, n := range nodes {
			if err := emitNode(buf, n, id, objects); err != nil {
				return err
			}
		}
	}
	return nil
}
