package netsuite

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The REST web services' asynchronous processing: a write sent with `Prefer: respond-async` is
// answered 202 with the job's URL in Location, and its outcome is read from the job's task:
//
//	GET /services/rest/async/v1/job/{id}                    completed, progress (pending, succeeded, failed)
//	GET /services/rest/async/v1/job/{id}/task               the job's one task
//	GET /services/rest/async/v1/job/{id}/task/{id}          the task's progress
//	GET /services/rest/async/v1/job/{id}/task/{id}/result   the answer the write would have had:
//	                                                        204 with the record's Location, or the error
//
// X-NetSuite-Idempotency-Key (a UUID) is honoured on asynchronous writes only, as NetSuite does: a
// second write with a known key creates nothing and is answered 400 IDEMPOTENCY_ERROR with the
// earlier job in Location. The sandbox is stricter than the documentation in one respect: a key
// reused for a different request (method, path or body) gets the same error without a Location,
// so a client cannot mistake another request's record for its own.

const asyncPath = "/services/rest/async/v1/job/"

// job is one asynchronous write. The sandbox executes it when it arrives and reports it pending
// until the account's async delay has passed.
type job struct {
	id          string
	key         string
	fingerprint [sha256.Size]byte
	submitted   time.Time
	ready       time.Time // wall-clock time from which it reports completed
	out         outcome
	write       int // the journal entry it executed
}

func (j *job) completed(now time.Time) bool { return !now.Before(j.ready) }

func (j *job) progress(now time.Time) string {
	switch {
	case !j.completed(now):
		return "pending"
	case j.out.err != nil:
		return "failed"
	}
	return "succeeded"
}

// maxWriteBody bounds a write's body; NetSuite's limit is far larger, the sandbox's records small.
const maxWriteBody = 1 << 20

// serveWrite executes w now (synchronous) or as a job (Prefer: respond-async).
func (s *Sandbox) serveWrite(rw http.ResponseWriter, r *http.Request, w write) {
	raw, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxWriteBody))
	if err != nil {
		writeError(rw, http.StatusBadRequest, "INVALID_CONTENT", "The request body could not be read.")
		return
	}
	canonical, err := decodeBody(raw, &w.body)
	if err != nil {
		writeError(rw, http.StatusBadRequest, "INVALID_CONTENT", "Invalid content in the request body: "+err.Error())
		return
	}
	w.now = s.opts.Now()
	l := s.ledger
	if !preferAsync(r.Header.Get("Prefer")) {
		l.mu.Lock()
		out, _ := l.executeLogged(w, canonical)
		l.mu.Unlock()
		if err := l.commit(); err != nil { // before the answer, so a restart cannot forget what it reports
			writeUnrecorded(rw)
			return
		}
		s.writeOutcome(rw, r, out)
		return
	}
	key := r.Header.Get("X-NetSuite-Idempotency-Key")
	if key != "" && !isUUID(key) {
		writeError(rw, http.StatusBadRequest, "INVALID_HEADER",
			"The X-NetSuite-Idempotency-Key header must be a UUID as defined by RFC 4122.")
		return
	}
	fp := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), canonical...))

	l.mu.Lock()
	if prev, seen := l.byKey[key]; key != "" && seen {
		l.repeats++
		l.mu.Unlock()
		rw.Header().Set("Preference-Applied", "respond-async")
		detail := `A request with the same idempotency key is already submitted. See the "Location" header for a link to the previously submitted job`
		if prev.fingerprint == fp {
			rw.Header().Set("Location", s.selfURL(r, asyncPath+prev.id, nil))
		} else {
			detail = "A different request was already submitted with the same idempotency key."
		}
		writeJSON(rw, http.StatusBadRequest, "error", errorBody{
			Type: "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.10", Title: "Conflict",
			Status: http.StatusBadRequest, Details: []errorDetail{{Detail: detail, Code: "IDEMPOTENCY_ERROR"}},
		})
		return
	}
	now := time.Now()
	j := &job{id: strconv.Itoa(l.nextJob), key: key, fingerprint: fp, submitted: now,
		ready: now.Add(time.Duration(s.asyncDelay.Load()))}
	j.out, j.write = l.executeLogged(w, canonical)
	l.nextJob++
	l.addJob(j)
	l.mu.Unlock()
	if err := l.commit(); err != nil {
		writeUnrecorded(rw)
		return
	}

	rw.Header().Set("Preference-Applied", "respond-async")
	rw.Header().Set("Location", s.selfURL(r, asyncPath+j.id, nil))
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusAccepted)
}

