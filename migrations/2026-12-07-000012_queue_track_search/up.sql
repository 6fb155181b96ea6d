-- The retry queue's search box finds an entry by the beginning of its SII track id
-- (`=like 'prefix%'`), as the backups' and documents' do: a b-tree of the pattern
-- operator class serves that prefix whatever the database's collation.
CREATE INDEX idx_failed_queue_success_track ON dte_sidecar.dte_failed_queue (success_track_id varchar_pattern_ops);
