package netsuite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"

	"github.com/google/uuid"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// Writes go through NetSuite's async service, the only place NetSuite honours idempotency keys:
//
//	POST|PATCH …  Prefer: respond-async, X-NetSuite-Idempotency-Key: <uuid>
//	  → 202, Location: …/async/v1/job/<id>
//	  → or, for a key NetSuite has seen, 400 IDEMPOTENCY_ERROR with the earlier job in Location
//	GET …/job/<id>                       until completed
//	GET …/job/<id>/task                  the job's task
//	GET …/job/<id>/task/<id>/result      204 with the record's Location, or the write's error
//
// A repeat is resolved through the earlier job, so a caller retrying after a timeout, a crash or
// a maintenance window gets the record the first attempt created — never a second one.

// keyNamespace scopes the UUIDs derived from callers' idempotency keys (RFC 4122 version 5).
var keyNamespace = uuid.MustParse("37a7865e-cd3d-4234-9981-9266d75aaded")

// idempotencyKey is the X-NetSuite-Idempotency-Key for the caller's key on op. NetSuite wants an
// RFC 4122 UUID, so it is derived deterministically: the same call always sends the same key, and
// the same caller key used for two different operations never collides.
func idempotencyKey(op, key string) string {
	return uuid.NewSHA1(keyNamespace, []byte(op+"\x00"+key)).String()
}

// write is one asynchronous write.
type write struct {
	op     string // the operation, scoping the idempotency key
	key    string // the caller's idempotency key
	method string
	url    *url.URL
	body   any
	// record is the record type the URL addresses, so that "no such record" says which.
	record string
}

// submit sends w and waits, within ctx, for the record NetSuite created or changed; it returns
// that record's internal id.
func (c *Client) submit(ctx context.Context, w write) (string, error) {
	body, err := json.Marshal(w.body)
	if err != nil {
		return "", errs.Wrap(err, errs.Internal, "encode_failed", "")
	}
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Prefer", "respond-async")
	hdr.Set("X-NetSuite-Idempotency-Key", idempotencyKey(w.op, w.key))
	ans, err := c.call(ctx, request{method: w.method, url: w.url, body: body, header: hdr, record: w.record})
	var ve *vendorError
	var job string
	switch {
	case err == nil && ans.status == http.StatusAccepted:
		job = ans.header.Get("Location")
	case err == nil && ans.status == http.StatusNoContent:
		// NetSuite ran the write synchronously after all; the answer names the record.
		return c.recordID(ans.header.Get("Location"), "")
	case err == nil:
		return "", toErr(badPayload(fmt.Errorf("%s %s answered %d to an asynchronous write", w.method, w.url.Path, ans.status)))
	case errors.As(err, &ve) && ve.code == "IDEMPOTENCY_ERROR" && ve.location != "":
		c.repeats.Add(1)
		c.log.DebugContext(ctx, "netsuite recognised a repeated write; resolving the earlier job", "op", w.op, "job", ve.location)
		job = ve.location
	default:
		return "", err
	}
	jobURL, err := c.sameHost(job)
	if err != nil {
		return "", err
	}
	return c.await(ctx, jobURL, w.record)
}

// asyncJob is a job or task of the async service.
type asyncJob struct {
	ID        string `json:"id"`
	Completed bool   `json:"completed"`
	Progress  string `json:"progress"`
}

// taskList is a job's tasks.
type taskList struct {
	Items []struct {
		ID string `json:"id"`
	} `json:"items"`
}

// await polls job until it completes, within ctx, and reads its task's result: the id of the
// record written, or the write's own error (classified for record, the type the write addressed).
func (c *Client) await(ctx context.Context, job *url.URL, record string) (string, error) {
	for attempt := 1; ; attempt++ {
		var j asyncJob
		if err := c.get(ctx, job, &j, typeAsyncJob); err != nil {
			return "", err
		}
		if j.Completed {
			break
		}
		if err := vendorhttp.Sleep(ctx, c.poll.Delay(attempt)); err != nil {
			return "", toErr(err)
		}
	}
	tasksURL := job.JoinPath("task")
	var tasks taskList
	if err := c.get(ctx, tasksURL, &tasks, typeAsyncJob); err != nil {
		return "", err
	}
	if len(tasks.Items) == 0 || tasks.Items[0].ID == "" {
		return "", toErr(badPayload(fmt.Errorf("job %s lists no task", job.Path)))
	}
	ans, err := c.call(ctx, request{method: http.MethodGet, url: tasksURL.JoinPath(tasks.Items[0].ID, "result"), record: record})
	if err != nil {
		return "", err
	}
	var rec struct {
		ID string `json:"id"`
	}
	if len(bytes.TrimSpace(ans.body)) > 0 {
		_ = json.Unmarshal(ans.body, &rec) // a result may carry the record itself
	}
	return c.recordID(ans.header.Get("Location"), rec.ID)
}

// recordID is the internal id of a record NetSuite pointed at, from its Location or its id.
func (c *Client) recordID(location, id string) (string, error) {
	if location != "" {
		if u, err := c.sameHost(location); err == nil {
			id = path.Base(u.Path)
		}
	}
	if id == "" || id == "." || id == "/" {
		return "", toErr(badPayload(fmt.Errorf("the write's result names no record (Location %q)", location)))
	}
	return id, nil
}

// sameHost resolves a Location NetSuite sent against the account's base URL and refuses one that
// points anywhere else: the connector never sends its signed requests to a host an answer names.
func (c *Client) sameHost(location string) (*url.URL, error) {
	u, err := url.Parse(location)
	if err != nil {
		return nil, toErr(badPayload(fmt.Errorf("location %q: %w", location, err)))
	}
	u = c.base.ResolveReference(u)
	if u.Host != c.base.Host {
		return nil, toErr(badPayload(fmt.Errorf("location %q is not on the account's host %s", location, c.base.Host)))
	}
	u.Scheme = c.base.Scheme
	return u, nil
}
