-- The tax configuration the order workflow enriches orders with: an ERP tax code per
-- jurisdiction (country, or country-region) and item category ('*' for every category without
-- its own row). Master data: support or finance keeps it; held orders are retried when it changes.
CREATE TABLE order_tax_codes (
    jurisdiction TEXT NOT NULL,
    category     TEXT NOT NULL,
    tax_code     TEXT NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    updated_by   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (jurisdiction, category)
);
