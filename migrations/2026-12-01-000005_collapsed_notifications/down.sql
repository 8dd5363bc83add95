DROP INDEX notifications_collapse_key;
ALTER TABLE notifications DROP COLUMN collapse_key;
