-- Issuing a token purges expired ones and rotating a secret revokes an organisation's tokens:
-- both look tokens up by these columns, so neither scans the table under the write lock.
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);
CREATE INDEX access_tokens_org ON access_tokens (org_id);
