//! `message_received` notifications: after a chat message, each other participant without a live
//! session showing that room gets one — collapsed per room, so a conversation they missed is one
//! unread notification that keeps up with it, not one per message.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use domain::chat::{MessageView, Room, RoomId};
use domain::notification::{ActionUrl, NotificationType, ObjectRef};
use domain::user::UserId;
use ports::{ChatRepository, EventBus, HistoryCursor, UserRepository};
use serde_json::{Map, json};

use crate::error::AppError;
use crate::notifications::{NotificationService, Notify};
use crate::ports::{Adapters, Ports};
use crate::realtime::Hub;

/// Who is looking at a room right now (a session subscribed to it).
pub trait RoomWatchers: Send + Sync + 'static {
    /// Users with a session showing `room`.
    fn watching(&self, room: RoomId) -> HashSet<UserId>;
}

impl<B: EventBus> RoomWatchers for Hub<B> {
    fn watching(&self, room: RoomId) -> HashSet<UserId> {
        Hub::watching(self, room)
    }
}

/// Shortest time between two alert runs of one room.
const RUN_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Characters of the message shown in the notification.
const PREVIEW_CHARS: usize = 100;

/// Messages looked at to find the newest one a person wrote (job rooms carry system notes).
const LOOK_BACK: usize = 20;

/// Sends `message_received` notifications in the background.
pub struct MessageAlerts<P: Ports> {
    adapters: Adapters<P>,
    notifications: NotificationService<P>,
    watchers: Arc<dyn RoomWatchers>,
    max_members: usize,
    /// Rooms with an alert run underway, and whether another message came in meanwhile. A run
    /// reads the room's latest state, so one more run after the current one covers any number of
    /// messages that arrived during it: a busy room costs one run at a time, not one per message
    /// (a room at 1,000 messages/s would otherwise queue a thousand runs a second).
    rooms: Arc<Mutex<HashMap<RoomId, bool>>>,
}

impl<P: Ports> Clone for MessageAlerts<P> {
    fn clone(&self) -> Self {
        Self {
            adapters: self.adapters.clone(),
            notifications: self.notifications.clone(),
            watchers: self.watchers.clone(),
            max_members: self.max_members,
            rooms: self.rooms.clone(),
        }
    }
}

impl<P: Ports> std::fmt::Debug for MessageAlerts<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageAlerts")
            .field("max_members", &self.max_members)
            .finish_non_exhaustive()
    }
}

impl<P: Ports> MessageAlerts<P> {
    /// Alerts for rooms of at most `max_members` members (larger rooms are browsed, not paged).
    pub fn new(
        adapters: Adapters<P>,
        notifications: NotificationService<P>,
        watchers: Arc<dyn RoomWatchers>,
        max_members: usize,
    ) -> Self {
        Self {
            adapters,
            notifications,
            watchers,
            max_members,
            rooms: Arc::default(),
        }
    }

