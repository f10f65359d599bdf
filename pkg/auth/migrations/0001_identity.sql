-- The local issuer's identity, shared by every gateway: signing keys (rotation, overlap,
-- retirement) and partner OAuth clients. Times are Unix microseconds, the same on both engines.
CREATE TABLE rb_identity_keys (
    kid         TEXT PRIMARY KEY,
    public_key  TEXT NOT NULL,  -- base64url of the raw Ed25519 public key
    private_key TEXT,           -- sealed PKCS#8 (see seal.go); NULL once retired
    created_us  BIGINT NOT NULL,
    retired_us  BIGINT
);

CREATE TABLE rb_identity_clients (
    client_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    scopes      TEXT NOT NULL,  -- space-separated, sorted
    secret_hash TEXT NOT NULL,
    created_us  BIGINT NOT NULL,
    revoked_us  BIGINT
);

-- Legacy files (a key directory, clients.json) imported once, by absolute path.
CREATE TABLE rb_identity_imports (
    source      TEXT PRIMARY KEY,
    imported_us BIGINT NOT NULL
);
