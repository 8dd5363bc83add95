//! Chat use cases: rooms, membership, messages, read cursors. Every change is stored first, then
//! published on the bus for live sessions; REST and WebSocket go through these same methods.

use crate::message_alerts::MessageAlerts;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, Utc};
use domain::chat::rules::{self, ChatDenial};
use domain::chat::{
    Attachment, AttachmentId, ClientMsgId, JobRoomKey, Message, MessageBody, MessageId,
    MessageKind, MessageView, NewMessage, NewRoom, Participant, ParticipantRole, ReplyPreview,
    Room, RoomId, RoomKind, RoomName, RoomState, Seq, UserSummary, Visibility,
};
use domain::user::{User, UserId};
use ports::{
    AttachmentStore, BusEvent, ChatRepository, EventBus, HistoryCursor, Membership, PortError,
    RoomCursor, RoomFilter, RoomPatch, Throttle, Topic, UnreadCounts, UserRepository,
};

use crate::error::AppError;
use crate::ports::{Adapters, Ports};

/// Limits of the chat.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    /// Longest message, in characters.
    pub max_content_chars: usize,
    /// How long after sending a message its sender may edit it.
    pub edit_window: Duration,
    /// Page size when none is asked for.
    pub default_page: usize,
    /// Largest page.
    pub max_page: usize,
    /// Largest upload, in bytes.
    pub max_attachment_bytes: usize,
    /// Rooms with more members send no `message_received` notifications.
    pub alert_max_members: usize,
    /// Messages one user may send per second, over all their sessions and instances.
    pub user_messages_per_s: u32,
}

/// A message to send, as a client wrote it.
#[derive(Debug, Clone)]
pub struct SendMessage {
    /// Target room.
    pub room_id: i64,
    /// Text.
    pub content: String,
    /// `text` (default), `image` or `file`.
    pub message_type: Option<String>,
    /// Answered message (same room).
    pub reply_to: Option<i64>,
    /// Idempotency key.
    pub client_msg_id: Option<String>,
    /// An upload of the sender's to show with the message.
    pub attachment_id: Option<i64>,
}

/// A new general or support room.
#[derive(Debug, Clone)]
pub struct CreateRoom {
    /// `general` or `support`.
    pub room_type: String,
    /// Name.
    pub name: String,
    /// `public` or `private` (general rooms; default private).
    pub visibility: Option<String>,
    /// Members to add besides the creator.
    pub member_ids: Vec<i64>,
}

/// Changes to a room.
#[derive(Debug, Clone, Default)]
pub struct UpdateRoom {
    /// New name.
    pub name: Option<String>,
    /// New visibility.
    pub visibility: Option<String>,
    /// New state (`active`, `read_only`, `archived`).
    pub state: Option<String>,
}

/// A room with what a member sees of it.
#[derive(Debug, Clone)]
pub struct RoomDetails {
    /// The room.
    pub room: Room,
    /// Its members with their names.
    pub participants: Vec<(Participant, UserSummary)>,
    /// The caller's unread messages in it.
    pub unread: i64,
    /// Its last message.
    pub last_message: Option<MessageView>,
}

/// A page of rooms.
#[derive(Debug, Clone)]
pub struct RoomPage {
    /// The rooms.
    pub rooms: Vec<RoomDetails>,
    /// Where the next page starts, if there is one.
    pub next: Option<RoomCursor>,
}

/// The chat service.
#[derive(Debug)]
pub struct ChatService<P: Ports> {
    adapters: Adapters<P>,
    settings: ChatSettings,
    /// `message_received` notifications for participants who are not looking.
    alerts: Option<MessageAlerts<P>>,
}

impl<P: Ports> Clone for ChatService<P> {
    fn clone(&self) -> Self {
        Self {
            adapters: self.adapters.clone(),
            settings: self.settings.clone(),
            alerts: self.alerts.clone(),
        }
    }
}

/// Maps a rule denial to the application error clients see.
pub fn denial(denial: ChatDenial) -> AppError {
    match denial {
        ChatDenial::NotParticipant => AppError::NotFound("room"),
        ChatDenial::ReadOnly => AppError::conflict("room_read_only", denial.to_string()),
        ChatDenial::Archived => AppError::conflict("room_archived", denial.to_string()),
        ChatDenial::NotSender => AppError::forbidden("not_sender", denial.to_string()),
        ChatDenial::EditWindowPassed => {
            AppError::conflict("edit_window_passed", denial.to_string())
        }
        ChatDenial::Deleted => AppError::conflict("message_deleted", denial.to_string()),
        ChatDenial::SystemMessage => AppError::forbidden("system_message", denial.to_string()),
        ChatDenial::NotOwner => AppError::forbidden("not_owner", denial.to_string()),
        ChatDenial::FixedMembership => AppError::conflict("fixed_membership", denial.to_string()),
        ChatDenial::NotJoinable => AppError::forbidden("room_not_joinable", denial.to_string()),
    }
}

fn parse_id<T>(
    raw: i64,
    parse: fn(i64) -> Result<T, domain::ValidationError>,
    what: &'static str,
) -> Result<T, AppError> {
    parse(raw).map_err(|_| AppError::NotFound(what))
}

impl<P: Ports> ChatService<P> {
    /// A service over these adapters.
    pub fn new(adapters: Adapters<P>, settings: ChatSettings) -> Self {
        Self {
            adapters,
            settings,
            alerts: None,
        }
    }

