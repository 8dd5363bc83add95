//! `validator` results in the shared error body.

use domain::FieldErrors;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::ApiError;

/// Validates a request DTO, answering 400 with every failing field.
pub fn validate(dto: &impl Validate) -> Result<(), ApiError> {
    dto.validate()
        .map_err(|errors| ApiError::validation(&to_field_errors(&errors, "")))
}

fn to_field_errors(errors: &ValidationErrors, prefix: &str) -> FieldErrors {
    let mut out = FieldErrors::new();
    collect(errors, prefix, &mut out);
    out
}

fn collect(errors: &ValidationErrors, prefix: &str, out: &mut FieldErrors) {
    for (field, kind) in errors.errors() {
        let name = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    out.add(name.clone(), describe(error));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &name, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{name}[{index}]"), out);
                }
            }
        }
    }
}

/// A readable sentence for one failed rule.
fn describe(error: &validator::ValidationError) -> String {
    if let Some(message) = &error.message {
        return message.to_string();
    }
    let param = |key: &str| error.params.get(key).map(ToString::to_string);
    match (error.code.as_ref(), param("min"), param("max")) {
        ("length", Some(min), Some(max)) => format!("must be {min} to {max} characters long"),
        ("length", Some(min), None) => format!("must be at least {min} characters long"),
        ("length", None, Some(max)) => format!("must be at most {max} characters long"),
        ("range", Some(min), Some(max)) => format!("must be between {min} and {max}"),
        ("range", Some(min), None) => format!("must be at least {min}"),
        ("range", None, Some(max)) => format!("must be at most {max}"),
        ("email", _, _) => "enter a valid e-mail address".to_owned(),
        (code, _, _) => format!("is invalid ({code})"),
    }
}
