package productfeed

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationOwner owns the item master's tables in rb_schema_migrations.
const MigrationOwner = "productfeed"

// Migrate brings db to the item master's schema.
func Migrate(ctx context.Context, db *store.DB) error {
	if err := db.Migrate(ctx, MigrationOwner, migrations); err != nil {
		return fmt.Errorf("productfeed: migrate: %w", err)
	}
	return nil
}

// File statuses.
const (
	StatusProcessed   = "processed"
	StatusQuarantined = "quarantined"
)

// FileResult is what one file did.
type FileResult struct {
	ID         int64     `json:"id,string"`
	Name       string    `json:"name"`
	SHA256     string    `json:"sha256"`
	Kind       Kind      `json:"kind,omitempty"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Rows       int       `json:"rows"`
	Applied    int       `json:"applied"`
	Unchanged  int       `json:"unchanged"`
	Rejected   int       `json:"rejected"`
	ReceivedAt time.Time `json:"received_at"`
	// Duplicate is set when the same name and content were taken before: nothing was applied.
	Duplicate bool `json:"-"`
}

// Hash is a file's content hash as recorded.
func Hash(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// fileID derives a file version's id from its name and hash, so replicas taking the same file
// agree on it and the unique (name, sha256) key decides who recorded it first.
func fileID(name, hash string) int64 {
	h := sha256.Sum256([]byte(name + "\x00" + hash))
	return int64(binary.BigEndian.Uint64(h[:8]) >> 1)
}

// Store is the item master and the record of files taken.
type Store struct{ db *store.DB }

// NewStore reads and writes db (migrated with Migrate).
func NewStore(db *store.DB) *Store { return &Store{db: db} }

// Seen reports whether this name and content were recorded already.
func (s *Store) Seen(ctx context.Context, name, hash string) (FileResult, bool, error) {
	f, err := s.File(ctx, fileID(name, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return FileResult{}, false, nil
	}
	return f, err == nil, err
}

// Apply records a readable file and applies its rows in one transaction: a master row inserts
// or updates its SKU, a prices row updates a known SKU's price (an unknown SKU is rejected). A
// row equal to what is stored counts as unchanged and writes nothing.
func (s *Store) Apply(ctx context.Context, name, hash string, p Parsed, now time.Time) (FileResult, error) {
	res := FileResult{ID: fileID(name, hash), Name: name, SHA256: hash, Kind: p.Kind,
		Status: StatusProcessed, Rows: len(p.Rows) + len(p.Rejects), ReceivedAt: now.UTC()}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		res.Applied, res.Unchanged = 0, 0
		rejects := append([]Reject(nil), p.Rejects...)
		for _, row := range p.Rows {
			changed, rej, err := applyRow(ctx, tx, p.Kind, row, res.ID, now)
			if err != nil {
				return err
			}
			switch {
			case rej != nil:
				rejects = append(rejects, *rej)
			case changed:
				res.Applied++
			default:
				res.Unchanged++
			}
		}
		res.Rejected = len(rejects)
		if err := insertFile(ctx, tx, res); err != nil {
			return err
		}
		for _, r := range rejects {
			if _, err := tx.Exec(ctx, `INSERT INTO productfeed_rejects (file_id, line, column_name, value, reason)
				VALUES ($1, $2, $3, $4, $5)`, res.ID, r.Line, r.Column, r.Value, r.Reason); err != nil {
				return fmt.Errorf("productfeed: record reject: %w", err)
			}
		}
		return nil
	})
	if store.IsUniqueViolation(err) {
		// Another replica recorded this very file version between Seen and here.
		f, ferr := s.File(ctx, res.ID)
		f.Duplicate = true
		return f, ferr
	}
	return res, err
}

// Quarantine records a file that could not be read, with the reason.
func (s *Store) Quarantine(ctx context.Context, name, hash, reason string, now time.Time) (FileResult, error) {
	res := FileResult{ID: fileID(name, hash), Name: name, SHA256: hash, Status: StatusQuarantined,
		Reason: reason, ReceivedAt: now.UTC()}
	err := s.db.InTx(ctx, func(tx *store.Tx) error { return insertFile(ctx, tx, res) })
	if store.IsUniqueViolation(err) {
		res.Duplicate, err = true, nil
	}
	return res, err
}

func insertFile(ctx context.Context, tx *store.Tx, f FileResult) error {
	_, err := tx.Exec(ctx, `INSERT INTO productfeed_files (id, name, sha256, kind, status, reason,
		rows_total, applied, unchanged, rejected, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		f.ID, f.Name, f.SHA256, string(f.Kind), f.Status, f.Reason, f.Rows, f.Applied, f.Unchanged,
		f.Rejected, f.ReceivedAt)
	if err != nil {
		return fmt.Errorf("productfeed: record file: %w", err)
	}
	return nil
}

