-- Search by business identifiers across every stored order (insight.go): the order number
-- (Shopify's name, "#1001"), the customer's email and the payment reference, read from the
-- canonical order the store keeps, folded to lower case where people type them.
CREATE INDEX order_store_name ON order_store (lower(json_extract(payload, '$.name')));
CREATE INDEX order_store_email ON order_store (lower(json_extract(payload, '$.customer.email')));
CREATE INDEX order_store_payment ON order_store (json_extract(payload, '$.payment_reference'));
