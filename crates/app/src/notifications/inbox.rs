//! The recipient's inbox: lists, counts, read state, deletion, replay for sessions.

use chrono::Utc;
use domain::chat::Seq;
use domain::notification::{Notification, NotificationId};
use domain::user::{User, UserId};
use ports::{BusEvent, DeliveryQueue, InboxFilter, NotificationRepository, Topic};

use crate::error::AppError;
use crate::ports::Ports;

use super::{NotificationService, admin_only};

impl<P: Ports> NotificationService<P> {
    /// The caller's notifications, newest first.
    pub async fn list(
        &self,
        actor: &User,
        filter: InboxFilter,
        before: Option<i64>,
        limit: Option<usize>,
    ) -> Result<(Vec<Notification>, bool), AppError> {
        let limit = self.page(limit)?;
        let before = before.map(Seq::new).transpose()?;
        let mut found = self
            .adapters
            .notifications
            .list(actor.id, filter, before, limit + 1, Utc::now())
            .await
            .map_err(AppError::from_port("notification"))?;
        let more = found.len() > limit;
        found.truncate(limit);
        Ok((found, more))
    }

    /// One of the caller's notifications.
    pub async fn get(&self, actor: &User, id: i64) -> Result<Notification, AppError> {
        let id = NotificationId::new(id).map_err(|_| AppError::NotFound("notification"))?;
        self.adapters
            .notifications
            .get(actor.id, id)
            .await
            .map_err(AppError::from_port("notification"))
    }

    /// The caller's unread notifications.
    pub async fn unread_count(&self, user: UserId) -> Result<i64, AppError> {
        self.adapters
            .notifications
            .unread_count(user, Utc::now())
            .await
            .map_err(AppError::from_port("notification"))
    }

    /// Marks one read and tells every session of the caller.
    pub async fn mark_read(&self, actor: &User, id: i64) -> Result<(Notification, i64), AppError> {
        let id = NotificationId::new(id).map_err(|_| AppError::NotFound("notification"))?;
        let changed = self
            .adapters
            .notifications
            .mark_read(actor.id, id, Utc::now())
            .await
            .map_err(AppError::from_port("notification"))?;
        let unread = self.unread_count(actor.id).await?;
        if changed {
            self.publish(
                Topic::User(actor.id),
                BusEvent::NotificationRead {
                    user_id: actor.id,
                    notification_id: id,
                    unread,
                },
            )
            .await;
        }
        let notification = self
            .adapters
            .notifications
            .get(actor.id, id)
            .await
            .map_err(AppError::from_port("notification"))?;
        Ok((notification, unread))
    }

    /// Marks every unread notification read; returns exactly how many changed.
    pub async fn mark_all_read(&self, actor: &User) -> Result<u64, AppError> {
        let marked = self
            .adapters
            .notifications
            .mark_all_read(actor.id, Utc::now())
            .await
            .map_err(AppError::from_port("notification"))?;
        let unread = self.unread_count(actor.id).await?;
        self.publish(
            Topic::User(actor.id),
            BusEvent::AllNotificationsRead {
                user_id: actor.id,
                marked_count: marked,
                unread,
            },
        )
        .await;
        Ok(marked)
    }

    /// Deletes one of the caller's notifications.
    pub async fn delete(&self, actor: &User, id: i64) -> Result<(), AppError> {
        let id = NotificationId::new(id).map_err(|_| AppError::NotFound("notification"))?;
        self.adapters
            .notifications
            .delete(actor.id, id)
            .await
            .map_err(AppError::from_port("notification"))?;
        let unread = self.unread_count(actor.id).await?;
        self.publish(
            Topic::User(actor.id),
            BusEvent::InboxCount {
                user_id: actor.id,
                unread,
            },
        )
        .await;
        Ok(())
    }

    /// Notifications after `after`, oldest first (a session's replay).
    pub async fn replay(
        &self,
        user: UserId,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<Notification>, AppError> {
        self.adapters
            .notifications
            .after(user, after, limit, Utc::now())
            .await
            .map_err(AppError::from_port("notification"))
    }

    /// The newest unread notifications (the compatibility socket's greeting).
    pub async fn recent_unread(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<Notification>, AppError> {
        let filter = InboxFilter {
            unread_only: true,
            kind: None,
        };
        self.adapters
            .notifications
            .list(user, filter, None, limit, Utc::now())
            .await
            .map_err(AppError::from_port("notification"))
    }

    /// The inbox head (a session's starting point).
    pub async fn head(&self, user: UserId) -> Result<Seq, AppError> {
        self.adapters
            .notifications
            .head_seq(user)
            .await
            .map_err(AppError::from_port("notification"))
    }

    /// Records the first live delivery of a notification.
    pub async fn mark_delivered(&self, id: NotificationId) {
        if let Err(error) = self
            .adapters
            .notifications
            .mark_delivered(id, Utc::now())
            .await
        {
            tracing::warn!(%error, notification = %id, "recording a delivery failed");
        }
    }

    /// The deliveries of one of the caller's notifications (admins: any).
    pub async fn deliveries(
        &self,
        actor: &User,
        id: i64,
    ) -> Result<Vec<ports::DeliveryRecord>, AppError> {
        admin_only(actor)?;
        let id = NotificationId::new(id).map_err(|_| AppError::NotFound("notification"))?;
        self.adapters
            .deliveries
            .of_notification(id)
            .await
            .map_err(AppError::from_port("notification"))
    }
}
