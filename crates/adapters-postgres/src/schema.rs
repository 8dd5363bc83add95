//! The tables, as diesel sees them. Written by hand to match `migrations/`; the test
//! `schema_matches_migrations` compares every table and column with the migrated database.

diesel::table! {
    users (id) {
        id -> Int8,
        username -> Varchar,
        email -> Nullable<Varchar>,
        first_name -> Varchar,
        last_name -> Varchar,
        role -> Text,
        is_active -> Bool,
        password_hash -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    used_refresh_tokens (jti) {
        jti -> Text,
        user_id -> Int8,
        expires_at -> Timestamptz,
        used_at -> Timestamptz,
    }
}

diesel::table! {
    chat_rooms (id) {
        id -> Int8,
        kind -> Text,
        name -> Varchar,
        visibility -> Text,
        state -> Text,
        job_id -> Nullable<Int8>,
        job_cleaner_id -> Nullable<Int8>,
        direct_key -> Nullable<Text>,
        created_by -> Nullable<Int8>,
        head_seq -> Int8,
        last_message_preview -> Nullable<Text>,
        last_message_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    chat_participants (room_id, user_id) {
        room_id -> Int8,
        user_id -> Int8,
        role -> Text,
        joined_at -> Timestamptz,
        last_read_seq -> Int8,
        muted_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    chat_messages (id) {
        id -> Int8,
        room_id -> Int8,
        seq -> Int8,
        sender_id -> Nullable<Int8>,
        kind -> Text,
        content -> Text,
        attachment_id -> Nullable<Int8>,
        reply_to_id -> Nullable<Int8>,
        client_msg_id -> Nullable<Varchar>,
        created_at -> Timestamptz,
        edited_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    chat_attachments (id) {
        id -> Int8,
        owner_id -> Int8,
        filename -> Varchar,
        content_type -> Varchar,
        size -> Int8,
        content -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notification_inboxes (user_id) {
        user_id -> Int8,
        head_seq -> Int8,
    }
}

diesel::table! {
    notifications (id) {
        id -> Int8,
        recipient_id -> Int8,
        seq -> Int8,
        sender_id -> Nullable<Int8>,
        kind -> Varchar,
        title -> Varchar,
        message -> Text,
        priority -> Text,
        object_kind -> Nullable<Varchar>,
        object_id -> Nullable<Int8>,
        action_url -> Nullable<Varchar>,
        metadata -> Jsonb,
        read_at -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        dedupe_key -> Nullable<Varchar>,
        silent -> Bool,
        collapse_key -> Nullable<Varchar>,
    }
}

diesel::table! {
    notification_preferences (user_id) {
        user_id -> Int8,
        timezone -> Varchar,
        inapp_all -> Bool,
        quiet_hours_enabled -> Bool,
        quiet_hours_start -> Nullable<Time>,
        quiet_hours_end -> Nullable<Time>,
        channels -> Jsonb,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notification_templates (name) {
        name -> Varchar,
        kind -> Varchar,
        title_template -> Varchar,
        message_template -> Text,
        default_priority -> Text,
        is_active -> Bool,
        builtin -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notification_deliveries (id) {
        id -> Int8,
        notification_id -> Int8,
        recipient_id -> Int8,
        channel -> Text,
        payload -> Jsonb,
        state -> Text,
        attempts -> Int4,
        not_before -> Timestamptz,
        leased_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    jobs (id) {
        id -> Int8,
        client_id -> Int8,
        cleaner_id -> Nullable<Int8>,
        status -> Text,
        title -> Varchar,
        city -> Nullable<Varchar>,
        scheduled_at -> Nullable<Timestamptz>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        rooms_closed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    job_bids (job_id, cleaner_id) {
        job_id -> Int8,
        cleaner_id -> Int8,
        status -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    job_events (event_id) {
        event_id -> Varchar,
        job_id -> Int8,
        kind -> Text,
        applied_at -> Timestamptz,
        notifications -> Int8,
    }
}

diesel::joinable!(used_refresh_tokens -> users (user_id));
diesel::joinable!(job_bids -> jobs (job_id));
diesel::joinable!(job_events -> jobs (job_id));
diesel::joinable!(chat_participants -> chat_rooms (room_id));
diesel::joinable!(chat_participants -> users (user_id));
diesel::joinable!(chat_messages -> chat_rooms (room_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    used_refresh_tokens,
    chat_rooms,
    chat_participants,
    chat_messages,
    chat_attachments,
    notification_inboxes,
    notifications,
    notification_preferences,
    notification_templates,
    notification_deliveries,
    jobs,
    job_bids,
    job_events,
);

/// Every table with its columns, in schema order, for the schema check.
pub fn tables() -> Vec<(&'static str, Vec<&'static str>)> {
    fn columns<T: diesel::Table>() -> Vec<&'static str>
    where
        T::AllColumns: ColumnNames,
    {
        T::AllColumns::names()
    }
    vec![
        ("users", columns::<users::table>()),
        (
            "used_refresh_tokens",
            columns::<used_refresh_tokens::table>(),
        ),
        ("chat_rooms", columns::<chat_rooms::table>()),
        ("chat_participants", columns::<chat_participants::table>()),
        ("chat_messages", columns::<chat_messages::table>()),
        ("chat_attachments", columns::<chat_attachments::table>()),
        (
            "notification_inboxes",
            columns::<notification_inboxes::table>(),
        ),
        ("notifications", columns::<notifications::table>()),
        ("jobs", columns::<jobs::table>()),
        ("job_bids", columns::<job_bids::table>()),
        ("job_events", columns::<job_events::table>()),
        (
            "notification_preferences",
            columns::<notification_preferences::table>(),
        ),
        (
            "notification_templates",
            columns::<notification_templates::table>(),
        ),
        (
            "notification_deliveries",
            columns::<notification_deliveries::table>(),
        ),
    ]
}

/// Names of a tuple of columns.
pub trait ColumnNames {
    /// The column names, in order.
    fn names() -> Vec<&'static str>;
}

/// Implements [`ColumnNames`] for every tuple arity up to the number of identifiers given.
macro_rules! impl_column_names {
    () => {};
    ($first:ident $(, $rest:ident)*) => {
        impl<$first: diesel::Column, $($rest: diesel::Column),*> ColumnNames for ($first, $($rest,)*) {
            fn names() -> Vec<&'static str> {
                vec![$first::NAME $(, $rest::NAME)*]
            }
        }
        impl_column_names!($($rest),*);
    };
}

impl_column_names!(
    A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U, V, W, X
);
