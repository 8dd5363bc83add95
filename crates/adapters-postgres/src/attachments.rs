//! Uploaded files in PostgreSQL (`bytea`: every instance serves them, and they share the
//! database's backups).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::chat::{Attachment, AttachmentId, NewAttachment};
use domain::user::UserId;
use ports::{AttachmentStore, PortError};

use crate::errors::db;
use crate::pool::{PgPool, conn};
use crate::schema::chat_attachments;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = chat_attachments, check_for_backend(diesel::pg::Pg))]
struct AttachmentRow {
    id: i64,
    owner_id: i64,
    filename: String,
    content_type: String,
    size: i64,
    created_at: DateTime<Utc>,
}

impl AttachmentRow {
    fn into_attachment(self) -> Result<Attachment, PortError> {
        Ok(Attachment {
            id: AttachmentId::new(self.id).map_err(PortError::unexpected)?,
            owner: UserId::new(self.owner_id).map_err(PortError::unexpected)?,
            filename: self.filename,
            content_type: self.content_type,
            size: self.size,
            created_at: self.created_at,
        })
    }
}

/// The `chat_attachments` table.
#[derive(Clone)]
pub struct PgAttachments {
    pool: PgPool,
}

impl std::fmt::Debug for PgAttachments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgAttachments")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PgAttachments {
    /// The store over this pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl AttachmentStore for PgAttachments {
    async fn store(&self, file: NewAttachment) -> Result<Attachment, PortError> {
        let size = i64::try_from(file.bytes.len()).map_err(PortError::unexpected)?;
        let mut conn = conn(&self.pool).await?;
        diesel::insert_into(chat_attachments::table)
            .values((
                chat_attachments::owner_id.eq(file.owner.get()),
                chat_attachments::filename.eq(&file.filename),
                chat_attachments::content_type.eq(&file.content_type),
                chat_attachments::size.eq(size),
                chat_attachments::content.eq(&file.bytes),
            ))
            .returning(AttachmentRow::as_returning())
            .get_result::<AttachmentRow>(&mut conn)
            .await
            .map_err(db)?
            .into_attachment()
    }

    async fn get(&self, id: AttachmentId) -> Result<Attachment, PortError> {
        let mut conn = conn(&self.pool).await?;
        chat_attachments::table
            .find(id.get())
            .select(AttachmentRow::as_select())
            .first::<AttachmentRow>(&mut conn)
            .await
            .map_err(db)?
            .into_attachment()
    }

    async fn get_many(&self, ids: &[AttachmentId]) -> Result<Vec<Attachment>, PortError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<i64> = ids.iter().map(|id| id.get()).collect();
        let mut conn = conn(&self.pool).await?;
        let rows: Vec<AttachmentRow> = chat_attachments::table
            .filter(chat_attachments::id.eq_any(raw))
            .select(AttachmentRow::as_select())
            .load(&mut conn)
            .await
            .map_err(db)?;
        rows.into_iter()
            .map(AttachmentRow::into_attachment)
            .collect()
    }

    async fn content(&self, id: AttachmentId) -> Result<Vec<u8>, PortError> {
        let mut conn = conn(&self.pool).await?;
        chat_attachments::table
            .find(id.get())
            .select(chat_attachments::content)
            .first(&mut conn)
            .await
            .map_err(db)
    }
}
