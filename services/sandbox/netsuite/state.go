package netsuite

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/state"
)

// world is the account as it is kept in the state file: a journal of every write the account
// executed, in order, and the asynchronous jobs that carried some of them. The sales orders the
// dataset implies are rebuilt from it (demo.Open reopens the same dataset), and replaying the
// journal on top gives back every record with its internal id and document number — the ledger's
// writes are deterministic in their input and clock — so external ids stay claimed, idempotency
// keys stay known and no id a previous run issued is issued again.
type world struct {
	Writes  []writeState `json:"writes"`
	Jobs    []jobState   `json:"jobs"`
	NextJob int          `json:"next_job"`
	Repeats int64        `json:"repeats"`
}

// writeState is one executed write.
type writeState struct {
	Method     string          `json:"method"`
	RecordType string          `json:"record_type"`
	ID         string          `json:"id,omitempty"`
	Transform  string          `json:"transform,omitempty"`
	Body       json.RawMessage `json:"body"` // canonical, as decodeBody returned it
	Now        time.Time       `json:"now"`
}

// jobState is an asynchronous job; Write indexes the journal entry it executed.
type jobState struct {
	ID          string    `json:"id"`
	Key         string    `json:"key,omitempty"`
	Fingerprint string    `json:"fingerprint"`
	Submitted   time.Time `json:"submitted"`
	Ready       time.Time `json:"ready"`
	Write       int       `json:"write"`
}

// executeLogged executes w and records it in the journal; the caller holds mu. It returns the
// outcome and the journal index of the write.
func (l *ledger) executeLogged(w write, canonical []byte) (outcome, int) {
	out := l.execute(w)
	l.journal = append(l.journal, writeState{Method: w.method, RecordType: w.recordType, ID: w.id,
		Transform: w.transform, Body: canonical, Now: w.now})
	return out, len(l.journal) - 1
}

// worldLocked captures the world, copied so it no longer changes; the caller holds mu.
func (l *ledger) worldLocked() world {
	w := world{Writes: slices.Clone(l.journal), NextJob: l.nextJob, Repeats: l.repeats}
	for _, id := range l.jobOrder {
		j := l.jobs[id]
		w.Jobs = append(w.Jobs, jobState{ID: j.id, Key: j.key, Fingerprint: hex.EncodeToString(j.fingerprint[:]),
			Submitted: j.submitted, Ready: j.ready, Write: j.write})
	}
	return w
}

// persistLocked writes the world to the state file (a no-op without one); the caller holds mu.
func (l *ledger) persistLocked() error {
	if l.state == nil {
		return nil
	}
	return l.state.Save(l.worldLocked())
}

// commit makes the writes executed so far durable, sharing the disk's sync with concurrent
// writers and without holding mu while it syncs (see state.File.Commit). The caller does not
// hold mu.
func (l *ledger) commit() error {
	return l.state.Commit(func() any {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.worldLocked()
	})
}

// restoreLocked replays w on the ledger the dataset gave; it runs in New, before the sandbox
// serves.
func (l *ledger) restoreLocked(w world) error {
	outcomes := make([]outcome, len(w.Writes))
	for i, ws := range w.Writes {
		wr := write{method: ws.Method, recordType: ws.RecordType, id: ws.ID, transform: ws.Transform, now: ws.Now}
		if _, err := decodeBody(ws.Body, &wr.body); err != nil {
			return fmt.Errorf("netsuite sandbox state: write %d: %w", i, err)
		}
		outcomes[i], _ = l.executeLogged(wr, ws.Body)
	}
	for _, js := range w.Jobs {
		fp, err := hex.DecodeString(js.Fingerprint)
		if err != nil || len(fp) != len(job{}.fingerprint) || js.Write < 0 || js.Write >= len(outcomes) {
			return fmt.Errorf("netsuite sandbox state: job %s is damaged", js.ID)
		}
		j := &job{id: js.ID, key: js.Key, submitted: js.Submitted, ready: js.Ready, out: outcomes[js.Write], write: js.Write}
		copy(j.fingerprint[:], fp)
		l.addJob(j)
	}
	l.nextJob, l.repeats = w.NextJob, w.Repeats
	return nil
}

// addJob files j; the caller holds mu.
func (l *ledger) addJob(j *job) {
	l.jobs[j.id] = j
	l.jobOrder = append(l.jobOrder, j.id)
	if j.key != "" {
		l.byKey[j.key] = j
	}
}

// load restores the world from f; false when there was none.
func (l *ledger) load(f *state.File) (bool, error) {
	var w world
	found, err := f.Load(&w)
	if err != nil || !found {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return true, l.restoreLocked(w)
}

// writeUnrecorded answers a write whose change could not be kept: NetSuite's unexpected error.
func writeUnrecorded(w http.ResponseWriter) {
	writeError(w, http.StatusInternalServerError, "UNEXPECTED_ERROR", "An unexpected error occurred: the account could not record the change.")
}
