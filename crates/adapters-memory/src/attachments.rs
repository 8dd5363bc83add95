//! Uploaded files, in memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use domain::chat::{Attachment, AttachmentId, NewAttachment};
use ports::{AttachmentStore, PortError};

use crate::lock::lock;

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<AttachmentId, (Attachment, Arc<Vec<u8>>)>,
    last_id: i64,
}

/// Files and their metadata.
#[derive(Debug, Clone, Default)]
pub struct MemoryAttachments {
    state: Arc<Mutex<State>>,
}

impl AttachmentStore for MemoryAttachments {
    async fn store(&self, file: NewAttachment) -> Result<Attachment, PortError> {
        let mut state = lock(&self.state);
        state.last_id += 1;
        let attachment = Attachment {
            id: AttachmentId::new(state.last_id).map_err(PortError::unexpected)?,
            owner: file.owner,
            filename: file.filename,
            content_type: file.content_type,
            size: i64::try_from(file.bytes.len()).map_err(PortError::unexpected)?,
            created_at: Utc::now(),
        };
        state
            .files
            .insert(attachment.id, (attachment.clone(), Arc::new(file.bytes)));
        Ok(attachment)
    }

    async fn get(&self, id: AttachmentId) -> Result<Attachment, PortError> {
        lock(&self.state)
            .files
            .get(&id)
            .map(|(a, _)| a.clone())
            .ok_or(PortError::NotFound)
    }

    async fn get_many(&self, ids: &[AttachmentId]) -> Result<Vec<Attachment>, PortError> {
        let state = lock(&self.state);
        Ok(ids
            .iter()
            .filter_map(|id| state.files.get(id).map(|(a, _)| a.clone()))
            .collect())
    }

    async fn content(&self, id: AttachmentId) -> Result<Vec<u8>, PortError> {
        let bytes = lock(&self.state)
            .files
            .get(&id)
            .map(|(_, b)| b.clone())
            .ok_or(PortError::NotFound)?;
        Ok(bytes.as_ref().clone())
    }
}
