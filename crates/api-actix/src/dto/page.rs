//! The list envelope of PROTOCOL §1.

use serde::Serialize;
use utoipa::ToSchema;

/// `{"results": [...], "next": <cursor or null>, "has_more": bool}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: Serialize + ToSchema> {
    /// The items.
    pub results: Vec<T>,
    /// Opaque cursor of the next page (pass back as `?cursor=`); `null` for sequence-based lists.
    pub next: Option<String>,
    /// Whether more items exist in the requested direction.
    pub has_more: bool,
}
