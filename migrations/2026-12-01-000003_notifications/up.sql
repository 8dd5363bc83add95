-- Notifications: per-user sequenced inboxes, preferences, templates and the durable queue of
-- external deliveries.

-- The last inbox seq of each user; its row lock orders concurrent inserts into one inbox.
CREATE TABLE notification_inboxes (
    user_id  BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    head_seq BIGINT NOT NULL DEFAULT 0 CHECK (head_seq >= 0)
);

CREATE TABLE notifications (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL CHECK (seq > 0),
    sender_id    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- Types are validated by the service (the vocabulary grows with the platform).
    kind         VARCHAR(50) NOT NULL,
    title        VARCHAR(255) NOT NULL,
    message      TEXT NOT NULL,
    priority     TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    object_kind  VARCHAR(32),
    object_id    BIGINT,
    action_url   VARCHAR(500),
    metadata     JSONB NOT NULL DEFAULT '{}'::jsonb,
    read_at      TIMESTAMPTZ,
    delivered_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Expired notifications leave every list and count.
    expires_at   TIMESTAMPTZ,
    dedupe_key   VARCHAR(200),
    silent       BOOLEAN NOT NULL DEFAULT FALSE,
    CONSTRAINT notifications_recipient_seq_key UNIQUE (recipient_id, seq),
    CHECK ((object_kind IS NULL) = (object_id IS NULL))
);
-- The same key for the same recipient yields one notification.
CREATE UNIQUE INDEX notifications_dedupe_key ON notifications (recipient_id, dedupe_key)
    WHERE dedupe_key IS NOT NULL;
-- Unread counts.
CREATE INDEX notifications_unread_idx ON notifications (recipient_id) WHERE read_at IS NULL;

CREATE TABLE notification_preferences (
    user_id             BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    timezone            VARCHAR(64) NOT NULL DEFAULT 'UTC',
    inapp_all           BOOLEAN NOT NULL DEFAULT TRUE,
    quiet_hours_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    quiet_hours_start   TIME,
    quiet_hours_end     TIME,
    -- {"<category>": {"in_app": bool, "email": bool, "push": bool}, …}
    channels            JSONB NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE notification_templates (
    name             VARCHAR(100) PRIMARY KEY,
    kind             VARCHAR(50) NOT NULL,
    title_template   VARCHAR(1000) NOT NULL,
    message_template TEXT NOT NULL,
    default_priority TEXT NOT NULL CHECK (default_priority IN ('low', 'medium', 'high', 'urgent')),
    is_active        BOOLEAN NOT NULL DEFAULT TRUE,
    builtin          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The built-in template of every type (domain::notification::builtin::BUILTINS; a test keeps
-- the two equal).
INSERT INTO notification_templates (name, kind, title_template, message_template, default_priority, builtin)
SELECT name, kind, title, message, priority, TRUE FROM (VALUES
    ('job_created', 'job_created', 'New cleaning job in {{ city }}', '{{ job_title }} is open for bids{% if scheduled_at %} (scheduled {{ scheduled_at }}){% endif %}.', 'medium'),
    ('bid_received', 'bid_received', 'New bid on {{ job_title }}', '{{ cleaner_name }} placed a bid on your job.', 'medium'),
    ('bid_accepted', 'bid_accepted', 'Your bid was accepted', '{{ client_name }} accepted your bid for {{ job_title }}.', 'high'),
    ('bid_rejected', 'bid_rejected', 'Your bid was not chosen', 'Another cleaner was chosen for {{ job_title }}.', 'low'),
    ('job_accepted', 'job_accepted', 'Job accepted', '{{ job_title }} has been accepted.', 'medium'),
    ('job_confirmed', 'job_confirmed', 'Job confirmed', '{{ cleaner_name }} confirmed {{ job_title }}{% if scheduled_at %} for {{ scheduled_at }}{% endif %}.', 'high'),
    ('job_ready', 'job_ready', 'Ready to start', '{{ cleaner_name }} is ready to start {{ job_title }}.', 'medium'),
    ('job_started', 'job_started', 'Job started', '{{ cleaner_name }} has started {{ job_title }}.', 'high'),
    ('job_finished', 'job_finished', 'Job finished: please review', '{{ cleaner_name }} finished {{ job_title }}. Please review the work.', 'high'),
    ('job_completed', 'job_completed', 'Job completed', '{{ job_title }} is complete.{% if for_client %} Please rate your experience.{% endif %}', 'medium'),
    ('job_rejected', 'job_rejected', 'Work needs revision', 'The client asked for changes to {{ job_title }}{% if reason %}: {{ reason }}{% endif %}.', 'urgent'),
    ('job_cancelled', 'job_cancelled', 'Job cancelled', '{{ job_title }} has been cancelled.', 'high'),
    ('payment_received', 'payment_received', 'Payment received', 'You were paid for {{ job_title }}{% if amount %}: {{ amount }}{% endif %}.', 'medium'),
    ('message_received', 'message_received', 'New message from {{ sender_name }}', '{{ preview }}', 'low'),
    ('reminder', 'reminder', 'Reminder', '{{ text }}', 'medium'),
    ('promotion', 'promotion', '{{ headline }}', '{{ text }}', 'low'),
    ('system_alert', 'system_alert', '{{ headline }}', '{{ text }}', 'high')
) AS builtins (name, kind, title, message, priority);

-- External deliveries (e-mail, push webhook): one per notification and channel, leased while
-- being sent, retried with backoff, kept after delivery so nothing is sent twice.
CREATE TABLE notification_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id BIGINT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    recipient_id    BIGINT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'push')),
    payload         JSONB NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    not_before      TIMESTAMPTZ NOT NULL,
    leased_until    TIMESTAMPTZ,
    last_error      TEXT,
    delivered_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT notification_deliveries_once UNIQUE (notification_id, channel)
);
CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (not_before)
    WHERE state = 'pending';
