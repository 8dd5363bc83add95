//! One live session: its view of the user's rooms, its subscriptions, and the protocol logic that
//! turns client requests and hub deliveries into frames. Transport-agnostic: the gateway feeds it
//! parsed requests and writes out what it returns.
//!
//! Exactly-once, in-order delivery per session: for each subscribed room the session remembers
//! the last `seq` it delivered. A live message at or below it is a duplicate and dropped; one
//! beyond the next is a gap, filled from storage before the live one is sent. Replays after
//! `subscribe_room {since_seq}` go through the same bookkeeping, so a message is sent once
//! whether it arrives by replay, by the bus, or both.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::auth::Principal;
use domain::chat::{MessageView, RoomId, RoomState, Seq};
use domain::user::{User, UserId};
use ports::{BusEvent, Topic, UnreadCounts};

use crate::error::AppError;
use crate::ports::Ports;
use crate::realtime::early::Early;
use crate::realtime::frames::{
    ClientFrame, ClientRequest, FrameEncoder, Outbound, ServerFrame, close,
};
use crate::realtime::hub::{Delivery, SessionId};
use crate::realtime::rate::{RateLimiter, RateSettings, Verdict};
use crate::{SendMessage, Services};

/// Per-session behaviour.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Interval of server pings; a client silent for twice this long is closed.
    pub heartbeat: Duration,
    /// A typing indicator expires after this long without renewal.
    pub typing_ttl: Duration,
    /// Typing notices are broadcast at most this often per room.
    pub typing_throttle: Duration,
    /// Client frame rate limits.
    pub rate: RateSettings,
    /// Messages fetched per storage round-trip during a replay.
    pub replay_page: usize,
}

/// What the session knows of one of its user's rooms.
#[derive(Debug, Clone)]
struct RoomView {
    state: RoomState,
    /// The user's read cursor.
    cursor: Seq,
    /// The highest seq accounted for in `unread`.
    head: Seq,
    /// The user's unread messages in the room.
    unread: i64,
    /// When subscribed: the highest seq delivered to this session.
    delivered: Option<Seq>,
}

#[derive(Debug, Clone, Copy)]
struct Typing {
    until: Instant,
    broadcast_at: Instant,
}

/// A live session.
pub struct Session<P: Ports> {
    services: Services<P>,
    encoder: Arc<dyn FrameEncoder>,
    settings: SessionSettings,
    id: SessionId,
    user: User,
    expires_at: DateTime<Utc>,
    rooms: HashMap<RoomId, RoomView>,
    typing: HashMap<RoomId, Typing>,
    limiter: RateLimiter,
    /// Other users' presence as this session last showed it: online, and their username.
    presence: HashMap<UserId, (bool, String)>,
    /// When others' presence was last re-checked.
    presence_check: Instant,
    notifications_unread: i64,
    /// After `subscribe_notifications`: the highest inbox seq delivered.
    notifications_delivered: Option<Seq>,
    /// Messages that arrived ahead of their turn (see [`super::early`]).
    early: Early<Arc<Delivery>>,
    /// When new messages last pushed the unread counts, and whether a push is owed since
    /// (see [`UNREAD_PUSH_EVERY`]).
    unread_pushed: Option<Instant>,
    unread_owed: bool,
}

/// New messages push the unread counts at most this often per session; the latest counts follow
/// within a tick. A member of a busy room would otherwise get one `unread_count` frame per
/// message: at 1,000 messages a second that doubled the frames a room's fan-out writes.
const UNREAD_PUSH_EVERY: Duration = Duration::from_millis(250);

impl<P: Ports> std::fmt::Debug for Session<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user", &self.user.id)
            .field("rooms", &self.rooms.len())
            .finish_non_exhaustive()
    }
}

/// The error frame for a failed request.
fn error_frame(error: &AppError, reference: Option<String>, room_id: Option<i64>) -> ServerFrame {
    if matches!(error, AppError::Unexpected(_) | AppError::Unavailable(_)) {
        tracing::warn!(%error, "session request failed");
    }
    ServerFrame::Error {
        code: error.code().to_owned(),
        message: error.public_message(),
        reference,
        room_id,
    }
}

