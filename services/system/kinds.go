// Package system is the table of system kinds: each kind's vendor registry (its vendors.go),
// in start order. Wiring, the gateway's webhook routes and the API document read it, so none of
// them names a vendor.
package system

import (
	"slices"

	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/system/commerce"
	"github.com/retailbridge/retailbridge/services/system/erp"
	"github.com/retailbridge/retailbridge/services/system/oms"
	"github.com/retailbridge/retailbridge/services/system/payments"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform"
	"github.com/retailbridge/retailbridge/services/system/wms"
)

// Kinds are the system kinds, in start order. They point at the kinds' registries, so what is
// registered there is what wiring, the gateway and the API document see.
var Kinds = []*vendors.Kind{&commerce.Kind, &erp.Kind, &payments.Kind, &returnsplatform.Kind, &wms.Kind, &oms.Kind}

// WebhookVendors maps every vendor that sends webhooks, of any kind, to its kind's name.
func WebhookVendors() map[string]string {
	out := map[string]string{}
	for _, k := range Kinds {
		for _, v := range k.Vendors {
			if v.Webhooks {
				out[v.Name] = k.Name
			}
		}
	}
	return out
}

// WebhookVendorNames lists the webhook vendors in kind order, for documents and messages.
func WebhookVendorNames() []string {
	var out []string
	for _, k := range Kinds {
		for _, v := range k.Vendors {
			if v.Webhooks && !slices.Contains(out, v.Name) {
				out = append(out, v.Name)
			}
		}
	}
	return out
}
