package loop

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Label statuses: EasyPost's tracker statuses, which Loop reports, and cancelled for a voided
// label.
const (
	LabelNew            = "new"
	LabelPreTransit     = "pre_transit"
	LabelInTransit      = "in_transit"
	LabelOutForDelivery = "out_for_delivery"
	LabelDelivered      = "delivered"
	LabelCancelled      = "cancelled"
)

// labelFlow is the order a parcel moves in.
var labelFlow = []string{LabelNew, LabelPreTransit, LabelInTransit, LabelOutForDelivery, LabelDelivered}

// Carrier is the carrier of every sandbox label.
const Carrier = "USPS"

type labelRec struct {
	id, returnID         int64
	tracking, url        string
	status               string
	createdAt, updatedAt time.Time
	gen                  int // bumped by every status change, so stale auto-progress timers do nothing
}

// unused reports whether the carrier has not scanned the parcel yet, so the label can be voided.
func (l *labelRec) unused() bool { return l.status == LabelNew || l.status == LabelPreTransit }

// labelDoc is a label as the API and the webhooks show it.
type labelDoc struct {
	ID             int64  `json:"id"`
	ReturnID       int64  `json:"return_id"`
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	LabelURL       string `json:"label_url"`
	Status         string `json:"status"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
}

func (l *labelRec) doc() labelDoc {
	return labelDoc{ID: l.id, ReturnID: l.returnID, Carrier: Carrier, TrackingNumber: l.tracking,
		LabelURL: l.url, Status: l.status, CreatedAt: l.createdAt.Format(timeLayout), UpdatedAt: l.updatedAt.Format(timeLayout)}
}

// nextStatus is the status after st in the flow.
func nextStatus(st string) (string, bool) {
	for i, s := range labelFlow[:len(labelFlow)-1] {
		if s == st {
			return labelFlow[i+1], true
		}
	}
	return "", false
}

func (s *Sandbox) handleCreateLabel(w http.ResponseWriter, r *http.Request) {
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ret, ok := s.returnLocked(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "return_not_found", "Return not found.", nil)
		return
	}
	fp := sha256.Sum256([]byte(strconv.FormatInt(ret.id, 10)))
	if s.replayLocked(w, "labels", key, fp) {
		return
	}
	if ret.state != StateOpen {
		writeStateError(w, invalidState(ret, "given a label"))
		return
	}
	if l := ret.label; l != nil && l.status != LabelCancelled {
		writeError(w, http.StatusConflict, "label_exists", "The return already has an active label; void it first.", nil)
		return
	}
	now := s.now()
	s.seq++
	l := &labelRec{id: 500000 + s.seq, returnID: ret.id, tracking: s.tracking.next(), status: LabelNew,
		createdAt: now, updatedAt: now}
	l.url = fmt.Sprintf("%s/labels/%d.pdf", strings.TrimRight(s.opts.LabelBaseURL, "/"), l.id)
	s.labels[l.id] = l
	ret.label = l
	ret.updatedAt = now
	s.created.labels++
	s.emitLocked(TriggerReturnUpdated, ret)
	s.scheduleLabelLocked(l)
	s.scheduleExpiryLocked(ret)
	s.answerLocked(w, "labels", key, fp, http.StatusCreated, l.doc())
}

func (s *Sandbox) handleVoidLabel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.labelLocked(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "label_not_found", "Label not found.", nil)
		return
	}
	if err := s.voidLocked(l); err != nil {
		writeStateError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, l.doc())
}

// voidLocked cancels an unused label; voiding a voided label changes nothing.
func (s *Sandbox) voidLocked(l *labelRec) error {
	switch {
	case l.status == LabelCancelled:
		return nil
	case !l.unused():
		return &stateError{code: "label_in_use", msg: fmt.Sprintf("A label that is %s cannot be voided.", l.status)}
	}
	s.setLabelStatusLocked(l, LabelCancelled)
	ret := s.returns[l.returnID]
	ret.updatedAt = l.updatedAt
	s.emitLocked(TriggerReturnUpdated, ret)
	return nil
}

// stepLocked moves a return's parcel one status on and announces it.
func (s *Sandbox) stepLocked(ret *returnRec) (string, error) {
	l := ret.label
	if l == nil {
		return "", &stateError{code: "no_label", msg: "The return has no label."}
	}
	if ret.state == StateCancelled || ret.state == StateExpired {
		return "", invalidState(ret, "shipped")
	}
	next, ok := nextStatus(l.status)
	if !ok {
		return "", &stateError{code: "label_final", msg: fmt.Sprintf("A label that is %s does not move.", l.status)}
	}
	s.setLabelStatusLocked(l, next)
	ret.updatedAt = l.updatedAt
	s.emitLocked(TriggerReturnUpdated, ret)
	s.scheduleLabelLocked(l)
	return next, nil
}

func (s *Sandbox) setLabelStatusLocked(l *labelRec, status string) {
	l.status = status
	l.updatedAt = s.now()
	l.gen++
	s.stopTimerLocked(labelTimer(l.id))
}

// scheduleLabelLocked arms the label's next auto-progress step.
func (s *Sandbox) scheduleLabelLocked(l *labelRec) {
	if s.manual || s.closed {
		return
	}
	next, ok := nextStatus(l.status)
	if !ok {
		return
	}
	d := s.delays.into(next)
	if d < 0 {
		return
	}
	gen, id := l.gen, l.id
	s.startTimerLocked(labelTimer(id), d, func() {
		l := s.labels[id]
		if ret := s.returns[l.returnID]; l.gen == gen && ret.label == l {
			_, _ = s.stepLocked(ret)
		}
	})
}

func labelTimer(id int64) string { return "label " + strconv.FormatInt(id, 10) }

func (s *Sandbox) labelLocked(id string) (*labelRec, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, false
	}
	l, ok := s.labels[n]
	return l, ok
}

// trackingNumbers makes USPS-style 22-digit tracking numbers from the seed.
type trackingNumbers struct{ rng *rand.Rand }

func newTrackingNumbers(seed uint64) *trackingNumbers {
	return &trackingNumbers{rng: rand.New(rand.NewPCG(seed, 3))}
}

func (t *trackingNumbers) next() string {
	var b strings.Builder
	b.WriteString("9405")
	for range 18 {
		b.WriteByte(byte('0' + t.rng.IntN(10)))
	}
	return b.String()
}
