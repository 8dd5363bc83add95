//! The route table. Every REST route is registered through [`Registrar::add`], which takes the
//! method and path from the handler's `#[utoipa::path]` annotation — so a route cannot be
//! registered without being described, and the test `openapi_lists_every_route` proves that each
//! registered route is also listed in [`crate::openapi::ApiDoc`].

use std::collections::BTreeMap;

use actix_web::http::Method;
use actix_web::http::header;
use actix_web::{FromRequest, Handler, HttpResponse, Responder, Route, web};
use app::Ports;
use utoipa::openapi::HttpMethod;

use crate::error::ApiError;
use crate::handlers;

/// Collects routes by path, then registers one actix resource per path that answers both with
/// and without the trailing slash, and 405 (with `Allow`) for other methods.
#[derive(Default)]
pub struct Registrar {
    resources: BTreeMap<String, Vec<(Method, Route)>>,
}

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.routes()).finish()
    }
}

fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

impl Registrar {
    /// Registers `handler` under the method(s) and path of its `#[utoipa::path]` (`D`).
    pub fn add<D, F, Args>(&mut self, handler: F)
    where
        D: utoipa::Path,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        for method in D::methods() {
            let method = actix_method(&method);
            let route = web::method(method.clone()).to(handler.clone());
            self.resources
                .entry(D::path())
                .or_default()
                .push((method, route));
        }
    }

    /// Every registered `(METHOD, path)`, in a stable order.
    pub fn routes(&self) -> Vec<(String, String)> {
        self.resources
            .iter()
            .flat_map(|(path, routes)| {
                routes
                    .iter()
                    .map(move |(method, _)| (method.to_string(), path.clone()))
            })
            .collect()
    }

    /// Installs every resource into `cfg`.
    pub fn install(self, cfg: &mut web::ServiceConfig) {
        // Literal paths before parameterised ones, so `/users/me/` is never read as `/users/{id}/`.
        let mut resources: Vec<_> = self.resources.into_iter().collect();
        resources.sort_by_key(|(path, _)| (path.matches('{').count(), path.clone()));
        for (path, routes) in resources {
            let allow = routes
                .iter()
                .map(|(method, _)| method.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let other = path.trim_end_matches('/');
            let patterns = if other.is_empty() || other == path {
                vec![path.clone(), format!("{path}/")]
            } else {
                vec![path.clone(), other.to_owned()]
            };
            let mut resource = web::resource(patterns).name(&path);
            for (_, route) in routes {
                resource = resource.route(route);
            }
            resource = resource.default_service(web::to(move || {
                let allow = allow.clone();
                async move { method_not_allowed(&allow) }
            }));
            cfg.service(resource);
        }
    }
}

