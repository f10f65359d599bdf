-- Settlement (settlement.go): the payment platform's payouts, each balance transaction they paid
-- out with the order or refund it matched, and every mismatch found. Rows are keyed by the
-- platform's ids, so a run that sees the same payout again changes nothing. Times are Unix
-- microseconds.
CREATE TABLE settlement_payouts (
    payout_id   TEXT PRIMARY KEY,
    currency    TEXT NOT NULL,
    amount      BIGINT NOT NULL,  -- minor units paid to the bank
    created_us  BIGINT NOT NULL,
    lines       INTEGER NOT NULL,
    mismatches  INTEGER NOT NULL, -- mismatches found on its lines and on the payout itself
    checked_us  BIGINT NOT NULL
);
CREATE INDEX settlement_payouts_created ON settlement_payouts (created_us, payout_id);

CREATE TABLE settlement_lines (
    txn_id            TEXT PRIMARY KEY,
    payout_id         TEXT NOT NULL,
    type              TEXT NOT NULL,   -- charge, refund, adjustment…
    amount            BIGINT NOT NULL,
    fee               BIGINT NOT NULL,
    payment_reference TEXT NOT NULL,   -- the payment intent the line belongs to
    order_id          TEXT NOT NULL,   -- empty when no order holds the reference
    status            TEXT NOT NULL    -- matched, no_order, fee_mismatch
);
CREATE INDEX settlement_lines_payout ON settlement_lines (payout_id, txn_id);
CREATE INDEX settlement_lines_reference ON settlement_lines (payment_reference);

-- One row per problem: (kind, subject) is the problem's identity, so it is reported once.
CREATE TABLE settlement_mismatches (
    kind      TEXT NOT NULL,   -- no_order, fee_mismatch, not_paid_out, no_deposit
    subject   TEXT NOT NULL,   -- the balance transaction, order or payout concerned
    payout_id TEXT NOT NULL,
    detail    TEXT NOT NULL,
    found_us  BIGINT NOT NULL,
    PRIMARY KEY (kind, subject)
);
CREATE INDEX settlement_mismatches_found ON settlement_mismatches (found_us, kind, subject);
