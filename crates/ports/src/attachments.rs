//! Storage of uploaded files.

use std::future::Future;

use domain::chat::{Attachment, AttachmentId, NewAttachment};

use crate::PortError;

/// Uploaded files and their metadata.
pub trait AttachmentStore: Clone + Send + Sync + 'static {
    /// Stores a file and returns its metadata. Errors: `Unexpected` only.
    fn store(
        &self,
        file: NewAttachment,
    ) -> impl Future<Output = Result<Attachment, PortError>> + Send;

    /// A file's metadata. Errors: `NotFound`.
    fn get(&self, id: AttachmentId) -> impl Future<Output = Result<Attachment, PortError>> + Send;

    /// These files' metadata (unknown ids are skipped).
    fn get_many(
        &self,
        ids: &[AttachmentId],
    ) -> impl Future<Output = Result<Vec<Attachment>, PortError>> + Send;

    /// A file's bytes. Errors: `NotFound`.
    fn content(&self, id: AttachmentId) -> impl Future<Output = Result<Vec<u8>, PortError>> + Send;
}