impl<P: Ports> Session<P> {
    /// Starts a session for `user` whose token expires at `expires_at`: follows the user's topic
    /// and rooms, announces presence, and returns the opening frames.
    pub async fn start(
        services: Services<P>,
        encoder: Arc<dyn FrameEncoder>,
        settings: SessionSettings,
        user: User,
        expires_at: DateTime<Utc>,
        id: SessionId,
    ) -> Result<(Self, Vec<Outbound>), AppError> {
        // Across instances: the user's session cap, and whether they just came online.
        let first_of_user = services.presence.connect(user.id, id).await?;
        let opened = async {
            let hub = services.hub.clone();
            hub.follow(id, Topic::User(user.id)).await;
            // Follow the rooms first, then take the counts: an event that lands in between is both
            // queued and counted, and the queued copy is recognised by its seq and ignored.
            let before = services.chat.memberships(user.id).await?;
            for membership in &before {
                hub.follow(id, Topic::Room(membership.room.id)).await;
            }
            let memberships = services.chat.memberships(user.id).await?;
            let mut rooms = HashMap::new();
            for membership in memberships {
                if !before.iter().any(|b| b.room.id == membership.room.id) {
                    hub.follow(id, Topic::Room(membership.room.id)).await;
                }
                rooms.insert(
                    membership.room.id,
                    RoomView {
                        state: membership.room.state,
                        cursor: membership.last_read_seq,
                        head: membership.room.head_seq,
                        unread: membership.unread,
                        delivered: None,
                    },
                );
            }
            let notifications_unread = services.notifications.unread_count(user.id).await?;
            Ok::<_, AppError>((rooms, notifications_unread))
        }
        .await;
        let (rooms, notifications_unread) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                services.presence.disconnect(user.id, id).await;
                return Err(error);
            }
        };
        let limiter = RateLimiter::new(settings.rate, Instant::now());
        let session = Self {
            services,
            encoder,
            settings,
            id,
            user,
            expires_at,
            rooms,
            typing: HashMap::new(),
            limiter,
            presence: HashMap::new(),
            presence_check: Instant::now(),
            notifications_unread,
            notifications_delivered: None,
            early: Early::default(),
            unread_pushed: None,
            unread_owed: false,
        };
        if first_of_user {
            let rooms: Vec<RoomId> = session.rooms.keys().copied().collect();
            session
                .services
                .chat
                .publish_presence(&session.user, &rooms, true)
                .await;
        }
        let frames = vec![
            session.text(&ServerFrame::ConnectionEstablished {
                user_id: session.user.id,
                session_id: format!("{}-{}", std::process::id(), id),
                server_time: Utc::now(),
                heartbeat_s: session.settings.heartbeat.as_secs(),
            }),
            session.unread_frame(),
        ];
        Ok((session, frames))
    }

    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The user.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// When the session's token expires (the gateway closes with 4001 then).
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    fn text(&self, frame: &ServerFrame) -> Outbound {
        Outbound::Text(self.encoder.encode(frame))
    }

    fn unread_frame(&self) -> Outbound {
        self.text(&ServerFrame::UnreadCount {
            notifications: self.notifications_unread,
            chat: self.unread_counts(),
        })
    }

    fn unread_counts(&self) -> UnreadCounts {
        let mut counts = UnreadCounts::default();
        for (id, view) in &self.rooms {
            if view.unread > 0 {
                counts.total += view.unread;
                counts.rooms.insert(*id, view.unread);
            }
        }
        counts
    }

    /// Handles one request. Rate limits apply first; every failure is an `error` frame.
    pub async fn on_request(&mut self, frame: ClientFrame) -> Vec<Outbound> {
        match self.limiter.check(Instant::now()) {
            Verdict::Allow => {}
            Verdict::Refuse => {
                return vec![self.text(&ServerFrame::Error {
                    code: "rate_limited".to_owned(),
                    message: "too many frames; slow down".to_owned(),
                    reference: frame.reference,
                    room_id: None,
                })];
            }
            Verdict::Close => {
                return vec![Outbound::Close(
                    close::POLICY,
                    "rate limit exceeded repeatedly".to_owned(),
                )];
            }
        }
        let reference = frame.reference;
        match frame.request {
            ClientRequest::SubscribeRoom { room_id, since_seq } => {
                self.subscribe(room_id, since_seq, reference).await
            }
            ClientRequest::UnsubscribeRoom { room_id } => self.unsubscribe(room_id, reference),
            ClientRequest::SendMessage {
                room_id,
                content,
                message_type,
                reply_to,
                client_msg_id,
                attachment_id,
            } => {
                let input = SendMessage {
                    room_id,
                    content,
                    message_type,
                    reply_to,
                    client_msg_id: Some(client_msg_id.clone()),
                    attachment_id,
                };
                match self.services.chat.send_message(&self.user, input).await {
                    Ok((message, _)) => vec![self.text(&ServerFrame::MessageAck {
                        client_msg_id,
                        message,
                        reference,
                    })],
                    Err(error) => vec![self.text(&error_frame(&error, reference, Some(room_id)))],
                }
            }
            ClientRequest::EditMessage {
                message_id,
                content,
            } => {
                let result = self
                    .services
                    .chat
                    .edit_message(&self.user, message_id, &content)
                    .await;
                self.answer_change(result, reference, |message, own| {
                    ServerFrame::MessageUpdated { message, own }
                })
            }
            ClientRequest::DeleteMessage { message_id } => {
                let result = self
                    .services
                    .chat
                    .delete_message(&self.user, message_id)
                    .await;
                self.answer_change(result, reference, |message, own| {
                    ServerFrame::MessageDeleted { message, own }
                })
            }
            ClientRequest::Typing { room_id, is_typing } => {
                self.typing(room_id, is_typing, reference).await
            }
            ClientRequest::MarkMessageRead { message_id } => {
                match self
                    .services
                    .chat
                    .mark_message_read(&self.user, message_id)
                    .await
                {
                    Ok(_) => Vec::new(),
                    Err(error) => vec![self.text(&error_frame(&error, reference, None))],
                }
            }
            ClientRequest::MarkRead { room_id, seq } => {
                match self.services.chat.mark_read(&self.user, room_id, seq).await {
                    // The receipt and the fresh counts arrive through the bus, for every session alike.
                    Ok(_) => Vec::new(),
                    Err(error) => vec![self.text(&error_frame(&error, reference, Some(room_id)))],
                }
            }
            ClientRequest::GetUnreadCount => {
                if let Ok(unread) = self.services.notifications.unread_count(self.user.id).await {
                    self.notifications_unread = unread;
                }
                match self.services.chat.memberships(self.user.id).await {
                    Ok(memberships) => {
                        for membership in memberships {
                            if let Some(view) = self.rooms.get_mut(&membership.room.id) {
                                view.unread = membership.unread;
                                view.cursor = membership.last_read_seq;
                                view.head = view.head.max(membership.room.head_seq);
                            }
                        }
                        vec![self.unread_frame()]
                    }
                    Err(error) => vec![self.text(&error_frame(&error, reference, None))],
                }
            }
            ClientRequest::AuthRefresh { token } => self.refresh(&token, reference).await,
            ClientRequest::Ping => vec![self.text(&ServerFrame::Pong {
                server_time: Utc::now(),
                reference,
            })],
            ClientRequest::SubscribeNotifications { since_seq } => {
                self.subscribe_notifications(since_seq, reference).await
            }
            ClientRequest::MarkNotificationRead { notification_id } => {
                match self
                    .services
                    .notifications
                    .mark_read(&self.user, notification_id)
                    .await
                {
                    // notification_read and the fresh count arrive through the bus, on every session.
                    Ok(_) => Vec::new(),
                    Err(error) => vec![self.text(&error_frame(&error, reference, None))],
                }
            }
            ClientRequest::MarkAllNotificationsRead => {
                match self.services.notifications.mark_all_read(&self.user).await {
                    Ok(_) => Vec::new(),
                    Err(error) => vec![self.text(&error_frame(&error, reference, None))],
                }
            }
            ClientRequest::RecentNotifications { limit } => {
                match self
                    .services
                    .notifications
                    .recent_unread(self.user.id, limit)
                    .await
                {
                    Ok(notifications) => {
                        vec![self.text(&ServerFrame::RecentNotifications { notifications })]
                    }
                    Err(error) => vec![self.text(&error_frame(&error, reference, None))],
                }
            }
        }
    }

    /// An edit or delete: subscribed sessions see it through the bus; if this session does not
    /// follow the room live, it gets the result directly.
    fn answer_change(
        &self,
        result: Result<MessageView, AppError>,
        reference: Option<String>,
        frame: impl FnOnce(MessageView, bool) -> ServerFrame,
    ) -> Vec<Outbound> {
        match result {
            Ok(view) => {
                let subscribed = self
                    .rooms
                    .get(&view.message.room_id)
                    .is_some_and(|r| r.delivered.is_some());
                if subscribed {
                    Vec::new()
                } else {
                    let own = view.is_own(self.user.id);
                    vec![self.text(&frame(view, own))]
                }
            }
            Err(error) => vec![self.text(&error_frame(&error, reference, None))],
        }
    }

    fn room_id(raw: i64) -> Result<RoomId, AppError> {
        RoomId::new(raw).map_err(|_| AppError::NotFound("room"))
    }

    async fn subscribe(
        &mut self,
        raw: i64,
        since: Option<i64>,
        reference: Option<String>,
    ) -> Vec<Outbound> {
        let result: Result<Vec<Outbound>, AppError> = async {
            let room_id = Self::room_id(raw)?;
            if !self.rooms.contains_key(&room_id) {
                return Err(AppError::NotFound("room"));
            }
            let since = since.map(Seq::new).transpose()?;
            let room = self.services.chat.member_room(&self.user, room_id).await?.0;
            let head = room.head_seq;
            let start = since.unwrap_or(head).min(head);
            let mut out = vec![self.text(&ServerFrame::Subscribed {
                room_id,
                last_seq: head,
                reference: reference.clone(),
            })];
            // Who is here already (on any instance).
            let members = self.services.chat.participants(&self.user, raw).await?;
            let others: Vec<UserId> = members
                .iter()
                .map(|(p, _)| p.user_id)
                .filter(|u| *u != self.user.id)
                .collect();
            let online = self.services.presence.online(&others).await;
            for (participant, summary) in members {
                let other = participant.user_id;
                if online.contains(&other) {
                    self.presence
                        .insert(other, (true, summary.username.clone()));
                    out.push(self.text(&ServerFrame::Presence {
                        user_id: other,
                        username: summary.username,
                        online: true,
                        last_seen: None,
                    }));
                }
            }
            if let Some(view) = self.rooms.get_mut(&room_id) {
                view.delivered = Some(start);
                view.state = room.state;
            }
            self.services.hub.watch(self.id, room_id);
            out.extend(self.catch_up(room_id, head).await?);
            Ok(out)
        }
        .await;
        result.unwrap_or_else(|error| vec![self.text(&error_frame(&error, reference, Some(raw)))])
    }

    /// Sends every stored message of a subscribed room from the delivered mark up to `until`.
    async fn catch_up(&mut self, room_id: RoomId, until: Seq) -> Result<Vec<Outbound>, AppError> {
        let mut out = Vec::new();
        loop {
            let Some(delivered) = self.rooms.get(&room_id).and_then(|r| r.delivered) else {
                return Ok(out);
            };
            if delivered >= until {
                return Ok(out);
            }
            let (views, more) = self
                .services
                .chat
                .replay(room_id, delivered, self.settings.replay_page)
                .await?;
            let Some(last) = views.last().map(|v| v.message.seq) else {
                return Ok(out);
            };
            for view in views {
                let own = view.is_own(self.user.id);
                out.push(self.text(&ServerFrame::NewMessage { message: view, own }));
            }
            if let Some(room) = self.rooms.get_mut(&room_id) {
                room.delivered = Some(last);
            }
            if !more {
                return Ok(out);
            }
        }
    }

    /// Reconciliation: the room's stored head is beyond what went by live. Counts are taken
    /// again and a subscribed room gets the missing messages, in order, each once.
    async fn on_room_head(&mut self, room_id: RoomId, head: Seq) -> Vec<Outbound> {
        let Some(room) = self.rooms.get(&room_id) else {
            return Vec::new();
        };
        let mut counts_changed = false;
        if head > room.head
            && let Ok(unread) = self
                .services
                .chat
                .unread_in_room(room_id, self.user.id)
                .await
            && let Some(room) = self.rooms.get_mut(&room_id)
        {
            room.head = head;
            counts_changed = room.unread != unread;
            room.unread = unread;
        }
        let mut out = Vec::new();
        let delivered = self.rooms.get(&room_id).and_then(|r| r.delivered);
        if delivered.is_some_and(|d| head > d) {
            match self.catch_up(room_id, head).await {
                Ok(frames) => out.extend(frames),
                Err(error) => {
                    tracing::warn!(%error, "reconciling a room failed; the next pass retries")
                }
            }
        }
        if counts_changed {
            out.push(self.unread_frame());
        }
        out
    }

    /// Reconciliation of the inbox: missed notifications are replayed to a session that
    /// subscribed to them, and the count is taken again.
    async fn on_inbox_head(&mut self, head: Seq) -> Vec<Outbound> {
        let mut out = Vec::new();
        if let Some(mut mark) = self.notifications_delivered.filter(|d| head > *d) {
            let replayed = self.replay_inbox(&mut mark, head, &mut out).await;
            self.notifications_delivered = Some(mark);
            if let Err(error) = replayed {
                tracing::warn!(%error, "reconciling an inbox failed; the next pass retries");
            }
        }
        if let Ok(unread) = self.services.notifications.unread_count(self.user.id).await
            && unread != self.notifications_unread
        {
            self.notifications_unread = unread;
            out.push(self.unread_frame());
        }
        out
    }

    /// Pushes the stored notifications after `mark` up to `head` onto `out`, page by page,
    /// moving `mark` past each page sent (so a failure part-way keeps what was sent).
    async fn replay_inbox(
        &mut self,
        mark: &mut Seq,
        head: Seq,
        out: &mut Vec<Outbound>,
    ) -> Result<(), AppError> {
        loop {
            let page = self
                .services
                .notifications
                .replay(self.user.id, *mark, self.settings.replay_page)
                .await?;
            let Some(last) = page.last().map(|n| n.seq) else {
                return Ok(());
            };
            let full = page.len() >= self.settings.replay_page;
            for notification in page {
                out.push(self.text(&ServerFrame::NewNotification { notification }));
            }
            *mark = last;
            if !full || *mark >= head {
                return Ok(());
            }
        }
    }

    /// Replays the inbox after `since` (oldest first); live notifications keep arriving, each
    /// once: those at or below the replayed mark are dropped.
    async fn subscribe_notifications(
        &mut self,
        since: Option<i64>,
        reference: Option<String>,
    ) -> Vec<Outbound> {
        let result: Result<Vec<Outbound>, AppError> = async {
            let since = since.map(Seq::new).transpose()?;
            let head = self.services.notifications.head(self.user.id).await?;
            let mut mark = since.unwrap_or(head).min(head);
            let mut out = vec![self.text(&ServerFrame::NotificationsSubscribed {
                last_seq: head,
                reference: reference.clone(),
            })];
            self.replay_inbox(&mut mark, head, &mut out).await?;
            // Everything up to the head was replayed (or has expired); later ones arrive live.
            let mark = mark.max(head);
            self.notifications_delivered =
                Some(self.notifications_delivered.map_or(mark, |d| d.max(mark)));
            Ok(out)
        }
        .await;
        result.unwrap_or_else(|error| vec![self.text(&error_frame(&error, reference, None))])
    }

    fn unsubscribe(&mut self, raw: i64, reference: Option<String>) -> Vec<Outbound> {
        let Ok(room_id) = Self::room_id(raw) else {
            return vec![self.text(&error_frame(
                &AppError::NotFound("room"),
                reference,
                Some(raw),
            ))];
        };
        match self.rooms.get_mut(&room_id) {
            Some(view) => {
                view.delivered = None;
                self.services.hub.unwatch(self.id, room_id);
                vec![self.text(&ServerFrame::Unsubscribed { room_id, reference })]
            }
            None => vec![self.text(&error_frame(
                &AppError::NotFound("room"),
                reference,
                Some(raw),
            ))],
        }
    }

    async fn typing(
        &mut self,
        raw: i64,
        is_typing: bool,
        reference: Option<String>,
    ) -> Vec<Outbound> {
        let room_id = match Self::room_id(raw) {
            Ok(id) if self.rooms.contains_key(&id) => id,
            _ => {
                return vec![self.text(&error_frame(
                    &AppError::NotFound("room"),
                    reference,
                    Some(raw),
                ))];
            }
        };
        let now = Instant::now();
        if is_typing {
            let until = now + self.settings.typing_ttl;
            match self.typing.get_mut(&room_id) {
                Some(state)
                    if now.saturating_duration_since(state.broadcast_at)
                        < self.settings.typing_throttle =>
                {
                    state.until = until;
                }
                _ => {
                    self.typing.insert(
                        room_id,
                        Typing {
                            until,
                            broadcast_at: now,
                        },
                    );
                    // The user's other sessions (on any instance) may have just said so.
                    let fresh = self
                        .services
                        .chat
                        .claim_typing(&self.user, room_id, self.settings.typing_throttle)
                        .await;
                    if fresh {
                        self.services
                            .chat
                            .publish_typing(&self.user, room_id, true)
                            .await;
                    }
                }
            }
        } else if self.typing.remove(&room_id).is_some() {
            self.services.chat.release_typing(&self.user, room_id).await;
            self.services
                .chat
                .publish_typing(&self.user, room_id, false)
                .await;
        }
        Vec::new()
    }

    async fn refresh(&mut self, token: &str, reference: Option<String>) -> Vec<Outbound> {
        match self.services.authenticator.authenticate(token).await {
            Ok((Principal::User(user), claims)) if user.id == self.user.id => {
                self.expires_at = claims.expires_at;
                self.user = user;
                vec![self.text(&ServerFrame::AuthRefreshed {
                    exp: claims.expires_at,
                    reference,
                })]
            }
            Ok(_) => vec![self.text(&error_frame(
                &AppError::forbidden(
                    "token_user_mismatch",
                    "the new token is for another principal",
                ),
                reference,
                None,
            ))],
            Err(error) => vec![self.text(&error_frame(&error, reference, None))],
        }
    }

    /// Expires typing indicators whose time has come. The gateway calls it about once a second.
    pub async fn on_tick(&mut self, now: Instant) -> Vec<Outbound> {
        let mut out = self.release_overdue(now).await;
        out.extend(self.owed_unread(now));
        // Users shown online whose sessions all expired (their instance died): show them offline.
        let ttl = self.services.presence.ttl();
        if now.duration_since(self.presence_check) >= ttl {
            self.presence_check = now;
            let shown: Vec<UserId> = self
                .presence
                .iter()
                .filter(|(_, (online, _))| *online)
                .map(|(user, _)| *user)
                .collect();
            if !shown.is_empty() {
                let online = self.services.presence.online(&shown).await;
                for user in shown.into_iter().filter(|u| !online.contains(u)) {
                    if let Some((state, username)) = self.presence.get_mut(&user) {
                        *state = false;
                        let username = username.clone();
                        out.push(self.text(&ServerFrame::Presence {
                            user_id: user,
                            username,
                            online: false,
                            last_seen: None,
                        }));
                    }
                }
            }
        }
        let expired: Vec<RoomId> = self
            .typing
            .iter()
            .filter(|(_, t)| t.until <= now)
            .map(|(room, _)| *room)
            .collect();
        for room in expired {
            self.typing.remove(&room);
            self.services.chat.release_typing(&self.user, room).await;
            self.services
                .chat
                .publish_typing(&self.user, room, false)
                .await;
        }
        out
    }

    /// When [`Self::on_tick`] next has work: the presence re-check, a held message given up on,
    /// owed unread counts, a typing indicator running out. The gateway sleeps until then — an
    /// idle session wakes once a presence TTL instead of every second, which at tens of
    /// thousands of sessions was a steady load of its own. (Its own presence is refreshed for
    /// the whole instance at once: [`crate::PresenceService::refresh_every`].)
    pub fn next_tick(&self) -> Instant {
        let mut due = self.presence_check + self.services.presence.ttl();
        if let Some(held) = self.early.due() {
            due = due.min(held);
        }
        if let (true, Some(pushed)) = (self.unread_owed, self.unread_pushed) {
            due = due.min(pushed + UNREAD_PUSH_EVERY);
        }
        self.typing
            .values()
            .map(|typing| typing.until)
            .fold(due, Instant::min)
    }

    /// Handles one event from the hub.
    pub async fn on_delivery(&mut self, delivery: Arc<Delivery>) -> Vec<Outbound> {
        let now = Instant::now();
        let mut out = if self.early.is_empty() {
            Vec::new()
        } else {
            self.release_overdue(now).await
        };
        out.extend(self.on_event(delivery).await);
        out.extend(self.owed_unread(now));
        out
    }

    async fn on_event(&mut self, delivery: Arc<Delivery>) -> Vec<Outbound> {
        match delivery.event.as_ref() {
            BusEvent::MessageCreated { view } => self.on_message(&delivery, view).await,
            BusEvent::MessageUpdated { view } | BusEvent::MessageDeleted { view } => {
                self.on_change(&delivery, view)
            }
            BusEvent::ReadReceipt {
                room_id,
                user_id,
                seq,
                unread,
            } => {
                let mut out = Vec::new();
                if *user_id == self.user.id
                    && let Some(view) = self.rooms.get_mut(room_id)
                    && (*seq > view.cursor || view.unread != *unread)
                {
                    view.cursor = view.cursor.max(*seq);
                    view.unread = *unread;
                    out.push(self.unread_frame());
                }
                let subscribed = self
                    .rooms
                    .get(room_id)
                    .is_some_and(|r| r.delivered.is_some());
                if subscribed && matches!(delivery.topic, Topic::Room(_)) {
                    out.push(Outbound::Text(delivery.frame(
                        self.encoder.dialect(),
                        false,
                        || {
                            self.encoder.encode(&ServerFrame::ReadReceipt {
                                room_id: *room_id,
                                user_id: *user_id,
                                seq: *seq,
                            })
                        },
                    )));
                }
                out
            }
            BusEvent::Typing {
                room_id,
                user_id,
                username,
                is_typing,
            } => {
                let subscribed = self
                    .rooms
                    .get(room_id)
                    .is_some_and(|r| r.delivered.is_some());
                if subscribed && *user_id != self.user.id {
                    vec![Outbound::Text(delivery.frame(
                        self.encoder.dialect(),
                        false,
                        || {
                            self.encoder.encode(&ServerFrame::Typing {
                                room_id: *room_id,
                                user_id: *user_id,
                                username: username.clone(),
                                is_typing: *is_typing,
                            })
                        },
                    ))]
                } else {
                    Vec::new()
                }
            }
            BusEvent::Presence {
                room_id,
                user_id,
                username,
                online,
                last_seen,
            } => {
                let subscribed = self
                    .rooms
                    .get(room_id)
                    .is_some_and(|r| r.delivered.is_some());
                if !subscribed
                    || *user_id == self.user.id
                    || self.presence.get(user_id).map(|(shown, _)| shown) == Some(online)
                {
                    return Vec::new();
                }
                self.presence.insert(*user_id, (*online, username.clone()));
                vec![Outbound::Text(delivery.frame(
                    self.encoder.dialect(),
                    false,
                    || {
                        self.encoder.encode(&ServerFrame::Presence {
                            user_id: *user_id,
                            username: username.clone(),
                            online: *online,
                            last_seen: *last_seen,
                        })
                    },
                ))]
            }
            BusEvent::NotificationCreated { notification } => {
                if notification.recipient != self.user.id {
                    return Vec::new();
                }
                if self
                    .notifications_delivered
                    .is_some_and(|d| notification.seq <= d)
                {
                    return Vec::new();
                }
                if let Some(d) = self.notifications_delivered.as_mut() {
                    *d = notification.seq;
                }
                self.services
                    .notifications
                    .mark_delivered(notification.id)
                    .await;
                if notification.read_at.is_none() {
                    self.notifications_unread += 1;
                }
                let frame = Outbound::Text(delivery.frame(self.encoder.dialect(), false, || {
                    self.encoder.encode(&ServerFrame::NewNotification {
                        notification: notification.clone(),
                    })
                }));
                vec![frame, self.unread_frame()]
            }
            BusEvent::NotificationUpdated { notification } => {
                if notification.recipient != self.user.id
                    || self
                        .notifications_delivered
                        .is_some_and(|d| notification.seq <= d)
                {
                    return Vec::new();
                }
                if let Some(d) = self.notifications_delivered.as_mut() {
                    *d = notification.seq;
                }
                self.services
                    .notifications
                    .mark_delivered(notification.id)
                    .await;
                // The same notification again (same id, new seq): clients replace it.
                vec![Outbound::Text(delivery.frame(
                    self.encoder.dialect(),
                    false,
                    || {
                        self.encoder.encode(&ServerFrame::NewNotification {
                            notification: notification.clone(),
                        })
                    },
                ))]
            }
            BusEvent::NotificationRead {
                user_id,
                notification_id,
                unread,
            } if *user_id == self.user.id => {
                self.notifications_unread = *unread;
                vec![
                    self.text(&ServerFrame::NotificationRead {
                        notification_id: *notification_id,
                    }),
                    self.unread_frame(),
                ]
            }
            BusEvent::AllNotificationsRead {
                user_id,
                marked_count,
                unread,
            } if *user_id == self.user.id => {
                self.notifications_unread = *unread;
                vec![
                    self.text(&ServerFrame::AllNotificationsRead {
                        marked_count: *marked_count,
                    }),
                    self.unread_frame(),
                ]
            }
            BusEvent::InboxCount { user_id, unread } if *user_id == self.user.id => {
                if self.notifications_unread == *unread {
                    return Vec::new();
                }
                self.notifications_unread = *unread;
                vec![self.unread_frame()]
            }
            BusEvent::NotificationRead { .. }
            | BusEvent::AllNotificationsRead { .. }
            | BusEvent::InboxCount { .. } => Vec::new(),
            BusEvent::RoomChanged {
                room,
                added,
                removed,
            } => self.on_room_changed(room, added, removed).await,
            BusEvent::RoomHead { room_id, head } => self.on_room_head(*room_id, *head).await,
            BusEvent::InboxHead { user_id, head } if *user_id == self.user.id => {
                self.on_inbox_head(*head).await
            }
            BusEvent::InboxHead { .. } => Vec::new(),
            BusEvent::JobUpdated { job } => {
                vec![Outbound::Text(delivery.frame(
                    self.encoder.dialect(),
                    false,
                    || {
                        self.encoder
                            .encode(&ServerFrame::JobUpdated { job: job.clone() })
                    },
                ))]
            }
        }
    }

    /// A new message: handled now if it is the room's next, else held until it is (or until
    /// waiting is given up, and storage fills the gap).
    async fn on_message(&mut self, delivery: &Arc<Delivery>, view: &MessageView) -> Vec<Outbound> {
        let room_id = view.message.room_id;
        let Some(head) = self.rooms.get(&room_id).map(|r| r.head) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if view.message.seq > head.next() {
            if self
                .early
                .hold(room_id, view.message.seq, delivery.clone(), Instant::now())
            {
                return out;
            }
            for held in self.early.take(room_id) {
                out.extend(self.apply_held(&held).await);
            }
            return out;
        }
        out.extend(self.apply_message(delivery, view).await);
        // Whatever was waiting for this one.
        while let Some(head) = self.rooms.get(&room_id).map(|r| r.head) {
            let ready = self.early.next_after(room_id, head);
            if ready.is_empty() {
                break;
            }
            for held in ready {
                out.extend(self.apply_held(&held).await);
            }
        }
        out
    }

    /// Stops waiting for rooms whose held messages waited long enough: they are handled in
    /// order, and the gap before them is filled from storage.
    async fn release_overdue(&mut self, now: Instant) -> Vec<Outbound> {
        let mut out = Vec::new();
        for room in self.early.overdue(now) {
            for held in self.early.take(room) {
                out.extend(self.apply_held(&held).await);
            }
        }
        out
    }

    async fn apply_held(&mut self, held: &Delivery) -> Vec<Outbound> {
        match held.event.as_ref() {
            BusEvent::MessageCreated { view } => self.apply_message(held, view).await,
            _ => Vec::new(),
        }
    }

    /// A message in its turn (or after giving up on the one before): unread counts, and
    /// delivery to a subscribed session exactly once and in order.
    async fn apply_message(&mut self, delivery: &Delivery, view: &MessageView) -> Vec<Outbound> {
        let me = self.user.id;
        let message = &view.message;
        let Some(room) = self.rooms.get_mut(&message.room_id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // Unread bookkeeping.
        let mut unread_changed = false;
        if message.seq > room.head {
            let gap = message.seq > room.head.next();
            room.head = message.seq;
            if message.sender == Some(me) {
                room.cursor = room.cursor.max(message.seq);
                unread_changed = room.unread != 0;
                room.unread = 0;
            } else if gap {
                // Something was missed on the way: count from storage.
                if let Ok(unread) = self.services.chat.unread_in_room(message.room_id, me).await
                    && let Some(room) = self.rooms.get_mut(&message.room_id)
                {
                    unread_changed = room.unread != unread;
                    room.unread = unread;
                }
            } else if message.seq > room.cursor && !message.is_deleted() {
                room.unread += 1;
                unread_changed = true;
            }
        }
        // Delivery to a subscribed session, exactly once and in order.
        let delivered = self.rooms.get(&message.room_id).and_then(|r| r.delivered);
        if let Some(delivered) = delivered {
            if message.seq == delivered.next() {
                let own = view.is_own(me);
                out.push(Outbound::Text(delivery.frame(
                    self.encoder.dialect(),
                    own,
                    || {
                        self.encoder.encode(&ServerFrame::NewMessage {
                            message: view.clone(),
                            own,
                        })
                    },
                )));
                if let Some(room) = self.rooms.get_mut(&message.room_id) {
                    room.delivered = Some(message.seq);
                }
            } else if message.seq > delivered {
                match self.catch_up(message.room_id, message.seq).await {
                    Ok(frames) => out.extend(frames),
                    Err(error) => {
                        tracing::warn!(%error, "filling a gap failed; the next message retries")
                    }
                }
            }
        }
        if unread_changed {
            out.extend(self.coalesced_unread(Instant::now()));
        }
        out
    }

    /// The unread counts after a new message, unless they were pushed a moment ago (then they
    /// are owed, and [`Self::owed_unread`] sends them).
    fn coalesced_unread(&mut self, now: Instant) -> Option<Outbound> {
        if self
            .unread_pushed
            .is_some_and(|at| now.duration_since(at) < UNREAD_PUSH_EVERY)
        {
            self.unread_owed = true;
            return None;
        }
        self.unread_pushed = Some(now);
        self.unread_owed = false;
        Some(self.unread_frame())
    }

    /// The unread counts, if a push is owed and its interval has passed.
    fn owed_unread(&mut self, now: Instant) -> Option<Outbound> {
        if self.unread_owed {
            self.coalesced_unread(now)
        } else {
            None
        }
    }

    fn on_change(&mut self, delivery: &Delivery, view: &MessageView) -> Vec<Outbound> {
        let me = self.user.id;
        let message = &view.message;
        let Some(room) = self.rooms.get_mut(&message.room_id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let counted =
            message.sender != Some(me) && message.seq > room.cursor && message.seq <= room.head;
        let deleted = matches!(delivery.event.as_ref(), BusEvent::MessageDeleted { .. });
        if deleted && counted && room.unread > 0 {
            room.unread -= 1;
            out.push(self.unread_frame());
        }
        let shown = self
            .rooms
            .get(&message.room_id)
            .and_then(|r| r.delivered)
            .is_some_and(|d| message.seq <= d);
        if shown {
            let own = view.is_own(me);
            out.insert(
                0,
                Outbound::Text(delivery.frame(self.encoder.dialect(), own, || {
                    let frame = if deleted {
                        ServerFrame::MessageDeleted {
                            message: view.clone(),
                            own,
                        }
                    } else {
                        ServerFrame::MessageUpdated {
                            message: view.clone(),
                            own,
                        }
                    };
                    self.encoder.encode(&frame)
                })),
            );
        }
        out
    }

    async fn on_room_changed(
        &mut self,
        room: &domain::chat::Room,
        added: &[UserId],
        removed: &[UserId],
    ) -> Vec<Outbound> {
        let me = self.user.id;
        let hub = self.services.hub.clone();
        if removed.contains(&me) {
            let Some(view) = self.rooms.remove(&room.id) else {
                return Vec::new();
            };
            hub.unfollow(self.id, Topic::Room(room.id)).await;
            hub.unwatch(self.id, room.id);
            self.typing.remove(&room.id);
            let mut out = vec![self.text(&ServerFrame::RoomUpdated {
                room: room.clone(),
                member: false,
            })];
            if view.unread > 0 {
                out.push(self.unread_frame());
            }
            return out;
        }
        if added.contains(&me) && !self.rooms.contains_key(&room.id) {
            hub.follow(self.id, Topic::Room(room.id)).await;
            let cursor = self
                .services
                .chat
                .member_room(&self.user, room.id)
                .await
                .map(|(_, p)| p.last_read_seq)
                .unwrap_or(Seq::ZERO);
            let unread = self
                .services
                .chat
                .unread_in_room(room.id, me)
                .await
                .unwrap_or(0);
            self.rooms.insert(
                room.id,
                RoomView {
                    state: room.state,
                    cursor,
                    head: room.head_seq,
                    unread,
                    delivered: None,
                },
            );
            let mut out = vec![self.text(&ServerFrame::RoomUpdated {
                room: room.clone(),
                member: true,
            })];
            if unread > 0 {
                out.push(self.unread_frame());
            }
            return out;
        }
        match self.rooms.get_mut(&room.id) {
            Some(view) if view.state != room.state || !added.is_empty() || !removed.is_empty() => {
                view.state = room.state;
                if room.state != RoomState::Active {
                    self.typing.remove(&room.id);
                }
                vec![self.text(&ServerFrame::RoomUpdated {
                    room: room.clone(),
                    member: true,
                })]
            }
            Some(_) => vec![self.text(&ServerFrame::RoomUpdated {
                room: room.clone(),
                member: true,
            })],
            None => Vec::new(),
        }
    }

    /// Ends the session: typing stops, the hub forgets it, and presence goes offline with the
    /// user's last session here.
    pub async fn finish(mut self) {
        let typing: Vec<RoomId> = self.typing.drain().map(|(room, _)| room).collect();
        for room in typing {
            self.services.chat.release_typing(&self.user, room).await;
            self.services
                .chat
                .publish_typing(&self.user, room, false)
                .await;
        }
        self.services.hub.unregister(self.id).await;
        let last = self
            .services
            .presence
            .disconnect(self.user.id, self.id)
            .await;
        if last {
            let rooms: Vec<RoomId> = self.rooms.keys().copied().collect();
            self.services
                .chat
                .publish_presence(&self.user, &rooms, false)
                .await;
        }
    }
}
