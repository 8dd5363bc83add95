//! diesel and pool errors as port errors.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use ports::PortError;

/// Maps a query error. Unique violations name the rule by the constraint or index that fired,
/// through `rules` (`(substring of the constraint name, rule)`); a lost connection or a server
/// shutting down is `Unavailable` (retryable); anything else is `Unexpected`.
pub(crate) fn map_query_error(error: DieselError, rules: &[(&str, &'static str)]) -> PortError {
    match &error {
        DieselError::NotFound => PortError::NotFound,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            let constraint = info.constraint_name().unwrap_or_default();
            rules
                .iter()
                .find(|(needle, _)| constraint.contains(needle))
                .map_or_else(
                    || PortError::unexpected(format!("unique violation on {constraint}")),
                    |(_, rule)| PortError::Conflict(rule),
                )
        }
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => PortError::unavailable(error),
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
            if is_shutdown_message(info.message()) =>
        {
            PortError::unavailable(error)
        }
        _ => PortError::unexpected(error),
    }
}

/// The messages PostgreSQL sends while stopping or starting (SQLSTATE 57P01–57P03), which the
/// driver does not classify.
fn is_shutdown_message(message: &str) -> bool {
    [
        "terminating connection",
        "shutting down",
        "starting up",
        "in recovery mode",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

/// Maps a failure to obtain a pooled connection: always `Unavailable`.
pub(crate) fn map_pool_error(error: impl std::error::Error + Send + Sync + 'static) -> PortError {
    PortError::unavailable(error)
}

/// Shorthand for query errors without unique rules.
pub(crate) fn db(error: DieselError) -> PortError {
    map_query_error(error, &[])
}