    /// The same service, notifying participants who are not looking about new messages.
    pub fn with_alerts(mut self, alerts: MessageAlerts<P>) -> Self {
        self.alerts = Some(alerts);
        self
    }

    /// The limits in force.
    pub fn settings(&self) -> &ChatSettings {
        &self.settings
    }

    fn chat(&self) -> &P::Chat {
        &self.adapters.chat
    }

    /// Publishes after the change is stored. A bus failure never fails the request: the change
    /// is durable and sessions reconcile from storage.
    async fn publish(&self, topic: Topic, event: BusEvent) {
        if let Err(error) = self.adapters.bus.publish(topic, event).await {
            tracing::warn!(%error, topic = %topic.channel(), "publishing failed; sessions will catch up");
        }
    }

    /// The room `id` and the caller's membership, or 404 when they are not a member.
    pub async fn member_room(
        &self,
        actor: &User,
        id: RoomId,
    ) -> Result<(Room, Participant), AppError> {
        // One lookup, not two: every send starts here (docs/benchmarks.md, "rooms").
        self.chat()
            .member_room(id, actor.id)
            .await
            .map_err(AppError::from_port("room"))?
            .ok_or(AppError::NotFound("room"))
    }

    // ----- rooms -----

    /// Creates a general or support room; the creator owns it.
    pub async fn create_room(
        &self,
        actor: &User,
        input: CreateRoom,
    ) -> Result<RoomDetails, AppError> {
        let mut errors = domain::FieldErrors::new();
        let kind = match RoomKind::parse(&input.room_type) {
            Ok(kind @ (RoomKind::General | RoomKind::Support)) => Some(kind),
            Ok(_) => {
                errors.add("room_type", "clients create general or support rooms; job and direct rooms have their own endpoints");
                None
            }
            Err(e) => {
                errors.add(e.field, e.message);
                None
            }
        };
        let name = errors.collect(RoomName::parse(&input.name));
        let visibility = match input.visibility.as_deref() {
            None => Some(Visibility::Private),
            Some(raw) => errors.collect(Visibility::parse(raw)),
        };
        if kind == Some(RoomKind::Support) && visibility == Some(Visibility::Public) {
            errors.add("visibility", "support rooms are private");
        }
        let mut member_ids = BTreeSet::new();
        for raw in &input.member_ids {
            match UserId::new(*raw) {
                Ok(id) if id != actor.id => {
                    member_ids.insert(id);
                }
                Ok(_) => {}
                Err(e) => errors.add("member_ids", e.message),
            }
        }
        if member_ids.len() > 100 {
            errors.add("member_ids", "at most 100 members at creation");
        }
        errors.clone().into_result()?;
        let (Some(kind), Some(name), Some(visibility)) = (kind, name, visibility) else {
            return Err(AppError::Validation(errors));
        };
        let ids: Vec<UserId> = member_ids.iter().copied().collect();
        let found = self
            .adapters
            .users
            .get_many(&ids)
            .await
            .map_err(AppError::from_port("user"))?;
        if found.len() != ids.len() || found.iter().any(|u| !u.is_active) {
            return Err(AppError::invalid(
                "member_ids",
                "every member must be an existing, active user",
            ));
        }
        let mut members = vec![(actor.id, ParticipantRole::Owner)];
        members.extend(ids.iter().map(|id| (*id, ParticipantRole::Member)));
        let room = self
            .chat()
            .create_room(
                NewRoom {
                    kind,
                    name,
                    visibility,
                    job: None,
                    created_by: Some(actor.id),
                },
                members,
            )
            .await
            .map_err(|e| match e {
                PortError::Conflict(_) => {
                    AppError::conflict("room_name_taken", "a public room with this name exists")
                }
                other => AppError::from_port("room")(other),
            })?;
        self.announce_room(&room, ids, Vec::new()).await;
        self.details(actor, room).await
    }

    /// The direct room of the caller and `other`, created on first use.
    pub async fn start_dm(
        &self,
        actor: &User,
        other: i64,
    ) -> Result<(RoomDetails, bool), AppError> {
        let other = UserId::new(other).map_err(|_| AppError::invalid("user_id", "no such user"))?;
        if other == actor.id {
            return Err(AppError::invalid(
                "user_id",
                "you cannot start a conversation with yourself",
            ));
        }
        let peer = match self.adapters.users.get(other).await {
            Ok(user) if user.is_active => user,
            Ok(_) | Err(PortError::NotFound) => {
                return Err(AppError::invalid("user_id", "no such user"));
            }
            Err(e) => return Err(AppError::from_port("user")(e)),
        };
        let name = RoomName::parse(&format!(
            "{} & {}",
            actor.username.as_str(),
            peer.username.as_str()
        ))
        .or_else(|_| RoomName::parse("Direct message"))
        .map_err(|e| AppError::Unexpected(e.to_string().into()))?;
        let (room, created) = self
            .chat()
            .get_or_create_direct(actor.id, peer.id, name)
            .await
            .map_err(AppError::from_port("room"))?;
        if created {
            self.announce_room(&room, vec![actor.id, peer.id], Vec::new())
                .await;
        }
        Ok((self.details(actor, room).await?, created))
    }

