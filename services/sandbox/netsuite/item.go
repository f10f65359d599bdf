package netsuite

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

const recordPath = "/services/rest/record/v1/"

// inventoryItem is the REST record, with NetSuite's field names and Retailbridge's item custom
// fields (custitem_rb_…) carrying the return-policy attributes.
type inventoryItem struct {
	Links            []link      `json:"links"`
	ID               string      `json:"id"`
	ItemID           string      `json:"itemId"`
	ExternalID       string      `json:"externalId"`
	DisplayName      string      `json:"displayName"`
	ItemType         ref         `json:"itemType"`
	IsInactive       bool        `json:"isInactive"`
	BasePrice        json.Number `json:"basePrice"`
	CreatedDate      string      `json:"createdDate"`
	LastModifiedDate string      `json:"lastModifiedDate"`
	Returnable       bool        `json:"custitem_rb_returnable"`
	FinalSale        bool        `json:"custitem_rb_final_sale"`
	// WindowDays is left out when the category's window applies, as NetSuite leaves out empty fields.
	WindowDays     int  `json:"custitem_rb_return_window_days,omitempty"`
	ReturnCategory *ref `json:"custitem_rb_return_category,omitempty"`
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// ref is a reference to another record or a custom list value.
type ref struct {
	ID      string `json:"id"`
	RefName string `json:"refName"`
}

// collection is a page of a record listing: references only, as NetSuite lists them.
type collection struct {
	Links        []link    `json:"links"`
	Count        int       `json:"count"`
	HasMore      bool      `json:"hasMore"`
	Items        []listRef `json:"items"`
	Offset       int       `json:"offset"`
	TotalResults int       `json:"totalResults"`
}

type listRef struct {
	Links []link `json:"links"`
	ID    string `json:"id"`
}

// returnCategories is the custom list behind custitem_rb_return_category; list value ids are
// positions, names are what a NetSuite administrator would type.
var returnCategories = []string{"apparel", "footwear", "accessories", "electronics", "home", "beauty", "gift_card"}

func toReturnCategory(category string) *ref {
	for i, c := range returnCategories {
		if c == category {
			words := strings.Split(c, "_")
			for j, w := range words {
				words[j] = strings.ToUpper(w[:1]) + w[1:]
			}
			return &ref{ID: strconv.Itoa(i + 1), RefName: strings.Join(words, " ")}
		}
	}
	return nil
}

// toInventoryItem renders a demo item. The catalogue was last touched when it was generated.
func (s *Sandbox) toInventoryItem(it demo.Item, self string) inventoryItem {
	stamp := s.asOf.Format("2006-01-02T15:04:05Z")
	return inventoryItem{
		Links:            []link{{Rel: "self", Href: self}},
		ID:               it.ERPID,
		ItemID:           it.SKU,
		ExternalID:       it.SKU,
		DisplayName:      it.Title,
		ItemType:         ref{ID: "InvtPart", RefName: "Inventory Item"},
		BasePrice:        json.Number(money.FormatDecimal(it.PriceMinor, "USD")),
		CreatedDate:      stamp,
		LastModifiedDate: stamp,
		Returnable:       it.Returnable,
		FinalSale:        it.FinalSale,
		WindowDays:       it.WindowDays,
		ReturnCategory:   toReturnCategory(it.Category),
	}
}

// routeItems serves the inventory item records: one by id, or a listing.
func (s *Sandbox) routeItems(w http.ResponseWriter, r *http.Request, id string, hasID bool) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
			"The sandbox serves "+r.Method+" on no inventory item; only GET is emulated.")
		return
	}
	if !hasID {
		s.listItems(w, r)
		return
	}
	s.getItem(w, r, id)
}

func (s *Sandbox) getItem(w http.ResponseWriter, r *http.Request, id string) {
	var (
		i  int
		ok bool
	)
	if ext, isExt := strings.CutPrefix(id, "eid:"); isExt {
		i, ok = s.bySKU[ext]
	} else {
		i, ok = s.byID[id]
	}
	if !ok {
		writeError(w, http.StatusNotFound, "NONEXISTENT_ID",
			"The record instance does not exist. Provide a valid record instance ID.")
		return
	}
	it := s.items[i]
	writeJSON(w, http.StatusOK, "singular", s.toInventoryItem(it, s.selfURL(r, recordPath+"inventoryItem/"+it.ERPID, nil)))
}

// query is the part of NetSuite's q syntax the sandbox understands: one `field OP "value"`.
var query = regexp.MustCompile(`^\s*(id|itemId|externalId|displayName)\s+(IS|START_WITH|CONTAIN)\s+"([^"]*)"\s*$`)

func (s *Sandbox) listItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset := 1000, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER", "The limit must be a number from 1 to 1000.")
			return
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER", "The offset must be a non-negative number.")
			return
		}
		offset = n
	}
	match := func(demo.Item) bool { return true }
	if expr := q.Get("q"); expr != "" {
		m := query.FindStringSubmatch(expr)
		if m == nil {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER",
				`Invalid query. The sandbox understands one condition: field IS|START_WITH|CONTAIN "value".`)
			return
		}
		field, op, val := m[1], m[2], m[3]
		match = func(it demo.Item) bool {
			v := map[string]string{"id": it.ERPID, "itemId": it.SKU, "externalId": it.SKU, "displayName": it.Title}[field]
			switch op {
			case "IS":
				return v == val
			case "START_WITH":
				return strings.HasPrefix(v, val)
			}
			return strings.Contains(strings.ToLower(v), strings.ToLower(val))
		}
	}
	var hits []demo.Item
	for _, it := range s.items {
		if match(it) {
			hits = append(hits, it)
		}
	}
	page := collection{Items: []listRef{}, Offset: offset, TotalResults: len(hits)}
	if offset < len(hits) {
		end := min(offset+limit, len(hits))
		for _, it := range hits[offset:end] {
			self := s.selfURL(r, recordPath+"inventoryItem/"+it.ERPID, nil)
			page.Items = append(page.Items, listRef{Links: []link{{Rel: "self", Href: self}}, ID: it.ERPID})
		}
		page.HasMore = end < len(hits)
	}
	page.Count = len(page.Items)
	pageURL := func(off int) string {
		v := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(off)}}
		if expr := q.Get("q"); expr != "" {
			v.Set("q", expr)
		}
		return s.selfURL(r, r.URL.Path, v)
	}
	if offset > 0 {
		page.Links = append(page.Links, link{Rel: "previous", Href: pageURL(max(0, offset-limit))})
	}
	if page.HasMore {
		page.Links = append(page.Links, link{Rel: "next", Href: pageURL(offset + limit)})
	}
	page.Links = append(page.Links, link{Rel: "self", Href: pageURL(offset)})
	writeJSON(w, http.StatusOK, "collection", page)
}

func (s *Sandbox) selfURL(r *http.Request, path string, q url.Values) string {
	u := url.URL{Scheme: "http", Host: r.Host, Path: path, RawQuery: q.Encode()}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return u.String()
}
