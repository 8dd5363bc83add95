-- Chat-message notifications collapse per room: a recipient has at most one *unread* one per
-- key, updated in place by later messages; once read, the next message starts a new one.
ALTER TABLE notifications ADD COLUMN collapse_key VARCHAR(200);
CREATE UNIQUE INDEX notifications_collapse_key ON notifications (recipient_id, collapse_key)
    WHERE read_at IS NULL AND collapse_key IS NOT NULL;
