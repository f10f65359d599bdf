package productfeed

import (
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// Handler serves the item master and the files' reports, read only, for support:
//
//	GET /v1/item-master/{sku}                  one SKU's row
//	GET /v1/product-feed/files                 the newest files taken (?limit=, at most 500)
//	GET /v1/product-feed/files/{id}            one file version's outcome
//	GET /v1/product-feed/files/{id}/rejects    its rejected rows (JSON, or CSV for Accept: text/csv)
func Handler(st *Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/item-master/{sku}", func(w http.ResponseWriter, r *http.Request) {
		it, err := st.Item(r.Context(), r.PathValue("sku"))
		if err != nil {
			fail(w, r, err, "sku_unknown", "no item master row for this SKU")
			return
		}
		writeJSON(w, itemJSON(it))
	})
	mux.HandleFunc("GET /v1/product-feed/files", func(w http.ResponseWriter, r *http.Request) {
		limit := 50
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 500 {
				errs.ProblemFor(errs.E(errs.Invalid, "bad_limit", "limit must be a whole number from 1 to 500").
					WithFields(errs.FieldViolation{Field: "limit", Description: "must be 1..500"})).For("", r.URL.Path).Write(w)
				return
			}
			limit = n
		}
		files, err := st.Files(r.Context(), limit)
		if err != nil {
			fail(w, r, err, "", "")
			return
		}
		writeJSON(w, map[string]any{"files": files})
	})
	mux.HandleFunc("GET /v1/product-feed/files/{id}", func(w http.ResponseWriter, r *http.Request) {
		if f, ok := fileOf(w, r, st); ok {
			writeJSON(w, f)
		}
	})
	mux.HandleFunc("GET /v1/product-feed/files/{id}/rejects", func(w http.ResponseWriter, r *http.Request) {
		f, ok := fileOf(w, r, st)
		if !ok {
			return
		}
		rejects, err := st.Rejects(r.Context(), f.ID)
		if err != nil {
			fail(w, r, err, "", "")
			return
		}
		if strings.Contains(r.Header.Get("Accept"), "text/csv") {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Write(ReportCSV(rejects))
			return
		}
		if rejects == nil {
			rejects = []Reject{}
		}
		writeJSON(w, map[string]any{"file": f, "rejects": rejects})
	})
	return mux
}

func fileOf(w http.ResponseWriter, r *http.Request, st *Store) (FileResult, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		errs.ProblemFor(errs.E(errs.Invalid, "bad_file_id", "a file id is a whole number").
			WithFields(errs.FieldViolation{Field: "id", Description: "must be a whole number"})).For("", r.URL.Path).Write(w)
		return FileResult{}, false
	}
	f, err := st.File(r.Context(), id)
	if err != nil {
		fail(w, r, err, "file_unknown", "no product feed file with this id")
		return FileResult{}, false
	}
	return f, true
}

// fail answers a store error: no row is the given not-found problem, anything else internal.
func fail(w http.ResponseWriter, r *http.Request, err error, reason, msg string) {
	if errors.Is(err, sql.ErrNoRows) && reason != "" {
		err = errs.E(errs.NotFound, reason, msg)
	}
	errs.ProblemFor(err).For("", r.URL.Path).Write(w)
}

func itemJSON(it Item) map[string]any {
	return map[string]any{"sku": it.SKU, "title": it.Title, "erp_item_id": it.ERPItemID,
		"variant_id": it.VariantID, "warehouse_sku": it.WarehouseSKU,
		"price": money.FormatDecimal(it.PriceMinor, it.Currency), "price_minor": it.PriceMinor,
		"currency": it.Currency, "tax_code": it.TaxCode, "active": it.Active}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
