package shopify

import (
	"slices"

	"github.com/graph-gophers/graphql-go"
)

// reasonDefinition is one entry of the shop's return reason library (ReturnReasonDefinition),
// which from API version 2026-04 replaces the ReturnReason enum on return line items
// (returnReasonDefinitionId in, returnReasonDefinition out). legacy is the enum value the entry
// reads back as through the deprecated returnReason field.
type reasonDefinition struct {
	id, handle, name, legacy string
	deleted                  bool
}

// reasonLibrary is the sandbox's library. Shopify documents the handle style and a few examples
// ("arrived-late", "comfort", "too-tight", "color-too-bright", "quality") but publishes no full list;
// the sandbox names one entry after each legacy enum value, plus the documented examples.
var reasonLibrary = []*reasonDefinition{
	{id: "1", handle: "color", name: "Color", legacy: "COLOR"},
	{id: "2", handle: "defective", name: "Damaged or defective", legacy: "DEFECTIVE"},
	{id: "3", handle: "not-as-described", name: "Item not as described", legacy: "NOT_AS_DESCRIBED"},
	{id: "4", handle: "other", name: "Other", legacy: "OTHER"},
	{id: "5", handle: "too-large", name: "Size was too large", legacy: "SIZE_TOO_LARGE"},
	{id: "6", handle: "too-small", name: "Size was too small", legacy: "SIZE_TOO_SMALL"},
	{id: "7", handle: "style", name: "Style", legacy: "STYLE"},
	{id: "8", handle: "unknown", name: "Unknown", legacy: "UNKNOWN", deleted: true},
	{id: "9", handle: "changed-mind", name: "Customer changed their mind", legacy: "UNWANTED"},
	{id: "10", handle: "wrong-item", name: "Received the wrong item", legacy: "WRONG_ITEM"},
	{id: "11", handle: "arrived-late", name: "Arrived late", legacy: "OTHER"},
	{id: "12", handle: "comfort", name: "Comfort", legacy: "OTHER"},
	{id: "13", handle: "too-tight", name: "Too tight", legacy: "SIZE_TOO_SMALL"},
	{id: "14", handle: "color-too-bright", name: "Color too bright", legacy: "COLOR"},
	{id: "15", handle: "quality", name: "Quality", legacy: "DEFECTIVE"},
}

func (d *reasonDefinition) ID() graphql.ID { return gid("ReturnReasonDefinition", d.id) }
func (d *reasonDefinition) Handle() string { return d.handle }
func (d *reasonDefinition) Name() string   { return d.name }
func (d *reasonDefinition) Deleted() bool  { return d.deleted }

// reasonByID finds a library entry by its global id.
func reasonByID(id graphql.ID) *reasonDefinition {
	n, err := parseGID("ReturnReasonDefinition", id)
	if err != nil {
		return nil
	}
	for _, d := range reasonLibrary {
		if d.id == n {
			return d
		}
	}
	return nil
}

// reasonFor reads a stored reason: a library handle when the line was created with
// returnReasonDefinitionId, else a legacy enum value (the first entry carrying it).
func reasonFor(stored string) *reasonDefinition {
	for _, d := range reasonLibrary {
		if d.handle == stored {
			return d
		}
	}
	for _, d := range reasonLibrary {
		if d.legacy == stored {
			return d
		}
	}
	return nil
}

type reasonArgs struct {
	First   *int32
	After   *string
	Last    *int32
	Before  *string
	Reverse bool
	Handles *[]string
}

func (r *rootResolver) ReturnReasonDefinitions(args reasonArgs) (*connection[*reasonDefinition], error) {
	list := reasonLibrary
	if args.Handles != nil {
		list = nil
		for _, d := range reasonLibrary {
			if slices.Contains(*args.Handles, d.handle) {
				list = append(list, d)
			}
		}
	}
	return paginate(list, func(d *reasonDefinition) string { return d.id },
		pageArgs{First: args.First, After: args.After, Last: args.Last, Before: args.Before, Reverse: args.Reverse})
}
