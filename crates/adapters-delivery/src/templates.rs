//! Templates on minijinja: `{{ variable }}`, `{% if %}`, filters. Undefined variables are errors
//! when printed (`SemiStrict`), so a template that names a missing variable fails visibly and the
//! service falls back to the built-in text instead of sending a hole.

use minijinja::{Environment, UndefinedBehavior, Value};
use ports::{TemplateEngine, TemplateError};

/// The engine. Stateless: every render compiles its source (templates are short).
#[derive(Debug, Clone, Copy, Default)]
pub struct MiniJinjaEngine;

fn environment<'a>() -> Environment<'a> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    // Notifications are plain text; nothing is HTML-escaped.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

fn convert(error: &minijinja::Error) -> TemplateError {
    let mut message = error.kind().to_string();
    if let Some(detail) = error.detail() {
        message.push_str(": ");
        message.push_str(detail);
    }
    TemplateError {
        line: error.line(),
        message,
    }
}

impl TemplateEngine for MiniJinjaEngine {
    fn check(&self, source: &str) -> Result<(), TemplateError> {
        let env = environment();
        env.template_from_str(source)
            .map(|_| ())
            .map_err(|e| convert(&e))
    }

    fn render(&self, source: &str, context: &serde_json::Value) -> Result<String, TemplateError> {
        let env = environment();
        env.render_str(source, Value::from(minijinja::value::Serde(context)))
            .map(|text| text.trim().to_owned())
            .map_err(|e| convert(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_variables_conditions_and_filters() {
        let engine = MiniJinjaEngine;
        let ctx = json!({"name": "Anna", "city": "Athens", "n": 3});
        assert_eq!(
            engine
                .render("Hi {{ name }} in {{ city | upper }}", &ctx)
                .unwrap(),
            "Hi Anna in ATHENS"
        );
        assert_eq!(
            engine
                .render("{% if n > 2 %}many{% else %}few{% endif %}", &ctx)
                .unwrap(),
            "many"
        );
        assert_eq!(
            engine
                .render("{% if missing %}x{% endif %}ok", &ctx)
                .unwrap(),
            "ok",
            "checking an undefined value is allowed"
        );
        assert_eq!(
            engine
                .render("<b>{{ name }}</b>", &json!({"name": "<i>"}))
                .unwrap(),
            "<b><i></b>",
            "plain text, no escaping"
        );
    }

    #[test]
    fn syntax_errors_point_at_their_line_and_missing_variables_fail() {
        let engine = MiniJinjaEngine;
        let error = engine.check("line one\n{% if x %}unclosed").unwrap_err();
        assert!(error.line.is_some(), "{error:?}");
        assert!(engine.check("{{ oops }").is_err());
        assert!(engine.check("fine {{ x }}").is_ok());
        let missing = engine.render("Hello {{ nobody }}", &json!({})).unwrap_err();
        assert!(missing.message.contains("undefined"), "{missing:?}");
    }
}
