package warehouse

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Webhook topics.
const (
	TopicReceiptCreated       = "receipt.created"
	TopicInspectionCompleted  = "inspection.completed"
	TopicShipmentAcknowledged = "shipment.acknowledged"
	TopicShipmentShipped      = "shipment.shipped"
)

// DefaultSignatureTolerance is how old a signature receivers should accept.
const DefaultSignatureTolerance = 5 * time.Minute

// webhookDoc is a webhook body.
type webhookDoc struct {
	ID        string `json:"id"`
	Topic     string `json:"topic"`
	CreatedAt string `json:"created_at"`
	Data      any    `json:"data"`
}

// Sign is the X-Warehouse-Signature value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// emitLocked raises a webhook about subject carrying data as it is now. Every copy and retry
// sends these exact bytes.
func (s *Sandbox) emitLocked(topic, subject string, data any) {
	id := newWebhookID()
	body, err := json.Marshal(webhookDoc{ID: id, Topic: topic, CreatedAt: formatTime(s.now()), Data: data})
	if err != nil {
		return // the documents always marshal
	}
	s.created.webhooks++
	s.hooks.Send(&Delivery{ID: id, Topic: topic, Subject: subject, CreatedAt: s.now(), Body: body})
}

// signHeaders sets a delivery's headers, signed at the time of the attempt with the secret
// current then.
func (s *Sandbox) signHeaders(h http.Header, d *Delivery, at time.Time) {
	s.mu.Lock()
	secret := s.secret
	s.mu.Unlock()
	h.Set("User-Agent", "Warehouse-Webhooks/sandbox")
	h.Set(HeaderSignature, Sign(secret, at, d.Body))
	h.Set(HeaderDeliveryID, d.ID)
	h.Set(HeaderTopic, d.Topic)
}
