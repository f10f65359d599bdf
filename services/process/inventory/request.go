package inventory

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// Request limits. The SKU and location counts are also what one warehouse system API call
// accepts, so a request never needs more than one call per SKU set.
const (
	maxSKUs         = 100
	maxSKULength    = 64
	maxLocations    = 50
	maxLocationLen  = 128
	defaultPageSize = 100
	maxPageSize     = 500
	maxTokenLength  = 1024

	maxChannelLength = 64
	maxIDLength      = 255
	maxReserveUnits  = 1_000_000
	maxMovementsPage = 500
	defaultMovePage  = 100
)

// violations collects a request's bad fields, so one answer names all of them. The error's
// reason is the first specific one found, "invalid_request" when there is none.
type violations struct {
	reason string
	fields []errs.FieldViolation
}

func (v *violations) add(field, description string) {
	v.fields = append(v.fields, errs.FieldViolation{Field: field, Description: description})
}

func (v *violations) addReason(reason, field, description string) {
	if v.reason == "" {
		v.reason = reason
	}
	v.add(field, description)
}

func (v *violations) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	reason := v.reason
	if reason == "" {
		reason = "invalid_request"
	}
	return errs.E(errs.Invalid, reason, "the request has invalid fields").WithFields(v.fields...)
}

// checkList checks a list of ids: at most maxN (more is reason tooMany), each 1..maxLen
// characters without control characters, none repeated.
func (v *violations) checkList(field string, ids []string, maxN, maxLen int, tooMany string) {
	if len(ids) > maxN {
		v.addReason(tooMany, field, fmt.Sprintf("must name at most %d", maxN))
	}
	first := make(map[string]int, len(ids))
	for i, id := range ids {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case id == "":
			v.add(at, "must not be empty")
			continue
		case utf8.RuneCountInString(id) > maxLen:
			v.add(at, fmt.Sprintf("must be at most %d characters", maxLen))
		case strings.ContainsFunc(id, unicode.IsControl):
			v.add(at, "must not contain control characters")
		}
		if j, dup := first[id]; dup {
			v.add(at, fmt.Sprintf("repeats %s[%d]", field, j))
		} else {
			first[id] = i
		}
	}
}

// checkSKUs checks a request's skus.
func (v *violations) checkSKUs(skus []string) {
	v.checkList("skus", skus, maxSKUs, maxSKULength, "too_many_skus")
}

// checkLocations checks a request's location_ids.
func (v *violations) checkLocations(locs []string) {
	v.checkList("location_ids", locs, maxLocations, maxLocationLen, "too_many_locations")
}

// checkChannel checks a request's channel (optional).
func (v *violations) checkChannel(ch string) {
	switch {
	case utf8.RuneCountInString(ch) > maxChannelLength:
		v.add("channel", fmt.Sprintf("must be at most %d characters", maxChannelLength))
	case strings.ContainsFunc(ch, unicode.IsControl):
		v.add("channel", "must not contain control characters")
	}
}

// checkID checks a required id field.
func (v *violations) checkID(field, id string, maxLen int) {
	switch {
	case id == "":
		v.add(field, "required")
	case utf8.RuneCountInString(id) > maxLen:
		v.add(field, fmt.Sprintf("must be at most %d characters", maxLen))
	case strings.ContainsFunc(id, unicode.IsControl):
		v.add(field, "must not contain control characters")
	}
}
