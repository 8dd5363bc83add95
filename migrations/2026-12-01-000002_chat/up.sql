-- Chat: rooms, participants with read cursors, and per-room sequenced messages.

CREATE TABLE chat_rooms (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind                 TEXT NOT NULL CHECK (kind IN ('job', 'direct', 'general', 'support')),
    name                 VARCHAR(255) NOT NULL CHECK (name <> ''),
    visibility           TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    state                TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'read_only', 'archived')),
    -- Job rooms: one per job and cleaner.
    job_id               BIGINT,
    job_cleaner_id       BIGINT REFERENCES users (id),
    -- Direct rooms: "<smaller user id>:<larger user id>", one room per pair.
    direct_key           TEXT,
    created_by           BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- The last allocated message seq; the row lock on it serialises senders of one room.
    head_seq             BIGINT NOT NULL DEFAULT 0 CHECK (head_seq >= 0),
    last_message_preview TEXT,
    last_message_at      TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((kind = 'job') = (job_id IS NOT NULL AND job_cleaner_id IS NOT NULL)),
    CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
);
CREATE UNIQUE INDEX chat_rooms_job_key ON chat_rooms (job_id, job_cleaner_id) WHERE kind = 'job';
CREATE UNIQUE INDEX chat_rooms_direct_key ON chat_rooms (direct_key) WHERE kind = 'direct';
CREATE UNIQUE INDEX chat_rooms_public_name_key ON chat_rooms (lower(name))
    WHERE kind = 'general' AND visibility = 'public';
CREATE INDEX chat_rooms_job_idx ON chat_rooms (job_id) WHERE job_id IS NOT NULL;

CREATE TABLE chat_participants (
    room_id       BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    joined_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Every message up to this seq is read by this user.
    last_read_seq BIGINT NOT NULL DEFAULT 0 CHECK (last_read_seq >= 0),
    muted_until   TIMESTAMPTZ,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX chat_participants_user_idx ON chat_participants (user_id, room_id);

-- Uploaded files (images, PDF/office documents; 10 MiB by default). Stored in the database so
-- every instance serves them and they share its backups; see docs/chat.md.
CREATE TABLE chat_attachments (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    filename     VARCHAR(200) NOT NULL,
    content_type VARCHAR(100) NOT NULL,
    size         BIGINT NOT NULL CHECK (size > 0),
    content      BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE chat_messages (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id       BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    seq           BIGINT NOT NULL CHECK (seq > 0),
    sender_id     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('text', 'image', 'file', 'system', 'job_update')),
    content       TEXT NOT NULL,
    attachment_id BIGINT REFERENCES chat_attachments (id) ON DELETE SET NULL,
    reply_to_id   BIGINT REFERENCES chat_messages (id) ON DELETE SET NULL,
    client_msg_id VARCHAR(64),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    edited_at     TIMESTAMPTZ,
    -- A deleted message stays as a tombstone (empty content) so sequences never have holes.
    deleted_at    TIMESTAMPTZ,
    CONSTRAINT chat_messages_room_seq_key UNIQUE (room_id, seq)
);
-- A retried send returns the original: one message per (room, sender, client_msg_id).
CREATE UNIQUE INDEX chat_messages_client_msg_key
    ON chat_messages (room_id, COALESCE(sender_id, 0), client_msg_id)
    WHERE client_msg_id IS NOT NULL;
CREATE INDEX chat_messages_attachment_idx ON chat_messages (attachment_id) WHERE attachment_id IS NOT NULL;
