//! Validation errors shared by every value type's parser.

use std::collections::BTreeMap;

/// One field that failed to parse into a domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The name of the input field, as the client spelled it.
    pub field: &'static str,
    /// What is wrong, in words a client can show to a person.
    pub message: String,
}

impl ValidationError {
    /// A validation failure of `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }

    /// The same failure reported under the name the request used (`default_priority` for a
    /// value parsed as a priority).
    pub fn named(self, field: &'static str) -> Self {
        Self { field, ..self }
    }
}

/// Every failing field of one request, each with all of its messages, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one message for `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    /// Records the error of a failed parse, and passes the value of a successful one through.
    pub fn collect<T>(&mut self, parsed: Result<T, ValidationError>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(error.field, error.message);
                None
            }
        }
    }

    /// True when no field failed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The failing fields and their messages.
    pub fn fields(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }

    /// `Ok(())` when nothing failed, the errors otherwise.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl From<ValidationError> for FieldErrors {
    fn from(error: ValidationError) -> Self {
        let mut errors = Self::new();
        errors.add(error.field, error.message);
        errors
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (field, messages) in &self.0 {
            for message in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {message}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_messages_per_field_in_order() {
        let mut errors = FieldErrors::new();
        assert_eq!(errors.collect::<u8>(Ok(3)), Some(3));
        assert_eq!(
            errors.collect::<u8>(Err(ValidationError::new("email", "bad"))),
            None
        );
        errors.add("email", "taken");
        errors.add("age", "too young");
        assert_eq!(
            errors.to_string(),
            "age: too young; email: bad; email: taken"
        );
        assert!(errors.into_result().is_err());
        assert!(FieldErrors::new().into_result().is_ok());
    }
}
