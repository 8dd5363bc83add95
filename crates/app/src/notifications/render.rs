//! Rendering through templates, with the fallback chain that never drops a notification:
//! the chosen template, then the type's built-in text, then plain text.

use domain::notification::builtin::{builtin, plain_text};
use domain::notification::{NotificationTemplate, NotificationType, TemplateName};
use ports::{PortError, TemplateEngine, TemplateRepository};
use serde_json::{Map, Value};

use crate::error::AppError;
use crate::ports::Ports;

use super::{NotificationService, Rendered};

impl<P: Ports> NotificationService<P> {
    /// Renders a type with a named template, or the type's active template, falling back to the
    /// built-in text (and, if even that fails, plain text) — never dropping the notification.
    pub async fn render(
        &self,
        kind: NotificationType,
        named: Option<&TemplateName>,
        context: &Map<String, Value>,
    ) -> Result<Rendered, AppError> {
        let template = self.template_for(kind, named).await?;
        Ok(self.render_with(kind, template.as_ref(), context))
    }

    /// The template to render `kind` with: the named one, or the type's active one (`None`: the
    /// built-in text). Looked up once per notification — or once per broadcast batch.
    pub(super) async fn template_for(
        &self,
        kind: NotificationType,
        named: Option<&TemplateName>,
    ) -> Result<Option<NotificationTemplate>, AppError> {
        Ok(match named {
            Some(name) => match self.adapters.templates.get(name).await {
                Ok(t) => Some(t),
                Err(PortError::NotFound) => {
                    return Err(AppError::invalid("template", "no such template"));
                }
                Err(e) => return Err(AppError::from_port("template")(e)),
            },
            None => self
                .adapters
                .templates
                .active_for(kind)
                .await
                .map_err(AppError::from_port("template"))?,
        })
    }

    /// Renders with `template`, falling back to the built-in text and then plain text.
    pub(super) fn render_with(
        &self,
        kind: NotificationType,
        template: Option<&NotificationTemplate>,
        context: &Map<String, Value>,
    ) -> Rendered {
        let ctx = Value::Object(context.clone());
        if let Some(template) = template {
            let title = self.adapters.engine.render(&template.title_template, &ctx);
            let message = self
                .adapters
                .engine
                .render(&template.message_template, &ctx);
            match (title, message) {
                (Ok(title), Ok(message))
                    if !title.trim().is_empty() && !message.trim().is_empty() =>
                {
                    return Rendered {
                        title,
                        message,
                        priority: template.default_priority,
                        source: format!("template:{}", template.name.as_str()),
                    };
                }
                (title, message) => {
                    let why = title
                        .err()
                        .or(message.err())
                        .map_or_else(|| "rendered empty".to_owned(), |e| e.to_string());
                    tracing::warn!(template = template.name.as_str(), kind = kind.as_str(), error = %why, "template failed to render; using the built-in text");
                }
            }
        }
        let base = builtin(kind);
        // The built-in text never fails on a missing variable: each documented one defaults to "".
        let mut filled = context.clone();
        for variable in base.variables {
            filled
                .entry(*variable)
                .or_insert_with(|| Value::String(String::new()));
        }
        let filled = Value::Object(filled);
        match (
            self.adapters.engine.render(base.title, &filled),
            self.adapters.engine.render(base.message, &filled),
        ) {
            (Ok(title), Ok(message)) if !title.trim().is_empty() && !message.trim().is_empty() => {
                Rendered {
                    title,
                    message,
                    priority: template.map_or(base.priority, |t| t.default_priority),
                    source: format!("builtin:{}", base.name),
                }
            }
            _ => {
                tracing::error!(
                    kind = kind.as_str(),
                    "the built-in template failed to render; sending plain text"
                );
                let (title, message) = plain_text(kind);
                Rendered {
                    title,
                    message,
                    priority: base.priority,
                    source: "plain".to_owned(),
                }
            }
        }
    }
}
