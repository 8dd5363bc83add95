DROP TABLE notification_deliveries;
DROP TABLE notification_templates;
DROP TABLE notification_preferences;
DROP TABLE notifications;
DROP TABLE notification_inboxes;
