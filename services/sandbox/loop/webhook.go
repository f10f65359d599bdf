package loop

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/webhooks"
)

// Webhook topic and triggers.
const (
	TopicReturn          = "return"
	TriggerReturnCreated = "return.created"
	TriggerReturnUpdated = "return.updated"
	TriggerReturnClosed  = "return.closed"
)

// Sign is the X-Loop-Signature of body: base64(HMAC-SHA256(secret, raw body)).
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// emitLocked raises a webhook with the return as it is now and returns its id. Every copy and
// retry sends these exact bytes.
func (s *Sandbox) emitLocked(trigger string, ret *returnRec) string {
	doc := s.docLocked(ret)
	doc.Topic, doc.Trigger, doc.WebhookID = TopicReturn, trigger, newWebhookID()
	body, err := json.Marshal(doc)
	if err != nil {
		return "" // a returnDoc always marshals
	}
	s.created.webhooks++
	s.hooks.Send(&webhooks.Delivery{ID: doc.WebhookID, Topic: trigger, Subject: strconv.FormatInt(ret.id, 10),
		CreatedAt: s.now(), Body: body})
	return doc.WebhookID
}

// signHeaders sets a delivery's headers, signing with the secret current at sending time.
func (s *Sandbox) signHeaders(h http.Header, d *webhooks.Delivery, _ time.Time) {
	s.mu.Lock()
	secret := s.secret
	s.mu.Unlock()
	h.Set("User-Agent", "Loop-Webhooks/sandbox")
	h.Set(HeaderSignature, Sign(secret, d.Body))
	h.Set(HeaderWebhookID, d.ID)
	h.Set(HeaderTopic, TopicReturn)
	h.Set(HeaderTrigger, d.Topic) // the dispatcher's topic is Loop's trigger
}

func equalSecret(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