    /// The job room of `job_id` between its client and `cleaner`, created on first use. Used by
    /// job events (and tests); not exposed to clients.
    pub async fn open_job_room(
        &self,
        job_id: i64,
        client: UserId,
        cleaner: UserId,
        title: &str,
    ) -> Result<(Room, bool), AppError> {
        let name = RoomName::parse(title)
            .or_else(|_| RoomName::parse(&format!("Job #{job_id}")))
            .map_err(|e| AppError::Unexpected(e.to_string().into()))?;
        let new = NewRoom {
            kind: RoomKind::Job,
            name,
            visibility: Visibility::Private,
            job: Some(JobRoomKey { job_id, cleaner }),
            created_by: None,
        };
        let members = vec![
            (client, ParticipantRole::Member),
            (cleaner, ParticipantRole::Member),
        ];
        let (room, created) = self
            .chat()
            .get_or_create_job_room(new, members)
            .await
            .map_err(AppError::from_port("room"))?;
        if created {
            self.announce_room(&room, vec![client, cleaner], Vec::new())
                .await;
        }
        Ok((room, created))
    }

    /// The public general room with this name, created on first use (compatibility socket).
    /// The caller joins it if they are not a member yet.
    pub async fn open_public_room(&self, actor: &User, name: &str) -> Result<Room, AppError> {
        let name = RoomName::parse(name)?;
        let (room, created) = self
            .chat()
            .get_or_create_public_room(name, actor.id)
            .await
            .map_err(AppError::from_port("room"))?;
        if created {
            self.announce_room(&room, vec![actor.id], Vec::new()).await;
            return Ok(room);
        }
        if self
            .chat()
            .participant(room.id, actor.id)
            .await
            .map_err(AppError::from_port("room"))?
            .is_none()
        {
            rules::may_self_join(&room).map_err(denial)?;
            match self
                .chat()
                .add_participant(room.id, actor.id, ParticipantRole::Member)
                .await
            {
                Ok(_) | Err(PortError::Conflict(_)) => {}
                Err(e) => return Err(AppError::from_port("room")(e)),
            }
            self.announce_room(&room, vec![actor.id], Vec::new()).await;
        }
        Ok(room)
    }

