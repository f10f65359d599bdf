package console

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/retailbridge/retailbridge/pkg/errs"

	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// note reads the form's note: required, at most 1000 characters.
func note(r *http.Request) (string, error) {
	n := strings.TrimSpace(r.PostFormValue("note"))
	if n == "" || utf8.RuneCountInString(n) > 1000 {
		return "", errs.E(errs.Invalid, "note_required", "say why in the note (at most 1000 characters)")
	}
	return n, nil
}

func returnURL(id string) string { return "/console/returns/" + url.PathEscape(id) }

// resolveException approves or denies a return held for customer service.
func (c *Console) resolveException(r *http.Request, _ *session) result {
	id := r.PathValue("id")
	approve := r.PostFormValue("decision") == "approve"
	verb := map[bool]string{true: "approve", false: "deny"}[approve]
	res := result{Redirect: returnURL(id), Audit: "resolve-exception " + id + " " + verb}
	n, err := note(r)
	if err != nil {
		res.Err = err
		return res
	}
	if d := r.PostFormValue("decision"); d != "approve" && d != "deny" {
		res.Err = errs.E(errs.Invalid, "decision_required", "choose approve or deny")
		return res
	}
	_, res.Err = c.deps.Returns.ResolveException(r.Context(), &returnsv1.ResolveExceptionRequest{ReturnId: id, Approve: approve, Note: n})
	res.Flash = "Exception " + verb + "d."
	if !approve {
		res.Flash = "Exception denied."
	}
	return res
}

// cancelReturn cancels a return before its receipt.
func (c *Console) cancelReturn(r *http.Request, _ *session) result {
	id := r.PathValue("id")
	res := result{Redirect: returnURL(id), Audit: "cancel-return " + id}
	n, err := note(r)
	if err != nil {
		res.Err = err
		return res
	}
	_, res.Err = c.deps.Returns.CancelReturn(r.Context(), &returnsv1.CancelReturnRequest{ReturnId: id, Note: n})
	res.Flash = "Return cancelled."
	return res
}

// resolveRefund decides a refund the payment gateway failed: refund again, or settled another way.
func (c *Console) resolveRefund(r *http.Request, _ *session) result {
	id := r.PathValue("id")
	how := r.PostFormValue("resolution")
	res := result{Redirect: returnURL(id), Audit: "resolve-refund " + id + " " + how}
	resolution := map[string]returnsv1.RefundResolution{
		"retry": returnsv1.RefundResolution_REFUND_RESOLUTION_RETRY, "settled_outside": returnsv1.RefundResolution_REFUND_RESOLUTION_SETTLED_OUTSIDE,
	}[how]
	n, err := note(r)
	switch {
	case err != nil:
		res.Err = err
		return res
	case resolution == returnsv1.RefundResolution_REFUND_RESOLUTION_UNSPECIFIED:
		res.Err = errs.E(errs.Invalid, "resolution_required", "choose to refund again or to record a settlement outside the gateway")
		return res
	}
	_, res.Err = c.deps.Returns.ResolveRefund(r.Context(), &returnsv1.ResolveRefundRequest{ReturnId: id, Resolution: resolution, Note: n})
	res.Flash = "Refund resolved (" + how + ")."
	return res
}

// assignException makes an agent or team own a return waiting for people.
func (c *Console) assignException(r *http.Request, s *session) result {
	id := r.PathValue("id")
	to := strings.TrimSpace(r.PostFormValue("assignee"))
	res := result{Redirect: returnURL(id), Audit: "assign " + id + " to " + to}
	if back := r.PostFormValue("back"); back == "exceptions" {
		res.Redirect = "/console/exceptions"
	}
	if utf8.RuneCountInString(to) > 64 || strings.ContainsAny(to, "\r\n\t") {
		res.Err = errs.E(errs.Invalid, "assignee_invalid", "an agent or team name has at most 64 characters")
		return res
	}
	// The return must exist and be visible to the agent.
	if _, err := c.deps.Returns.GetReturn(r.Context(), &returnsv1.GetReturnRequest{ReturnId: id}); err != nil {
		res.Err = err
		return res
	}
	res.Err = c.assign.set(r.Context(), ownReturn, id, to, s.Agent)
	res.Flash = "Assigned to " + to + "."
	if to == "" {
		res.Flash = "Assignment released."
	}
	return res
}
