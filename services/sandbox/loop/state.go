package loop

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/state"
	"github.com/retailbridge/retailbridge/services/sandbox/webhooks"
)

// world is the returns platform as it is kept in the state file: returns, labels, the stored
// answers of idempotency keys and the id counter, so that a restarted platform neither forgets a
// return nor issues an id a previous run issued.
type world struct {
	Seq     int64                `json:"seq"`
	Returns []returnState        `json:"returns"` // oldest first
	Labels  []labelState         `json:"labels"`
	Idem    map[string]idemState `json:"idempotency"`
	Created map[string]int64     `json:"created"`
	// Webhooks are the webhooks still owed to the receiver; a restarted platform goes on
	// delivering them.
	Webhooks []webhooks.Delivery `json:"webhooks,omitempty"`
}

type returnState struct {
	ID         int64               `json:"id"`
	State      string              `json:"state"`
	Request    createReturnRequest `json:"request"`
	LineIDs    []int64             `json:"line_ids"`
	CreatedAt  time.Time           `json:"created_at"`
	UpdatedAt  time.Time           `json:"updated_at"`
	LabelID    int64               `json:"label_id,omitempty"` // the latest label
	HasExpired bool                `json:"has_expired,omitempty"`
}

type labelState struct {
	ID        int64     `json:"id"`
	ReturnID  int64     `json:"return_id"`
	Tracking  string    `json:"tracking"`
	URL       string    `json:"url"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type idemState struct {
	Fingerprint string `json:"fingerprint"`
	Status      int    `json:"status"`
	Body        []byte `json:"body"`
}

// snapshotLocked captures the world; the caller holds mu.
func (s *Sandbox) snapshotLocked() world {
	w := world{Seq: s.seq, Idem: map[string]idemState{},
		Created: map[string]int64{"returns": s.created.returns, "labels": s.created.labels, "webhooks": s.created.webhooks}}
	for _, id := range s.returnOrder {
		r := s.returns[id]
		rs := returnState{ID: r.id, State: r.state, Request: r.req, LineIDs: r.lineIDs, CreatedAt: r.createdAt,
			UpdatedAt: r.updatedAt, HasExpired: r.hasExpired}
		if r.label != nil {
			rs.LabelID = r.label.id
		}
		w.Returns = append(w.Returns, rs)
	}
	for _, l := range s.labels {
		w.Labels = append(w.Labels, labelState{ID: l.id, ReturnID: l.returnID, Tracking: l.tracking, URL: l.url,
			Status: l.status, CreatedAt: l.createdAt, UpdatedAt: l.updatedAt})
	}
	sortLabels(w.Labels) // an unchanged world encodes to the same bytes
	w.Webhooks = s.hooks.Pending()
	for k, rec := range s.idem.All {
		w.Idem[k] = idemState{Fingerprint: hex.EncodeToString(rec.fingerprint[:]), Status: rec.status, Body: rec.body}
	}
	return w
}

// restoreLocked replaces the platform with w and re-arms the auto-progress of parcels under way
// and the expiry of open returns; it runs in New, before the sandbox serves.
func (s *Sandbox) restoreLocked(w world) error {
	s.seq = w.Seq
	s.created.returns, s.created.labels, s.created.webhooks = w.Created["returns"], w.Created["labels"], w.Created["webhooks"]
	for _, ls := range w.Labels {
		s.labels[ls.ID] = &labelRec{id: ls.ID, returnID: ls.ReturnID, tracking: ls.Tracking, url: ls.URL, status: ls.Status,
			createdAt: ls.CreatedAt, updatedAt: ls.UpdatedAt}
		s.tracking.next() // the numbers a previous run gave out are not given out again
	}
	for _, rs := range w.Returns {
		r := &returnRec{id: rs.ID, state: rs.State, req: rs.Request, lineIDs: rs.LineIDs, createdAt: rs.CreatedAt,
			updatedAt: rs.UpdatedAt, hasExpired: rs.HasExpired}
		if rs.LabelID != 0 {
			if r.label = s.labels[rs.LabelID]; r.label == nil {
				return fmt.Errorf("loop sandbox state: return %d names unknown label %d", rs.ID, rs.LabelID)
			}
		}
		s.returns[r.id] = r
		s.returnOrder = append(s.returnOrder, r.id)
	}
	// A snapshot keeps no age: keys are restored in key order, the same on every restart.
	for _, k := range slices.Sorted(maps.Keys(w.Idem)) {
		is := w.Idem[k]
		fp, err := hex.DecodeString(is.Fingerprint)
		if err != nil || len(fp) != 32 {
			return fmt.Errorf("loop sandbox state: idempotency key %q: bad fingerprint", k)
		}
		rec := idemRec{status: is.Status, body: is.Body}
		copy(rec.fingerprint[:], fp)
		s.idem.Put(k, rec)
	}
	for _, id := range s.returnOrder {
		r := s.returns[id]
		if r.label != nil && r.state != StateCancelled && r.state != StateExpired {
			s.scheduleLabelLocked(r.label)
		}
		s.scheduleExpiryLocked(r)
	}
	s.hooks.Resume(w.Webhooks)
	return nil
}

// persistLocked writes the world to the state file (a no-op without one); the caller holds mu.
func (s *Sandbox) persistLocked() error {
	if s.state == nil {
		return nil
	}
	return s.state.Save(s.snapshotLocked())
}

// persist is persistLocked for callers that do not hold mu; concurrent callers share the disk's
// sync, and mu is not held while it syncs (state.File.Commit).
func (s *Sandbox) persist() error {
	return s.state.Commit(func() any {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.snapshotLocked()
	})
}

// loadLocked restores the world from f; false when there was none.
func (s *Sandbox) loadLocked(f *state.File) (bool, error) {
	var w world
	found, err := f.Load(&w)
	if err != nil || !found {
		return false, err
	}
	return true, s.restoreLocked(w)
}

func sortLabels(ls []labelState) {
	slices.SortFunc(ls, func(a, b labelState) int { return cmp.Compare(a.ID, b.ID) })
}
