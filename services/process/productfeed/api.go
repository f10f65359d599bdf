package productfeed

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"strconv"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// ScopeSupportRead is the support scope the read API needs.
const ScopeSupportRead = "support:read"

// Page sizes of the read API.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// API serves retailbridge.process.inventory.v1.ProductFeedService over the store: support reads
// the item master and each file's outcome and rejects report through the gateway.
type API struct {
	inventoryv1.UnimplementedProductFeedServiceServer
	st *Store
}

// NewAPI returns the read API over st.
func NewAPI(st *Store) *API { return &API{st: st} }

var _ inventoryv1.ProductFeedServiceServer = (*API)(nil)

// supportRead admits support principals with support:read.
func supportRead(ctx context.Context) error {
	p, ok := auth.FromContext(ctx)
	switch {
	case !ok:
		return errs.E(errs.Unauthenticated, "unauthenticated", "a support token is required")
	case p.Audience != auth.Support:
		return errs.E(errs.PermissionDenied, "support_only", "the product feed is for support")
	case !p.HasScope(ScopeSupportRead):
		return errs.E(errs.PermissionDenied, "insufficient_scope", "this needs the "+ScopeSupportRead+" scope")
	}
	return nil
}

func pageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return defaultPageSize, nil
	case n < 1 || n > maxPageSize:
		return 0, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").
			WithFields(errs.FieldViolation{Field: "page_size", Description: "must be 1 to 500"})
	}
	return int(n), nil
}

// ListItemMaster pages through the item master by SKU; the page token is the last SKU shown.
func (a *API) ListItemMaster(ctx context.Context, req *inventoryv1.ListItemMasterRequest) (*inventoryv1.ListItemMasterResponse, error) {
	if err := supportRead(ctx); err != nil {
		return nil, err
	}
	n, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := base64.RawURLEncoding.DecodeString(req.GetPageToken())
	if err != nil {
		return nil, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").
			WithFields(errs.FieldViolation{Field: "page_token", Description: "is not a token this API gave"})
	}
	items, err := a.st.Items(ctx, string(after), n+1)
	if err != nil {
		return nil, errs.Wrap(err, errs.Unavailable, "store_unavailable", "")
	}
	resp := &inventoryv1.ListItemMasterResponse{}
	if len(items) > n {
		items = items[:n]
		resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(items[n-1].SKU))
	}
	for _, it := range items {
		resp.Items = append(resp.Items, toProtoItem(it))
	}
	return resp, nil
}

// GetItemMaster reads one SKU's row; an unknown SKU is NotFound "sku_unknown".
func (a *API) GetItemMaster(ctx context.Context, req *inventoryv1.GetItemMasterRequest) (*inventoryv1.GetItemMasterResponse, error) {
	if err := supportRead(ctx); err != nil {
		return nil, err
	}
	it, err := a.st.Item(ctx, req.GetSku())
	if err != nil {
		return nil, storeErr(err, "sku_unknown", "no item master row for this SKU")
	}
	return &inventoryv1.GetItemMasterResponse{Item: toProtoItem(it)}, nil
}

// ListFeedFiles lists the newest file versions taken.
func (a *API) ListFeedFiles(ctx context.Context, req *inventoryv1.ListFeedFilesRequest) (*inventoryv1.ListFeedFilesResponse, error) {
	if err := supportRead(ctx); err != nil {
		return nil, err
	}
	n, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	files, err := a.st.Files(ctx, n)
	if err != nil {
		return nil, errs.Wrap(err, errs.Unavailable, "store_unavailable", "")
	}
	resp := &inventoryv1.ListFeedFilesResponse{Files: []*inventoryv1.FeedFile{}}
	for _, f := range files {
		resp.Files = append(resp.Files, toProtoFile(f))
	}
	return resp, nil
}

// GetFeedFile reads one file version's outcome.
func (a *API) GetFeedFile(ctx context.Context, req *inventoryv1.GetFeedFileRequest) (*inventoryv1.GetFeedFileResponse, error) {
	f, err := a.file(ctx, req.GetFileId())
	if err != nil {
		return nil, err
	}
	return &inventoryv1.GetFeedFileResponse{File: toProtoFile(f)}, nil
}

// ListFeedRejects reads a file version's rejects report.
func (a *API) ListFeedRejects(ctx context.Context, req *inventoryv1.ListFeedRejectsRequest) (*inventoryv1.ListFeedRejectsResponse, error) {
	f, err := a.file(ctx, req.GetFileId())
	if err != nil {
		return nil, err
	}
	rejects, err := a.st.Rejects(ctx, f.ID)
	if err != nil {
		return nil, errs.Wrap(err, errs.Unavailable, "store_unavailable", "")
	}
	resp := &inventoryv1.ListFeedRejectsResponse{File: toProtoFile(f), Rejects: []*inventoryv1.FeedReject{}}
	for _, r := range rejects {
		resp.Rejects = append(resp.Rejects, &inventoryv1.FeedReject{Row: int32(r.Line), Column: r.Column, Value: r.Value, Reason: r.Reason})
	}
	return resp, nil
}

// file checks the caller and reads file version id; a malformed id is Invalid, an unknown one
// NotFound "file_unknown".
func (a *API) file(ctx context.Context, id string) (FileResult, error) {
	if err := supportRead(ctx); err != nil {
		return FileResult{}, err
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return FileResult{}, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").
			WithFields(errs.FieldViolation{Field: "file_id", Description: "must be a whole number"})
	}
	f, err := a.st.File(ctx, n)
	if err != nil {
		return FileResult{}, storeErr(err, "file_unknown", "no product feed file with this id")
	}
	return f, nil
}

// storeErr maps no row to NotFound with reason, anything else to Unavailable.
func storeErr(err error, reason, msg string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, reason, msg)
	}
	return errs.Wrap(err, errs.Unavailable, "store_unavailable", "")
}

func toProtoItem(it Item) *inventoryv1.ItemMasterRow {
	return &inventoryv1.ItemMasterRow{Sku: it.SKU, Title: it.Title, ErpItemId: it.ERPItemID, VariantId: it.VariantID,
		WarehouseSku: it.WarehouseSKU, Price: money.FormatDecimal(it.PriceMinor, it.Currency), PriceMinor: it.PriceMinor,
		Currency: it.Currency, TaxCode: it.TaxCode, Active: it.Active}
}

func toProtoFile(f FileResult) *inventoryv1.FeedFile {
	return &inventoryv1.FeedFile{FileId: strconv.FormatInt(f.ID, 10), Name: f.Name, Sha256: f.SHA256, Kind: string(f.Kind),
		Status: f.Status, Reason: f.Reason, Rows: int32(f.Rows), Applied: int32(f.Applied), Unchanged: int32(f.Unchanged),
		Rejected: int32(f.Rejected), ReceivedAt: timestamppb.New(f.ReceivedAt)}
}
