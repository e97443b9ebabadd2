-- Version 2: the note a process leaves when it finds the ledger damaged (an event that
-- fails its hash, a broken chain), so that every server and command refuses to answer
-- from it until a verify passes again. At most one row; removed by that verify.
CREATE TABLE ledger_damage (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    note bytea NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
