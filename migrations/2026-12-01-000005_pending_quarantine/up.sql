-- A pending contingency document whose stored XML cannot be read is set aside with the
-- reason, so it is never read again in a loop and never holds back the company's others.
ALTER TABLE dte_sidecar.dte_contingency_pending ADD COLUMN quarantine_reason TEXT;