fn method_not_allowed(allow: &str) -> HttpResponse {
    let mut response = actix_web::ResponseError::error_response(&ApiError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("method not allowed; this resource accepts {allow}"),
    ));
    if let Ok(value) = header::HeaderValue::from_str(allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// The REST API of the service, over the ports `P`.
pub fn api<P: Ports>() -> Registrar {
    use handlers::{accounts, chat, health, jobs, metrics, notifications, users};
    let mut r = Registrar::default();
    r.add::<health::__path_healthz, _, _>(health::healthz);
    r.add::<health::__path_readyz, _, _>(health::readyz::<P>);
    r.add::<metrics::__path_metrics, _, _>(metrics::metrics);
    r.add::<accounts::__path_register, _, _>(accounts::register::<P>);
    r.add::<accounts::__path_login, _, _>(accounts::login::<P>);
    r.add::<accounts::__path_refresh, _, _>(accounts::refresh::<P>);
    r.add::<users::__path_me, _, _>(users::me);
    r.add::<users::__path_get_user, _, _>(users::get_user::<P>);
    r.add::<users::__path_update_user, _, _>(users::update_user::<P>);
    r.add::<chat::__path_list_rooms, _, _>(chat::list_rooms::<P>);
    r.add::<chat::__path_create_room, _, _>(chat::create_room::<P>);
    r.add::<chat::__path_get_room, _, _>(chat::get_room::<P>);
    r.add::<chat::__path_update_room, _, _>(chat::update_room::<P>);
    r.add::<chat::__path_archive_room, _, _>(chat::archive_room::<P>);
    r.add::<chat::__path_participants, _, _>(chat::participants::<P>);
    r.add::<chat::__path_add_participant, _, _>(chat::add_participant::<P>);
    r.add::<chat::__path_remove_participant, _, _>(chat::remove_participant::<P>);
    r.add::<chat::__path_start_dm, _, _>(chat::start_dm::<P>);
    r.add::<chat::__path_messages, _, _>(chat::messages::<P>);
    r.add::<chat::__path_send_message, _, _>(chat::send_message::<P>);
    r.add::<chat::__path_get_message, _, _>(chat::get_message::<P>);
    r.add::<chat::__path_edit_message, _, _>(chat::edit_message::<P>);
    r.add::<chat::__path_delete_message, _, _>(chat::delete_message::<P>);
    r.add::<chat::__path_mark_message_read, _, _>(chat::mark_message_read::<P>);
    r.add::<chat::__path_mark_room_read, _, _>(chat::mark_room_read::<P>);
    r.add::<chat::__path_unread, _, _>(chat::unread::<P>);
    r.add::<chat::__path_upload, _, _>(chat::upload::<P>);
    r.add::<chat::__path_download, _, _>(chat::download::<P>);
    r.add::<notifications::__path_list, _, _>(notifications::list::<P>);
    r.add::<notifications::__path_unread, _, _>(notifications::unread::<P>);
    r.add::<notifications::__path_unread_count, _, _>(notifications::unread_count::<P>);
    r.add::<notifications::__path_get, _, _>(notifications::get::<P>);
    r.add::<notifications::__path_delete, _, _>(notifications::delete::<P>);
    r.add::<notifications::__path_mark_read, _, _>(notifications::mark_read::<P>);
    r.add::<notifications::__path_mark_all_read, _, _>(notifications::mark_all_read::<P>);
    r.add::<notifications::__path_send_notification, _, _>(notifications::send_notification::<P>);
    r.add::<notifications::__path_send_bulk, _, _>(notifications::send_bulk::<P>);
    r.add::<notifications::__path_broadcast_status, _, _>(notifications::broadcast_status::<P>);
    r.add::<notifications::__path_deliveries, _, _>(notifications::deliveries::<P>);
    r.add::<notifications::__path_preferences, _, _>(notifications::preferences::<P>);
    r.add::<notifications::__path_put_preferences, _, _>(notifications::put_preferences::<P>);
    r.add::<notifications::__path_patch_preferences, _, _>(notifications::patch_preferences::<P>);
    r.add::<notifications::__path_templates, _, _>(notifications::templates::<P>);
    r.add::<notifications::__path_create_template, _, _>(notifications::create_template::<P>);
    r.add::<notifications::__path_template, _, _>(notifications::template::<P>);
    r.add::<notifications::__path_put_template, _, _>(notifications::put_template::<P>);
    r.add::<notifications::__path_patch_template, _, _>(notifications::patch_template::<P>);
    r.add::<notifications::__path_delete_template, _, _>(notifications::delete_template::<P>);
    r.add::<notifications::__path_render_template, _, _>(notifications::render_template::<P>);
    r.add::<jobs::__path_post_event, _, _>(jobs::post_event::<P>);
    r.add::<jobs::__path_get_job, _, _>(jobs::get_job::<P>);
    r.add::<crate::ws::__path_unified, _, _>(crate::ws::unified::<P>);
    r.add::<crate::ws::__path_unified_alias, _, _>(crate::ws::unified_alias::<P>);
    r.add::<crate::ws::compat::__path_chat_room, _, _>(crate::ws::compat::chat_room::<P>);
    r.add::<crate::ws::compat::__path_job_chat, _, _>(crate::ws::compat::job_chat::<P>);
    r.add::<crate::ws::compat_inbox::__path_inbox, _, _>(crate::ws::compat_inbox::inbox::<P>);
    r
}
