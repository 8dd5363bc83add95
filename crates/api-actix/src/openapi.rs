//! The OpenAPI 3.1 description, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;
use crate::handlers::{accounts, chat, health, jobs, metrics, notifications, users};
use crate::ws;

/// The API document served at `/api/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "eclean-realtime",
        description = "Chat, notifications and job-lifecycle events for E-Clean, over REST and WebSocket. \
                       Every 4xx/5xx carries the ErrorBody shape.",
    ),
    paths(
        health::healthz,
        health::readyz,
        metrics::metrics,
        accounts::register,
        accounts::login,
        accounts::refresh,
        users::me,
        users::get_user,
        users::update_user,
        chat::list_rooms,
        chat::create_room,
        chat::get_room,
        chat::update_room,
        chat::archive_room,
        chat::participants,
        chat::add_participant,
        chat::remove_participant,
        chat::start_dm,
        chat::messages,
        chat::send_message,
        chat::get_message,
        chat::edit_message,
        chat::delete_message,
        chat::mark_message_read,
        chat::mark_room_read,
        chat::unread,
        chat::upload,
        chat::download,
        notifications::list,
        notifications::unread,
        notifications::unread_count,
        notifications::get,
        notifications::delete,
        notifications::mark_read,
        notifications::mark_all_read,
        notifications::send_notification,
        notifications::send_bulk,
        notifications::broadcast_status,
        notifications::deliveries,
        notifications::preferences,
        notifications::put_preferences,
        notifications::patch_preferences,
        notifications::templates,
        notifications::create_template,
        notifications::template,
        notifications::put_template,
        notifications::patch_template,
        notifications::delete_template,
        notifications::render_template,
        jobs::post_event,
        jobs::get_job,
        ws::unified,
        ws::unified_alias,
        ws::compat::chat_room,
        ws::compat::job_chat,
        ws::compat_inbox::inbox,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Own accounts and tokens"),
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "chat", description = "Rooms, messages and read cursors"),
        (name = "notifications", description = "The inbox, admin sends and broadcasts, preferences"),
        (name = "templates", description = "Notification templates (admins)"),
        (name = "jobs", description = "Job lifecycle events from the platform, and jobs for their participants"),
        (name = "realtime", description = "WebSocket sessions (frames: PROTOCOL.md §3)"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the handlers refer to.
#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
