-- Shandu gateway store, version 1. Chain ids and nonces are u64: numeric(20,0), never bigint (signed).
-- Every table is append-only except log_head (one row, the serialisation point for attestations) and
-- attestations.published_at.

CREATE TABLE batch_candidates (
  src numeric(20,0) NOT NULL,
  dst numeric(20,0) NOT NULL,
  first_nonce numeric(20,0) NOT NULL,
  last_nonce numeric(20,0) NOT NULL,
  root bytea NOT NULL,
  -- Canonical message encodings, each prefixed with its length as u32 big-endian.
  messages bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (src, dst, first_nonce, last_nonce, root)
);

CREATE TABLE partials (
  src numeric(20,0) NOT NULL,
  dst numeric(20,0) NOT NULL,
  first_nonce numeric(20,0) NOT NULL,
  last_nonce numeric(20,0) NOT NULL,
  epoch numeric(20,0) NOT NULL,
  member_index integer NOT NULL,
  member_id text NOT NULL,
  root bytea NOT NULL,
  signature bytea NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  -- One root per member, range and epoch: a second one is equivocation, kept in `equivocations`.
  PRIMARY KEY (src, dst, first_nonce, last_nonce, epoch, member_index)
);

CREATE TABLE equivocations (
  src numeric(20,0) NOT NULL,
  dst numeric(20,0) NOT NULL,
  first_nonce numeric(20,0) NOT NULL,
  last_nonce numeric(20,0) NOT NULL,
  epoch numeric(20,0) NOT NULL,
  member_index integer NOT NULL,
  member_id text NOT NULL,
  -- Both signed roots with their signatures: the evidence verifies on its own.
  root_a bytea NOT NULL,
  signature_a bytea NOT NULL,
  root_b bytea NOT NULL,
  signature_b bytea NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (src, dst, first_nonce, last_nonce, epoch, member_index, root_b)
);

CREATE TABLE attestations (
  src numeric(20,0) NOT NULL,
  dst numeric(20,0) NOT NULL,
  first_nonce numeric(20,0) NOT NULL,
  last_nonce numeric(20,0) NOT NULL,
  root bytea NOT NULL,
  epoch numeric(20,0) NOT NULL,
  committee_set_hash bytea NOT NULL,
  signers bytea NOT NULL,
  signature bytea NOT NULL,
  log_index bigint NOT NULL UNIQUE,
  attested_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  PRIMARY KEY (src, dst, first_nonce, last_nonce)
);
CREATE INDEX attestations_by_last_nonce ON attestations (src, dst, last_nonce);
CREATE INDEX attestations_unpublished ON attestations (log_index) WHERE published_at IS NULL;

CREATE TABLE log_leaves (
  idx bigint PRIMARY KEY,
  leaf_hash bytea NOT NULL
);

CREATE TABLE log_head (
  id integer PRIMARY KEY CHECK (id = 1),
  size bigint NOT NULL
);
INSERT INTO log_head (id, size) VALUES (1, 0);