    /// Alerts the participants of `room` about its new message in the background; the sender
    /// does not wait. System messages alert nobody (the event that wrote them notified already).
    pub fn spawn(&self, view: MessageView, room: Room) {
        if view.message.sender.is_none() || !self.claim(room.id) {
            return;
        }
        let alerts = self.clone();
        tokio::spawn(async move {
            loop {
                let started = tokio::time::Instant::now();
                if let Err(error) = alerts.run(&room).await {
                    tracing::warn!(%error, room = %room.id, "message notifications failed");
                }
                // A busy room is looked at a few times a second, not once per message: the
                // notification says "N unread" and shows the newest, which a run catches up on.
                tokio::time::sleep_until(started + RUN_EVERY).await;
                if !alerts.again(room.id) {
                    break;
                }
            }
        });
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, bool>> {
        self.rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the caller should start a run for `room`; if one is underway it is asked to run
    /// once more instead.
    fn claim(&self, room: RoomId) -> bool {
        let mut rooms = self.rooms();
        match rooms.get_mut(&room) {
            Some(more) => {
                *more = true;
                false
            }
            None => {
                rooms.insert(room, false);
                true
            }
        }
    }

    /// After a run: whether messages arrived during it (then run again), else forget the room.
    fn again(&self, room: RoomId) -> bool {
        let mut rooms = self.rooms();
        if rooms.get(&room).copied().unwrap_or(false) {
            rooms.insert(room, false);
            true
        } else {
            rooms.remove(&room);
            false
        }
    }

    /// The newest message a person wrote in the room, with its sender.
    async fn latest(&self, room: &Room) -> Result<Option<MessageView>, AppError> {
        let page = self
            .adapters
            .chat
            .history(room.id, HistoryCursor::Latest, LOOK_BACK)
            .await
            .map_err(AppError::from_port("room"))?;
        let Some(message) = page
            .messages
            .into_iter()
            .rev()
            .find(|m| m.sender.is_some() && !m.is_deleted())
        else {
            return Ok(None);
        };
        let sender = match message.sender {
            Some(id) => self
                .adapters
                .users
                .get(id)
                .await
                .ok()
                .map(|u| domain::chat::UserSummary::from(&u)),
            None => None,
        };
        Ok(Some(MessageView {
            message,
            sender,
            reply: None,
            attachment: None,
        }))
    }

    async fn run(&self, room: &Room) -> Result<(), AppError> {
        // Who could be alerted comes first: in big rooms and rooms everyone is watching (most
        // chats in progress) that answers "nobody" without reading the history.
        let members = self
            .adapters
            .chat
            .participants(&[room.id])
            .await
            .map_err(AppError::from_port("room"))?;
        if members.len() > self.max_members {
            return Ok(());
        }
        let watching = self.watchers.watching(room.id);
        let now = Utc::now();
        if members.iter().all(|p| watching.contains(&p.user_id)) {
            return Ok(());
        }
        let Some(view) = self.latest(room).await? else {
            return Ok(());
        };
        let Some(sender) = view.message.sender else {
            return Ok(());
        };
        let others: Vec<UserId> = members
            .iter()
            .filter(|p| p.user_id != sender && !watching.contains(&p.user_id))
            .filter(|p| p.muted_until.is_none_or(|until| until <= now))
            .map(|p| p.user_id)
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        let users = self
            .adapters
            .users
            .get_many(&others)
            .await
            .map_err(AppError::from_port("user"))?;
        let sender_name = view
            .sender
            .as_ref()
            .map(|s| s.display_name.clone())
            .unwrap_or_default();
        let preview: String = view.message.content.chars().take(PREVIEW_CHARS).collect();
        for user in users.into_iter().filter(|u| u.is_active) {
            let unread = self
                .adapters
                .chat
                .unread_in(room.id, user.id)
                .await
                .map_err(AppError::from_port("room"))?;
            if unread == 0 {
                continue;
            }
            let mut context = Map::new();
            context.insert("room_id".into(), json!(room.id.get()));
            context.insert("sender_name".into(), json!(sender_name));
            context.insert("preview".into(), json!(preview));
            context.insert(
                "job_id".into(),
                json!(room.job.map(|k| k.job_id.to_string()).unwrap_or_default()),
            );
            let mut request = Notify::new(user.id, NotificationType::MessageReceived, context);
            request.sender = Some(sender);
            request.object = ObjectRef::new("room", room.id.get()).ok();
            request.action_url = ActionUrl::parse(&format!("/messages/?room={}", room.id)).ok();
            request.metadata = json!({
                "room_id": room.id.get(),
                "message_id": view.message.id.get(),
                "unread_messages": unread,
            })
            .as_object()
            .cloned()
            .unwrap_or_default();
            self.notifications
                .notify_collapsed(request, &format!("room:{}", room.id))
                .await?;
        }
        Ok(())
    }
}