// applyRow writes one row unless the stored row already says the same.
func applyRow(ctx context.Context, tx *store.Tx, kind Kind, row Row, fileID int64, now time.Time) (bool, *Reject, error) {
	it := row.Item
	cur, err := getItem(ctx, tx.QueryRow, it.SKU)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, nil, err
	}
	if kind == Prices {
		if !found {
			return false, &Reject{Line: row.Line, Column: "sku", Value: it.SKU, Reason: "is not in the item master"}, nil
		}
		if cur.PriceMinor == it.PriceMinor && cur.Currency == it.Currency {
			return false, nil, nil
		}
		_, err := tx.Exec(ctx, `UPDATE item_master SET price_minor = $1, currency = $2, file_id = $3, updated_at = $4
			WHERE sku = $5`, it.PriceMinor, it.Currency, fileID, now.UTC(), it.SKU)
		return err == nil, nil, err
	}
	if found && cur == it {
		return false, nil, nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO item_master (sku, title, erp_item_id, variant_id, warehouse_sku,
		price_minor, currency, tax_code, active, file_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (sku) DO UPDATE SET title = excluded.title, erp_item_id = excluded.erp_item_id,
		variant_id = excluded.variant_id, warehouse_sku = excluded.warehouse_sku,
		price_minor = excluded.price_minor, currency = excluded.currency, tax_code = excluded.tax_code,
		active = excluded.active, file_id = excluded.file_id, updated_at = excluded.updated_at`,
		it.SKU, it.Title, it.ERPItemID, it.VariantID, it.WarehouseSKU, it.PriceMinor, it.Currency,
		it.TaxCode, it.Active, fileID, now.UTC())
	if err != nil {
		return false, nil, fmt.Errorf("productfeed: write item %s: %w", it.SKU, err)
	}
	return true, nil, nil
}

type queryRow func(ctx context.Context, query string, args ...any) *sql.Row

func getItem(ctx context.Context, q queryRow, sku string) (Item, error) {
	var it Item
	err := q(ctx, `SELECT sku, title, erp_item_id, variant_id, warehouse_sku, price_minor, currency,
		tax_code, active FROM item_master WHERE sku = $1`, sku).Scan(&it.SKU, &it.Title, &it.ERPItemID,
		&it.VariantID, &it.WarehouseSKU, &it.PriceMinor, &it.Currency, &it.TaxCode, &it.Active)
	return it, err
}

// Item returns one SKU's item master row (sql.ErrNoRows when unknown).
func (s *Store) Item(ctx context.Context, sku string) (Item, error) {
	return getItem(ctx, s.db.QueryRow, sku)
}

// File returns a recorded file version (sql.ErrNoRows when unknown).
func (s *Store) File(ctx context.Context, id int64) (FileResult, error) {
	var f FileResult
	var kind string
	err := s.db.QueryRow(ctx, `SELECT id, name, sha256, kind, status, reason, rows_total, applied,
		unchanged, rejected, received_at FROM productfeed_files WHERE id = $1`, id).Scan(&f.ID, &f.Name,
		&f.SHA256, &kind, &f.Status, &f.Reason, &f.Rows, &f.Applied, &f.Unchanged, &f.Rejected, &f.ReceivedAt)
	f.Kind = Kind(kind)
	return f, err
}

// Files returns the newest recorded files first, at most limit.
func (s *Store) Files(ctx context.Context, limit int) ([]FileResult, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM productfeed_files ORDER BY received_at DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]FileResult, 0, len(ids))
	for _, id := range ids {
		f, err := s.File(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Rejects returns a file's rejected rows in file order.
func (s *Store) Rejects(ctx context.Context, fileID int64) ([]Reject, error) {
	rows, err := s.db.Query(ctx, `SELECT line, column_name, value, reason FROM productfeed_rejects
		WHERE file_id = $1 ORDER BY line`, fileID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Reject
	for rows.Next() {
		var r Reject
		if err := rows.Scan(&r.Line, &r.Column, &r.Value, &r.Reason); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Items returns at most limit item master rows with SKUs after after, in SKU order.
func (s *Store) Items(ctx context.Context, after string, limit int) ([]Item, error) {
	rows, err := s.db.Query(ctx, `SELECT sku, title, erp_item_id, variant_id, warehouse_sku, price_minor, currency,
		tax_code, active FROM item_master WHERE sku > $1 ORDER BY sku LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var it Item
		if err := rows.Scan(&it.SKU, &it.Title, &it.ERPItemID, &it.VariantID, &it.WarehouseSKU, &it.PriceMinor,
			&it.Currency, &it.TaxCode, &it.Active); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}
