//! Template administration: CRUD with syntax checks, preview.

use domain::notification::builtin::BUILTINS;
use domain::notification::template::check_source;
use domain::notification::{
    NewTemplate, NotificationTemplate, NotificationType, Priority, TemplateName,
};
use domain::user::User;
use ports::{PortError, TemplateEngine, TemplateRepository};
use serde_json::Value;

use crate::error::AppError;
use crate::ports::Ports;

use super::{NotificationService, TemplateInput, admin_only, object_of, template_error};

impl<P: Ports> NotificationService<P> {
    /// Every template (admins).
    pub async fn templates(&self, admin: &User) -> Result<Vec<NotificationTemplate>, AppError> {
        admin_only(admin)?;
        self.adapters
            .templates
            .list()
            .await
            .map_err(AppError::from_port("template"))
    }

    /// One template (admins).
    pub async fn template(
        &self,
        admin: &User,
        name: &str,
    ) -> Result<NotificationTemplate, AppError> {
        admin_only(admin)?;
        let name = TemplateName::parse(name).map_err(|_| AppError::NotFound("template"))?;
        self.adapters
            .templates
            .get(&name)
            .await
            .map_err(AppError::from_port("template"))
    }

    pub(super) fn checked(
        &self,
        input: &TemplateInput,
        base: Option<&NotificationTemplate>,
    ) -> Result<(NotificationType, String, String, Priority, bool), AppError> {
        let mut errors = domain::FieldErrors::new();
        let kind = match (&input.notification_type, base) {
            (Some(raw), _) => errors.collect(NotificationType::parse(raw)),
            (None, Some(b)) => Some(b.kind),
            (None, None) => {
                errors.add("notification_type", "is required");
                None
            }
        };
        let mut source = |field: &'static str,
                          given: &Option<String>,
                          current: Option<&str>,
                          max: usize|
         -> Option<String> {
            let raw = match (given, current) {
                (Some(raw), _) => raw.clone(),
                (None, Some(current)) => current.to_owned(),
                (None, None) => {
                    errors.add(field, "is required");
                    return None;
                }
            };
            let raw = errors.collect(check_source(field, &raw, max))?;
            if let Err(e) = self.adapters.engine.check(&raw) {
                errors.add(field, format!("template error: {e}"));
                return None;
            }
            Some(raw)
        };
        let title = source(
            "title_template",
            &input.title_template,
            base.map(|b| b.title_template.as_str()),
            1000,
        );
        let message = source(
            "message_template",
            &input.message_template,
            base.map(|b| b.message_template.as_str()),
            10_000,
        );
        let priority = match (&input.default_priority, base) {
            (Some(raw), _) => {
                errors.collect(Priority::parse(raw).map_err(|e| e.named("default_priority")))
            }
            (None, Some(b)) => Some(b.default_priority),
            (None, None) => Some(Priority::Medium),
        };
        errors.clone().into_result()?;
        match (kind, title, message, priority) {
            (Some(kind), Some(title), Some(message), Some(priority)) => Ok((
                kind,
                title,
                message,
                priority,
                input
                    .is_active
                    .or(base.map(|b| b.is_active))
                    .unwrap_or(true),
            )),
            _ => Err(AppError::Validation(errors)),
        }
    }

    /// Creates a template; its sources are syntax-checked (400 naming the line).
    pub async fn create_template(
        &self,
        admin: &User,
        input: TemplateInput,
    ) -> Result<NotificationTemplate, AppError> {
        admin_only(admin)?;
        let name = TemplateName::parse(input.name.as_deref().unwrap_or_default())?;
        let (kind, title_template, message_template, default_priority, is_active) =
            self.checked(&input, None)?;
        self.adapters
            .templates
            .create(NewTemplate {
                name,
                kind,
                title_template,
                message_template,
                default_priority,
                is_active,
            })
            .await
            .map_err(|e| match e {
                PortError::Conflict(_) => {
                    AppError::conflict("template_exists", "a template with this name exists")
                }
                other => AppError::from_port("template")(other),
            })
    }

    /// Changes a template: `replace` (PUT) needs every field, otherwise (PATCH) missing ones stay.
    pub async fn update_template(
        &self,
        admin: &User,
        name: &str,
        input: TemplateInput,
        replace: bool,
    ) -> Result<NotificationTemplate, AppError> {
        let current = self.template(admin, name).await?;
        if input
            .name
            .as_deref()
            .is_some_and(|n| n != current.name.as_str())
        {
            return Err(AppError::invalid("name", "a template cannot be renamed"));
        }
        let base = if replace { None } else { Some(&current) };
        let (kind, title_template, message_template, default_priority, is_active) =
            self.checked(&input, base)?;
        self.adapters
            .templates
            .update(
                &current.name,
                NewTemplate {
                    name: current.name.clone(),
                    kind,
                    title_template,
                    message_template,
                    default_priority,
                    is_active,
                },
            )
            .await
            .map_err(AppError::from_port("template"))
    }

    /// Deletes a template; built-in ones can only be edited or deactivated.
    pub async fn delete_template(&self, admin: &User, name: &str) -> Result<(), AppError> {
        admin_only(admin)?;
        let name = TemplateName::parse(name).map_err(|_| AppError::NotFound("template"))?;
        self.adapters
            .templates
            .delete(&name)
            .await
            .map_err(|e| match e {
                PortError::Conflict(_) => AppError::conflict(
                    "builtin_template",
                    "built-in templates cannot be deleted; deactivate or edit them",
                ),
                other => AppError::from_port("template")(other),
            })
    }

    /// Renders a template with a context, showing errors instead of falling back (admins).
    pub async fn preview(
        &self,
        admin: &User,
        name: &str,
        context: Option<Value>,
    ) -> Result<(String, String), AppError> {
        let template = self.template(admin, name).await?;
        let mut ctx = object_of(context, "context")?;
        ctx.entry("recipient_name")
            .or_insert_with(|| Value::String(admin.display_name()));
        ctx.entry("recipient_username")
            .or_insert_with(|| Value::String(admin.username.as_str().to_owned()));
        let ctx = Value::Object(ctx);
        let title = self
            .adapters
            .engine
            .render(&template.title_template, &ctx)
            .map_err(|e| template_error("title_template", &e))?;
        let message = self
            .adapters
            .engine
            .render(&template.message_template, &ctx)
            .map_err(|e| template_error("message_template", &e))?;
        Ok((title, message))
    }

    /// The built-in templates (for documentation and tests).
    pub fn builtins() -> &'static [domain::notification::builtin::Builtin] {
        BUILTINS
    }
}