// decodeBody reads a JSON object into v and returns its canonical form (keys sorted, numbers as
// written), so that two bodies meaning the same thing have the same fingerprint.
func decodeBody(raw []byte, v *recordIn) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic map[string]any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	dec = json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return nil, err
	}
	return json.Marshal(generic)
}

func preferAsync(prefer string) bool {
	for p := range strings.SplitSeq(prefer, ",") {
		if strings.EqualFold(strings.TrimSpace(p), "respond-async") {
			return true
		}
	}
	return false
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// writeOutcome answers a write as NetSuite does: 204 with the record's Location, or the error.
func (s *Sandbox) writeOutcome(w http.ResponseWriter, r *http.Request, out outcome) {
	if out.err != nil {
		writeJSON(w, out.status, "error", *out.err)
		return
	}
	w.Header().Set("Location", s.selfURL(r, recordPath+out.recordType+"/"+out.id, nil))
	w.WriteHeader(http.StatusNoContent)
}

type jobDoc struct {
	Links     []link `json:"links"`
	Completed bool   `json:"completed"`
	ID        string `json:"id"`
	Progress  string `json:"progress"`
	Task      *struct {
		Links []link `json:"links"`
	} `json:"task,omitempty"`
}

type taskDoc struct {
	Links     []link `json:"links"`
	Completed bool   `json:"completed"`
	ID        string `json:"id"`
	Progress  string `json:"progress"`
	StartTime string `json:"startTime"`
	EndTime   string `json:"endTime,omitempty"`
}

// serveJob serves the async service's job, task and result resources.
func (s *Sandbox) serveJob(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "The async service serves GET only.")
		return
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	l := s.ledger
	l.mu.Lock()
	j, ok := l.jobs[parts[0]]
	l.mu.Unlock()
	if !ok || len(parts) > 4 || len(parts) > 1 && parts[1] != "task" || len(parts) > 2 && parts[2] != j.id ||
		len(parts) == 4 && parts[3] != "result" {
		writeError(w, http.StatusNotFound, "NONEXISTENT_ID", "The record instance does not exist. Provide a valid record instance ID.")
		return
	}
	now := time.Now()
	jobURL := s.selfURL(r, asyncPath+j.id, nil)
	taskURL := jobURL + "/task/" + j.id // one task per job, numbered like it
	switch len(parts) {
	case 1:
		doc := jobDoc{Links: []link{{Rel: "self", Href: jobURL}}, Completed: j.completed(now), ID: j.id, Progress: j.progress(now)}
		doc.Task = &struct {
			Links []link `json:"links"`
		}{Links: []link{{Rel: "self", Href: jobURL + "/task"}}}
		writeJSON(w, http.StatusOK, "singular", doc)
	case 2:
		writeJSON(w, http.StatusOK, "collection", collection{
			Links: []link{{Rel: "self", Href: jobURL + "/task"}}, Count: 1, TotalResults: 1,
			Items: []listRef{{Links: []link{{Rel: "self", Href: taskURL}}, ID: j.id}},
		})
	case 3:
		doc := taskDoc{Links: []link{{Rel: "related", Href: taskURL + "/result"}, {Rel: "self", Href: taskURL}},
			Completed: j.completed(now), ID: j.id, Progress: j.progress(now), StartTime: stamp(j.submitted)}
		if doc.Completed {
			doc.EndTime = stamp(j.ready)
		}
		writeJSON(w, http.StatusOK, "singular", doc)
	case 4:
		if !j.completed(now) {
			writeError(w, http.StatusNotFound, "NONEXISTENT_ID", "The task has no result yet.")
			return
		}
		s.writeOutcome(w, r, j.out)
	}
}
