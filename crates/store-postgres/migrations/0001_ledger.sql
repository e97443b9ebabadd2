-- Version 1: the log, its indexes, and what commits with it.
-- Positions, versions and checkpoints are bigint (the store's u64, checked on the way).

-- The one row every append locks (SELECT ... FOR UPDATE) before it reads anything it
-- decides on: appends are serialised in commit order across every process, so positions
-- have no gaps and each event's prev_hash is the hash of the event committed before it.
CREATE TABLE ledger_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position bigint NOT NULL CHECK (position >= 0),
    hash bytea NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO ledger_head (singleton, position, hash)
VALUES (true, 0, decode(repeat('00', 32), 'hex'));

-- Each event's envelope, byte for byte as every backend encodes and hashes it; the other
-- columns are copied out of it for the indexes.
CREATE TABLE events (
    position bigint PRIMARY KEY CHECK (position > 0),
    event_id uuid NOT NULL UNIQUE,
    stream text NOT NULL,
    stream_version bigint NOT NULL CHECK (stream_version > 0),
    envelope bytea NOT NULL,
    UNIQUE (stream, stream_version)
);

CREATE TABLE streams (
    stream text PRIMARY KEY,
    version bigint NOT NULL CHECK (version > 0)
);

-- A key of a whole append (event_id NULL, streams its JSON [[stream, version], ...]) or a
-- per-event key (event_id and first_position = last_position the event's).
CREATE TABLE idempotency_keys (
    key text PRIMARY KEY,
    fingerprint bytea NOT NULL CHECK (length(fingerprint) = 32),
    event_id uuid,
    first_position bigint NOT NULL,
    last_position bigint NOT NULL,
    streams text
);

CREATE TABLE models (
    name text PRIMARY KEY,
    position bigint NOT NULL CHECK (position >= 0),
    bytes bytea NOT NULL
);