    /// Stores an upload of `actor`'s: an image or a PDF/office document within the size limit,
    /// whose bytes match its declared type.
    pub async fn upload(
        &self,
        actor: &User,
        filename: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Attachment, AppError> {
        let (content_type, _) = domain::chat::attachment::accept(
            content_type,
            &bytes,
            self.settings.max_attachment_bytes,
        )?;
        let file = domain::chat::NewAttachment {
            owner: actor.id,
            filename: domain::chat::attachment::sanitize_filename(filename),
            content_type,
            bytes,
        };
        self.adapters
            .attachments
            .store(file)
            .await
            .map_err(AppError::from_port("attachment"))
    }

    /// An upload and its bytes, for its uploader and the members of rooms whose messages show it.
    pub async fn download(&self, actor: &User, id: i64) -> Result<(Attachment, Vec<u8>), AppError> {
        let id = parse_id(id, AttachmentId::new, "attachment")?;
        let file = self
            .adapters
            .attachments
            .get(id)
            .await
            .map_err(AppError::from_port("attachment"))?;
        if file.owner != actor.id {
            let rooms = self
                .chat()
                .rooms_with_attachment(id)
                .await
                .map_err(AppError::from_port("attachment"))?;
            let mut allowed = false;
            for room in rooms {
                if self
                    .chat()
                    .participant(room, actor.id)
                    .await
                    .map_err(AppError::from_port("attachment"))?
                    .is_some()
                {
                    allowed = true;
                    break;
                }
            }
            if !allowed {
                return Err(AppError::NotFound("attachment"));
            }
        }
        let bytes = self
            .adapters
            .attachments
            .content(id)
            .await
            .map_err(AppError::from_port("attachment"))?;
        Ok((file, bytes))
    }

    /// The rooms of a job the caller may open: those they belong to, or all of them for an admin.
    pub async fn job_rooms_for(&self, actor: &User, job_id: i64) -> Result<Vec<Room>, AppError> {
        let rooms = self
            .chat()
            .rooms_of_job(job_id)
            .await
            .map_err(AppError::from_port("job"))?;
        if actor.is_admin() {
            return Ok(rooms);
        }
        let mut mine = Vec::new();
        for room in rooms {
            if self
                .chat()
                .participant(room.id, actor.id)
                .await
                .map_err(AppError::from_port("job"))?
                .is_some()
            {
                mine.push(room);
            }
        }
        Ok(mine)
    }

    /// Sets the state of a room (job events make rooms read-only).
    pub async fn set_room_state(&self, room: RoomId, state: RoomState) -> Result<Room, AppError> {
        let room = self
            .chat()
            .update_room(
                room,
                RoomPatch {
                    state: Some(state),
                    ..RoomPatch::default()
                },
            )
            .await
            .map_err(AppError::from_port("room"))?;
        self.announce_room(&room, Vec::new(), Vec::new()).await;
        Ok(room)
    }

    /// One room the caller belongs to.
    pub async fn get_room(&self, actor: &User, id: i64) -> Result<RoomDetails, AppError> {
        let id = parse_id(id, RoomId::new, "room")?;
        let (room, _) = self.member_room(actor, id).await?;
        self.details(actor, room).await
    }

    /// The caller's rooms, most recent activity first.
    pub async fn list_rooms(
        &self,
        actor: &User,
        filter: RoomFilter,
        cursor: Option<RoomCursor>,
        limit: Option<usize>,
    ) -> Result<RoomPage, AppError> {
        let limit = self.page_size(limit)?;
        let mut rooms = self
            .chat()
            .list_rooms(actor.id, filter, cursor, limit + 1)
            .await
            .map_err(AppError::from_port("room"))?;
        let more = rooms.len() > limit;
        rooms.truncate(limit);
        let next = more
            .then(|| {
                rooms.last().map(|r| RoomCursor {
                    last_activity: r.last_activity(),
                    id: r.id,
                })
            })
            .flatten();
        let details = self.details_many(actor, rooms).await?;
        Ok(RoomPage {
            rooms: details,
            next,
        })
    }

    /// Renames, changes visibility or state (owner or admin). `archived` hides it from lists.
    pub async fn update_room(
        &self,
        actor: &User,
        id: i64,
        input: UpdateRoom,
    ) -> Result<RoomDetails, AppError> {
        let id = parse_id(id, RoomId::new, "room")?;
        let room = self.manageable_room(actor, id).await?;
        let mut errors = domain::FieldErrors::new();
        let name = input
            .name
            .as_deref()
            .map(RoomName::parse)
            .map(|r| errors.collect(r))
            .unwrap_or(None);
        let visibility = input
            .visibility
            .as_deref()
            .map(Visibility::parse)
            .map(|r| errors.collect(r))
            .unwrap_or(None);
        let state = input
            .state
            .as_deref()
            .map(RoomState::parse)
            .map(|r| errors.collect(r))
            .unwrap_or(None);
        if visibility.is_some() && room.kind != RoomKind::General {
            errors.add("visibility", "only general rooms can be public");
        }
        if name.is_some()
            && matches!(room.kind, RoomKind::Job | RoomKind::Direct)
            && !actor.is_admin()
        {
            errors.add("name", "job and direct rooms are named by the system");
        }
        errors.into_result()?;
        let patch = RoomPatch {
            name,
            visibility,
            state,
        };
        let room = self
            .chat()
            .update_room(id, patch)
            .await
            .map_err(|e| match e {
                PortError::Conflict(_) => {
                    AppError::conflict("room_name_taken", "a public room with this name exists")
                }
                other => AppError::from_port("room")(other),
            })?;
        self.announce_room(&room, Vec::new(), Vec::new()).await;
        self.details(actor, room).await
    }

    /// Archives a room (owner or admin).
    pub async fn archive_room(&self, actor: &User, id: i64) -> Result<(), AppError> {
        let id = parse_id(id, RoomId::new, "room")?;
        self.manageable_room(actor, id).await?;
        self.set_room_state(id, RoomState::Archived)
            .await
            .map(|_| ())
    }

    async fn manageable_room(&self, actor: &User, id: RoomId) -> Result<Room, AppError> {
        let membership = self
            .chat()
            .participant(id, actor.id)
            .await
            .map_err(AppError::from_port("room"))?;
        if membership.is_none() && !actor.is_admin() {
            return Err(AppError::NotFound("room"));
        }
        let room = self
            .chat()
            .get_room(id)
            .await
            .map_err(AppError::from_port("room"))?;
        rules::may_manage(&room, membership.as_ref(), actor.is_admin()).map_err(denial)?;
        Ok(room)
    }

    /// The members of a room the caller belongs to.
    pub async fn participants(
        &self,
        actor: &User,
        id: i64,
    ) -> Result<Vec<(Participant, UserSummary)>, AppError> {
        let id = parse_id(id, RoomId::new, "room")?;
        self.member_room(actor, id).await?;
        self.with_users(
            self.chat()
                .participants(&[id])
                .await
                .map_err(AppError::from_port("room"))?,
        )
        .await
    }

    /// Adds a member: the owner or an admin adds anyone; anyone joins a public room themselves.
    pub async fn add_participant(
        &self,
        actor: &User,
        id: i64,
        user_id: i64,
    ) -> Result<(Participant, UserSummary), AppError> {
        let id = parse_id(id, RoomId::new, "room")?;
        let user_id =
            UserId::new(user_id).map_err(|_| AppError::invalid("user_id", "no such user"))?;
        let room = if user_id == actor.id {
            let membership = self
                .chat()
                .participant(id, actor.id)
                .await
                .map_err(AppError::from_port("room"))?;
            let room = self
                .chat()
                .get_room(id)
                .await
                .map_err(AppError::from_port("room"))?;
            if membership.is_some() {
                return Err(AppError::conflict(
                    "already_member",
                    "you are already a member",
                ));
            }
            if !actor.is_admin() {
                // A private room the caller cannot see must look like a missing one.
                rules::may_self_join(&room).map_err(|_| AppError::NotFound("room"))?;
            }
            room
        } else {
            let room = self.manageable_room(actor, id).await?;
            rules::membership_is_editable(&room).map_err(denial)?;
            room
        };
        if room.state == RoomState::Archived {
            return Err(denial(ChatDenial::Archived));
        }
        let user = match self.adapters.users.get(user_id).await {
            Ok(user) if user.is_active => user,
            Ok(_) | Err(PortError::NotFound) => {
                return Err(AppError::invalid("user_id", "no such user"));
            }
            Err(e) => return Err(AppError::from_port("user")(e)),
        };
        let participant = self
            .chat()
            .add_participant(id, user_id, ParticipantRole::Member)
            .await
            .map_err(|e| match e {
                PortError::Conflict(_) => {
                    AppError::conflict("already_member", "the user is already a member")
                }
                other => AppError::from_port("room")(other),
            })?;
        self.announce_room(&room, vec![user_id], Vec::new()).await;
        Ok((participant, UserSummary::from(&user)))
    }

    /// Removes a member: the owner or an admin removes anyone but the owner; members leave.
    pub async fn remove_participant(
        &self,
        actor: &User,
        id: i64,
        user_id: i64,
    ) -> Result<(), AppError> {
        let id = parse_id(id, RoomId::new, "room")?;
        let user_id = UserId::new(user_id).map_err(|_| AppError::NotFound("participant"))?;
        let room = if user_id == actor.id {
            let (room, membership) = self.member_room(actor, id).await?;
            rules::membership_is_editable(&room).map_err(denial)?;
            if membership.role == ParticipantRole::Owner {
                return Err(AppError::conflict(
                    "owner_cannot_leave",
                    "the owner cannot leave; archive the room instead",
                ));
            }
            room
        } else {
            let room = self.manageable_room(actor, id).await?;
            rules::membership_is_editable(&room).map_err(denial)?;
            let target = self
                .chat()
                .participant(id, user_id)
                .await
                .map_err(AppError::from_port("room"))?;
            match target {
                None => return Err(AppError::NotFound("participant")),
                Some(p) if p.role == ParticipantRole::Owner && !actor.is_admin() => {
                    return Err(AppError::forbidden(
                        "not_owner",
                        "the owner cannot be removed",
                    ));
                }
                Some(_) => {}
            }
            room
        };
        self.chat()
            .remove_participant(id, user_id)
            .await
            .map_err(AppError::from_port("participant"))?;
        self.announce_room(&room, Vec::new(), vec![user_id]).await;
        Ok(())
    }

    /// Tells live sessions a room changed: the room itself, and added/removed users (who do not
    /// follow the room's topic).
    pub(crate) async fn announce_room(
        &self,
        room: &Room,
        added: Vec<UserId>,
        removed: Vec<UserId>,
    ) {
        let event = BusEvent::RoomChanged {
            room: room.clone(),
            added: added.clone(),
            removed: removed.clone(),
        };
        self.publish(Topic::Room(room.id), event.clone()).await;
        for user in added.iter().chain(removed.iter()) {
            self.publish(Topic::User(*user), event.clone()).await;
        }
    }

    // ----- messages -----

    /// Sends a message as `actor`. A retried `client_msg_id` returns the original message
    /// (`false`) and publishes nothing.
    pub async fn send_message(
        &self,
        actor: &User,
        input: SendMessage,
    ) -> Result<(MessageView, bool), AppError> {
        self.within_send_rate(actor).await?;
        let mut errors = domain::FieldErrors::new();
        let room_id = RoomId::new(input.room_id).map_err(|_| AppError::NotFound("room"))?;
        let content = errors.collect(if input.attachment_id.is_some() {
            MessageBody::caption(&input.content, self.settings.max_content_chars)
        } else {
            MessageBody::parse(&input.content, self.settings.max_content_chars)
        });
        let kind = match input.message_type.as_deref() {
            None => Some(MessageKind::Text),
            Some(raw) => errors.collect(MessageKind::parse_from_client(raw)),
        };
        let attachment = match input.attachment_id {
            None => None,
            Some(raw) => errors.collect(AttachmentId::new(raw).map_err(|_| {
                domain::ValidationError::new("attachment_id", "no such upload of yours")
            })),
        };
        let client_msg_id = match input.client_msg_id.as_deref() {
            None => None,
            Some(raw) => errors.collect(ClientMsgId::parse(raw)),
        };
        let reply_to = match input.reply_to {
            None => None,
            Some(raw) => errors.collect(MessageId::new(raw).map_err(|_| {
                domain::ValidationError::new("reply_to", "no such message in this room")
            })),
        };
        errors.clone().into_result()?;
        let (Some(content), Some(kind)) = (content, kind) else {
            return Err(AppError::Validation(errors));
        };
        let (room, membership) = self.member_room(actor, room_id).await?;
        if let Some(reply) = reply_to {
            let target = self.chat().get_message(reply).await;
            match target {
                Ok(m) if m.room_id == room.id => {}
                Ok(_) | Err(PortError::NotFound) => {
                    return Err(AppError::invalid(
                        "reply_to",
                        "no such message in this room",
                    ));
                }
                Err(e) => return Err(AppError::from_port("message")(e)),
            }
        }
        // Only one's own uploads can be attached; an image upload makes an image message.
        let kind = match attachment {
            None => kind,
            Some(id) => {
                let file = match self.adapters.attachments.get(id).await {
                    Ok(file) if file.owner == actor.id => file,
                    Ok(_) | Err(PortError::NotFound) => {
                        return Err(AppError::invalid(
                            "attachment_id",
                            "no such upload of yours",
                        ));
                    }
                    Err(e) => return Err(AppError::from_port("attachment")(e)),
                };
                match (
                    input.message_type.is_none(),
                    domain::chat::attachment::kind_of(&file.content_type),
                ) {
                    (true, domain::chat::AttachmentKind::Image) => MessageKind::Image,
                    (true, domain::chat::AttachmentKind::Document) => MessageKind::File,
                    (false, _) => kind,
                }
            }
        };
        // A retry of an accepted send is answered even if the room closed in between.
        if client_msg_id.is_none() {
            rules::may_post(&room, Some(&membership)).map_err(denial)?;
        }
        let new = NewMessage {
            room_id: room.id,
            sender: Some(actor.id),
            kind,
            content,
            attachment,
            reply_to,
            client_msg_id,
        };
        let appended = match self.chat().append_message(new).await {
            Ok(appended) => appended,
            // The room closed between the check and the append: report its current state.
            Err(PortError::Conflict(_)) => {
                let now = self
                    .chat()
                    .get_room(room.id)
                    .await
                    .map_err(AppError::from_port("room"))?;
                let closed = rules::may_post(&now, Some(&membership))
                    .err()
                    .unwrap_or(ChatDenial::ReadOnly);
                return Err(denial(closed));
            }
            Err(other) => return Err(AppError::from_port("room")(other)),
        };
        let view = self
            .views_knowing(vec![appended.message], Some(actor))
            .await?
            .pop()
            .ok_or_else(|| AppError::Unexpected("message vanished".into()))?;
        if appended.created {
            self.publish(
                Topic::Room(room.id),
                BusEvent::MessageCreated { view: view.clone() },
            )
            .await;
            if let Some(alerts) = &self.alerts {
                alerts.spawn(view.clone(), room);
            }
        }
        Ok((view, appended.created))
    }

    /// Tells a stored message's room about it (job events store theirs in their own
    /// transaction).
    pub(crate) async fn announce_message(&self, message: Message) {
        let room = message.room_id;
        match self.view(message).await {
            Ok(view) => {
                self.publish(Topic::Room(room), BusEvent::MessageCreated { view })
                    .await;
            }
            Err(error) => tracing::warn!(%error, "announcing a message failed"),
        }
    }

    /// Writes a server message (`system` or `job_update`) into a room, whatever its state.
    /// `idempotency` makes a repeated call return the first message.
    pub async fn post_system_message(
        &self,
        room: RoomId,
        kind: MessageKind,
        text: &str,
        idempotency: Option<&str>,
    ) -> Result<MessageView, AppError> {
        let client_msg_id = idempotency.map(ClientMsgId::parse).transpose()?;
        let appended = self
            .chat()
            .append_message(NewMessage {
                room_id: room,
                sender: None,
                kind,
                content: MessageBody::system(text),
                attachment: None,
                reply_to: None,
                client_msg_id,
            })
            .await
            .map_err(AppError::from_port("room"))?;
        let view = self.view(appended.message).await?;
        if appended.created {
            self.publish(
                Topic::Room(room),
                BusEvent::MessageCreated { view: view.clone() },
            )
            .await;
        }
        Ok(view)
    }

    /// A slice of a room's history (ascending). Reading never moves the read cursor.
    pub async fn history(
        &self,
        actor: &User,
        room: i64,
        cursor: HistoryCursor,
        limit: Option<usize>,
    ) -> Result<(Vec<MessageView>, bool), AppError> {
        let room = parse_id(room, RoomId::new, "room")?;
        self.member_room(actor, room).await?;
        let limit = self.page_size(limit)?;
        let page = self
            .chat()
            .history(room, cursor, limit)
            .await
            .map_err(AppError::from_port("room"))?;
        Ok((self.views(page.messages).await?, page.has_more))
    }

    /// Messages of a room after `after`, up to `limit`, for a session's replay. The caller has
    /// checked membership.
    pub async fn replay(
        &self,
        room: RoomId,
        after: Seq,
        limit: usize,
    ) -> Result<(Vec<MessageView>, bool), AppError> {
        let page = self
            .chat()
            .history(room, HistoryCursor::After(after), limit)
            .await
            .map_err(AppError::from_port("room"))?;
        Ok((self.views(page.messages).await?, page.has_more))
    }

    /// One message of a room the caller belongs to.
    pub async fn get_message(&self, actor: &User, id: i64) -> Result<MessageView, AppError> {
        let message = self.visible_message(actor, id).await?;
        self.view(message).await
    }

    async fn visible_message(&self, actor: &User, id: i64) -> Result<Message, AppError> {
        let id = parse_id(id, MessageId::new, "message")?;
        let message = self
            .chat()
            .get_message(id)
            .await
            .map_err(AppError::from_port("message"))?;
        let membership = self
            .chat()
            .participant(message.room_id, actor.id)
            .await
            .map_err(AppError::from_port("message"))?;
        if membership.is_none() {
            return Err(AppError::NotFound("message"));
        }
        Ok(message)
    }

    /// Edits the caller's own message within the edit window.
    pub async fn edit_message(
        &self,
        actor: &User,
        id: i64,
        content: &str,
    ) -> Result<MessageView, AppError> {
        let message = self.visible_message(actor, id).await?;
        let content = MessageBody::parse(content, self.settings.max_content_chars)?;
        let room = self
            .chat()
            .get_room(message.room_id)
            .await
            .map_err(AppError::from_port("room"))?;
        rules::may_edit(
            &room,
            &message,
            actor.id,
            Utc::now(),
            self.settings.edit_window,
        )
        .map_err(denial)?;
        let edited = self
            .chat()
            .edit_message(message.id, content, Utc::now())
            .await
            .map_err(AppError::from_port("message"))?;
        let view = self.view(edited).await?;
        self.publish(
            Topic::Room(room.id),
            BusEvent::MessageUpdated { view: view.clone() },
        )
        .await;
        Ok(view)
    }

    /// Deletes a message (its sender, or an admin moderating): it stays as a tombstone.
    pub async fn delete_message(&self, actor: &User, id: i64) -> Result<MessageView, AppError> {
        let raw = parse_id(id, MessageId::new, "message")?;
        let message = if actor.is_admin() {
            self.chat()
                .get_message(raw)
                .await
                .map_err(AppError::from_port("message"))?
        } else {
            self.visible_message(actor, id).await?
        };
        rules::may_delete(&message, actor.id, actor.is_admin()).map_err(denial)?;
        let deleted = self
            .chat()
            .delete_message(message.id, Utc::now())
            .await
            .map_err(AppError::from_port("message"))?;
        let view = self.view(deleted).await?;
        self.publish(
            Topic::Room(view.message.room_id),
            BusEvent::MessageDeleted { view: view.clone() },
        )
        .await;
        Ok(view)
    }

    // ----- read state -----

    /// Moves the caller's cursor in a room (forward only, clamped to the head), tells the room
    /// (receipt) and the caller's sessions (unread), and returns the cursor and what is left unread.
    pub async fn mark_read(
        &self,
        actor: &User,
        room: i64,
        seq: i64,
    ) -> Result<(Seq, i64), AppError> {
        let room = parse_id(room, RoomId::new, "room")?;
        let seq = Seq::new(seq)?;
        self.member_room(actor, room).await?;
        let cursor = self
            .chat()
            .mark_read(room, actor.id, seq)
            .await
            .map_err(AppError::from_port("room"))?;
        let unread = self
            .chat()
            .unread_in(room, actor.id)
            .await
            .map_err(AppError::from_port("room"))?;
        let event = BusEvent::ReadReceipt {
            room_id: room,
            user_id: actor.id,
            seq: cursor,
            unread,
        };
        self.publish(Topic::Room(room), event.clone()).await;
        self.publish(Topic::User(actor.id), event).await;
        Ok((cursor, unread))
    }

    /// Reads a room up to a given message.
    pub async fn mark_message_read(&self, actor: &User, id: i64) -> Result<(Seq, i64), AppError> {
        let message = self.visible_message(actor, id).await?;
        self.mark_read(actor, message.room_id.get(), message.seq.get())
            .await
    }

    /// The caller's unread messages.
    pub async fn unread(&self, actor: &User) -> Result<UnreadCounts, AppError> {
        self.chat()
            .unread_counts(actor.id)
            .await
            .map_err(AppError::from_port("room"))
    }

    /// The user's unread messages in one room (a session's bookkeeping after a gap).
    pub async fn unread_in_room(&self, room: RoomId, user: UserId) -> Result<i64, AppError> {
        self.chat()
            .unread_in(room, user)
            .await
            .map_err(AppError::from_port("room"))
    }

    /// Every room of a user with cursor and unread count (a session's starting state).
    pub async fn memberships(&self, user: UserId) -> Result<Vec<Membership>, AppError> {
        self.chat()
            .memberships(user)
            .await
            .map_err(AppError::from_port("room"))
    }

    /// Announces typing in a room the caller belongs to.
    pub async fn typing(
        &self,
        actor: &User,
        room: RoomId,
        is_typing: bool,
    ) -> Result<(), AppError> {
        self.member_room(actor, room).await?;
        self.publish_typing(actor, room, is_typing).await;
        Ok(())
    }

    /// Whether a typing notice of `actor` in `room` may go out now: at most one per `window`
    /// over all of the user's sessions and instances. Fails open when the throttle is down.
    pub async fn claim_typing(
        &self,
        actor: &User,
        room: RoomId,
        window: std::time::Duration,
    ) -> bool {
        self.adapters
            .throttle
            .allow(&format!("typing:{room}:{}", actor.id), window, 1)
            .await
            .unwrap_or(true)
    }

    /// The user stopped typing: their next notice goes out at once.
    pub async fn release_typing(&self, actor: &User, room: RoomId) {
        if let Err(error) = self
            .adapters
            .throttle
            .reset(&format!("typing:{room}:{}", actor.id))
            .await
        {
            tracing::debug!(%error, "resetting the typing throttle failed");
        }
    }

    /// Counts a send of `actor` against their per-second limit (fails open when the throttle is
    /// down).
    async fn within_send_rate(&self, actor: &User) -> Result<(), AppError> {
        let limit = self.settings.user_messages_per_s;
        let allowed = self
            .adapters
            .throttle
            .allow(
                &format!("send:{}", actor.id),
                std::time::Duration::from_secs(1),
                limit,
            )
            .await
            .unwrap_or(true);
        if allowed {
            Ok(())
        } else {
            Err(AppError::RateLimited {
                detail: format!("at most {limit} messages per second"),
                retry_after: std::time::Duration::from_secs(1),
            })
        }
    }

    /// Publishes a typing change without checks (a session already checked membership).
    pub async fn publish_typing(&self, actor: &User, room: RoomId, is_typing: bool) {
        let event = BusEvent::Typing {
            room_id: room,
            user_id: actor.id,
            username: actor.username.as_str().to_owned(),
            is_typing,
        };
        self.publish(Topic::Room(room), event).await;
    }

    /// Publishes a presence change to each of the user's rooms.
    pub async fn publish_presence(&self, user: &User, rooms: &[RoomId], online: bool) {
        let last_seen = (!online).then(Utc::now);
        for room in rooms {
            self.publish(
                Topic::Room(*room),
                BusEvent::Presence {
                    room_id: *room,
                    user_id: user.id,
                    username: user.username.as_str().to_owned(),
                    online,
                    last_seen,
                },
            )
            .await;
        }
    }

    // ----- views -----

    fn page_size(&self, limit: Option<usize>) -> Result<usize, AppError> {
        match limit {
            None => Ok(self.settings.default_page),
            Some(0) => Err(AppError::invalid("limit", "must be at least 1")),
            Some(n) if n > self.settings.max_page => Err(AppError::invalid(
                "limit",
                format!("must be at most {}", self.settings.max_page),
            )),
            Some(n) => Ok(n),
        }
    }

    async fn details(&self, actor: &User, room: Room) -> Result<RoomDetails, AppError> {
        let mut all = self.details_many(actor, vec![room]).await?;
        all.pop()
            .ok_or_else(|| AppError::Unexpected("room vanished".into()))
    }

    async fn details_many(
        &self,
        actor: &User,
        rooms: Vec<Room>,
    ) -> Result<Vec<RoomDetails>, AppError> {
        let ids: Vec<RoomId> = rooms.iter().map(|r| r.id).collect();
        let participants = self
            .with_users(
                self.chat()
                    .participants(&ids)
                    .await
                    .map_err(AppError::from_port("room"))?,
            )
            .await?;
        let unread = self
            .chat()
            .unread_counts(actor.id)
            .await
            .map_err(AppError::from_port("room"))?;
        let mut by_room: BTreeMap<RoomId, Vec<(Participant, UserSummary)>> = BTreeMap::new();
        for (p, u) in participants {
            by_room.entry(p.room_id).or_default().push((p, u));
        }
        let mut out = Vec::with_capacity(rooms.len());
        for room in rooms {
            let last_message = if room.head_seq == Seq::ZERO {
                None
            } else {
                let page = self
                    .chat()
                    .history(room.id, HistoryCursor::Latest, 1)
                    .await
                    .map_err(AppError::from_port("room"))?;
                match page.messages.into_iter().next() {
                    Some(m) => Some(self.view(m).await?),
                    None => None,
                }
            };
            out.push(RoomDetails {
                unread: unread.rooms.get(&room.id).copied().unwrap_or(0),
                participants: by_room.remove(&room.id).unwrap_or_default(),
                last_message,
                room,
            });
        }
        Ok(out)
    }

    async fn with_users(
        &self,
        participants: Vec<Participant>,
    ) -> Result<Vec<(Participant, UserSummary)>, AppError> {
        let ids: Vec<UserId> = participants
            .iter()
            .map(|p| p.user_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let users = self.summaries(&ids).await?;
        Ok(participants
            .into_iter()
            .filter_map(|p| users.get(&p.user_id).cloned().map(|u| (p, u)))
            .collect())
    }

    async fn summaries(&self, ids: &[UserId]) -> Result<BTreeMap<UserId, UserSummary>, AppError> {
        Ok(self
            .adapters
            .users
            .get_many(ids)
            .await
            .map_err(AppError::from_port("user"))?
            .iter()
            .map(|u| (u.id, UserSummary::from(u)))
            .collect())
    }

    /// One message with its sender and reply.
    pub async fn view(&self, message: Message) -> Result<MessageView, AppError> {
        let mut views = self.views(vec![message]).await?;
        views
            .pop()
            .ok_or_else(|| AppError::Unexpected("message vanished".into()))
    }

    /// Messages with their senders and replies, loaded in two batched queries.
    pub async fn views(&self, messages: Vec<Message>) -> Result<Vec<MessageView>, AppError> {
        self.views_knowing(messages, None).await
    }

    /// [`Self::views`], with `known` taken as it is rather than read again (the author of a
    /// message just sent: one query fewer on the hottest path). A session's author is the one
    /// it authenticated; a rename during the session shows in history and on the next session.
    async fn views_knowing(
        &self,
        messages: Vec<Message>,
        known: Option<&User>,
    ) -> Result<Vec<MessageView>, AppError> {
        let reply_ids: Vec<MessageId> = messages
            .iter()
            .filter_map(|m| m.reply_to)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let replies: BTreeMap<MessageId, Message> = self
            .chat()
            .messages_by_id(&reply_ids)
            .await
            .map_err(AppError::from_port("message"))?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let user_ids: Vec<UserId> = messages
            .iter()
            .filter_map(|m| m.sender)
            .chain(replies.values().filter_map(|m| m.sender))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|id| known.is_none_or(|k| k.id != *id))
            .collect();
        let mut users = if user_ids.is_empty() {
            BTreeMap::new()
        } else {
            self.summaries(&user_ids).await?
        };
        if let Some(user) = known {
            users.insert(user.id, UserSummary::from(user));
        }
        let attachment_ids: Vec<AttachmentId> = messages
            .iter()
            .filter_map(|m| m.attachment)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let attachments: BTreeMap<AttachmentId, Attachment> = if attachment_ids.is_empty() {
            BTreeMap::new()
        } else {
            self.adapters
                .attachments
                .get_many(&attachment_ids)
                .await
                .map_err(AppError::from_port("attachment"))?
                .into_iter()
                .map(|a| (a.id, a))
                .collect()
        };
        Ok(messages
            .into_iter()
            .map(|message| {
                let reply = message
                    .reply_to
                    .and_then(|id| replies.get(&id))
                    .map(|r| ReplyPreview::of(r, r.sender.and_then(|s| users.get(&s).cloned())));
                MessageView {
                    sender: message.sender.and_then(|s| users.get(&s).cloned()),
                    reply,
                    attachment: message
                        .attachment
                        .and_then(|id| attachments.get(&id).cloned()),
                    message,
                }
            })
            .collect())
    }
}
