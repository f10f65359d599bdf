package orders

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// taxTable is the tax configuration by jurisdiction (order_tax_codes): master data the
// enrichment step reads and support keeps.
type taxTable struct {
	db  *store.DB
	now func() time.Time
}

// jurisdictionOf is where the order is taxed: its shipping address's country and region
// ("US-CA"), or only the country.
func jurisdictionOf(o *canonicalv1.Order) string {
	a := o.GetShippingAddress()
	country := strings.ToUpper(a.GetCountryCode())
	if country == "" {
		return ""
	}
	if r := strings.ToUpper(a.GetRegion()); r != "" {
		return country + "-" + r
	}
	return country
}

// lookup finds the tax code of category in jurisdiction: the most specific entry of
// (jurisdiction, category), (jurisdiction, *), then the same for the country alone. "" when none.
func (t *taxTable) lookup(ctx context.Context, jurisdiction, category string) (string, error) {
	if jurisdiction == "" {
		return "", nil
	}
	places := []string{jurisdiction}
	if country, _, ok := strings.Cut(jurisdiction, "-"); ok {
		places = append(places, country)
	}
	for _, p := range places {
		for _, c := range []string{category, "*"} {
			var code string
			err := t.db.QueryRow(ctx, `SELECT tax_code FROM order_tax_codes WHERE jurisdiction = $1 AND category = $2`, p, c).Scan(&code)
			switch {
			case err == nil:
				return code, nil
			case !errors.Is(err, sql.ErrNoRows):
				return "", err
			}
		}
	}
	return "", nil
}

// put sets one entry in tx.
func (t *taxTable) put(ctx context.Context, tx *store.Tx, jurisdiction, category, code, actor string) error {
	_, err := tx.Exec(ctx, `INSERT INTO order_tax_codes (jurisdiction, category, tax_code, updated_at, updated_by)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (jurisdiction, category) DO UPDATE SET tax_code = $3, updated_at = $4, updated_by = $5`,
		strings.ToUpper(jurisdiction), category, code, t.now().UTC(), actor)
	return err
}
