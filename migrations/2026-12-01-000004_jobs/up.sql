-- The job projection: the platform's jobs and bids as its events report them, and the events
-- already applied (a repeated event id changes nothing).

CREATE TABLE jobs (
    id              BIGINT PRIMARY KEY CHECK (id > 0),  -- the platform's id
    client_id       BIGINT NOT NULL REFERENCES users (id),
    cleaner_id      BIGINT REFERENCES users (id),
    status          TEXT NOT NULL CHECK (status IN ('open_for_bids', 'bid_accepted', 'confirmed',
                        'ready_to_start', 'in_progress', 'awaiting_review', 'completed', 'cancelled')),
    title           VARCHAR(200) NOT NULL,
    city            VARCHAR(200),
    scheduled_at    TIMESTAMPTZ,
    -- Incremented by every applied event; an update names the version it read.
    version         BIGINT NOT NULL CHECK (version > 0),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at    TIMESTAMPTZ,
    -- Set when the rooms of a completed job were made read-only (after the grace period).
    rooms_closed_at TIMESTAMPTZ
);
CREATE INDEX jobs_client_idx ON jobs (client_id);
CREATE INDEX jobs_rooms_to_close_idx ON jobs (completed_at)
    WHERE status = 'completed' AND rooms_closed_at IS NULL;

CREATE TABLE job_bids (
    job_id     BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    cleaner_id BIGINT NOT NULL REFERENCES users (id),
    status     TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', 'withdrawn')),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, cleaner_id)
);

CREATE TABLE job_events (
    event_id      VARCHAR(200) PRIMARY KEY,
    job_id        BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    applied_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Notifications it produced, the background fan-out of job_created included.
    notifications BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX job_events_job_idx ON job_events (job_id);
