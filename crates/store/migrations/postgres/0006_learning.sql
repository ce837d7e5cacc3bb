-- What reviewers' corrections taught about each supplier's documents: one rule per field.

CREATE TABLE supplier_rules (
    org_id       BIGINT NOT NULL REFERENCES organizations (id),
    -- "tax:<id>" or "name:<folded name>" (docket_domain::learning::supplier_key).
    supplier_key TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    label        TEXT    NOT NULL,
    shape        TEXT    NOT NULL,
    -- A correction of a misread value: what it was read as, and what it became.
    read_as      TEXT,
    corrected    TEXT,
    learned_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, supplier_key, kind, category)
);
