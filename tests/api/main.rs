//! Black-box tests: the real server over real HTTP (and WebSocket), on the memory adapters and on
//! PostgreSQL + Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod attachments;
mod chat_alerts;
mod chat_rest;
mod cluster;
mod errors;
mod jobs_effects;
mod jobs_lifecycle;
mod jobs_rules;
mod jobs_support;
mod notifications_broadcast;
mod notifications_delivery;
mod notifications_inbox;
mod notifications_live;
mod notifications_preferences;
mod notifications_templates;
mod operations;
mod tokens;
mod users;
mod ws_basics;
mod ws_chat;
mod ws_compat;
mod ws_transport;
