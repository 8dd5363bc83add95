//! Rooms, participants and messages, in memory. One lock guards the whole chat state, which makes
//! every operation (sequence allocation included) trivially atomic.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use domain::chat::rules::{counts_as_unread, next_read_cursor};
use domain::chat::{
    ClientMsgId, Message, MessageBody, MessageId, NewMessage, NewRoom, Participant,
    ParticipantRole, Room, RoomId, RoomKind, RoomName, RoomState, Seq, Visibility,
};
use domain::user::UserId;
use ports::{
    Appended, ChatRepository, HistoryCursor, HistoryPage, Membership, PortError, RoomCursor,
    RoomFilter, RoomPatch, UnreadCounts,
};

use crate::lock::lock;

#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    rooms: BTreeMap<RoomId, Room>,
    members: HashMap<RoomId, BTreeMap<UserId, Participant>>,
    rooms_of_user: BTreeMap<UserId, BTreeSet<RoomId>>,
    messages: BTreeMap<MessageId, Message>,
    /// Message ids of each room, index = seq - 1.
    room_messages: HashMap<RoomId, Vec<MessageId>>,
    client_ids: HashMap<(RoomId, Option<UserId>, ClientMsgId), MessageId>,
    direct: HashMap<(UserId, UserId), RoomId>,
    job_rooms: HashMap<(i64, UserId), RoomId>,
    public_names: HashMap<String, RoomId>,
    last_room: i64,
    last_message: i64,
}

fn pair(a: UserId, b: UserId) -> (UserId, UserId) {
    if a <= b { (a, b) } else { (b, a) }
}

impl State {
    fn insert_room(
        &mut self,
        new: NewRoom,
        members: Vec<(UserId, ParticipantRole)>,
    ) -> Result<Room, PortError> {
        let public_key = (new.kind == RoomKind::General && new.visibility == Visibility::Public)
            .then(|| new.name.as_str().to_lowercase());
        if let Some(key) = &public_key
            && self.public_names.contains_key(key)
        {
            return Err(PortError::Conflict("room_name"));
        }
        if let Some(job) = new.job
            && self.job_rooms.contains_key(&(job.job_id, job.cleaner))
        {
            return Err(PortError::Conflict("job_room"));
        }
        self.last_room += 1;
        let now = Utc::now();
        let room = Room {
            id: RoomId::new(self.last_room).map_err(PortError::unexpected)?,
            kind: new.kind,
            name: new.name,
            visibility: new.visibility,
            state: RoomState::Active,
            job: new.job,
            created_by: new.created_by,
            head_seq: Seq::ZERO,
            last_message_preview: None,
            last_message_at: None,
            created_at: now,
        };
        if let Some(key) = public_key {
            self.public_names.insert(key, room.id);
        }
        if let Some(job) = room.job {
            self.job_rooms.insert((job.job_id, job.cleaner), room.id);
        }
        for (user, role) in members {
            self.insert_member(room.id, user, role, now);
        }
        self.rooms.insert(room.id, room.clone());
        Ok(room)
    }

    fn insert_member(
        &mut self,
        room: RoomId,
        user: UserId,
        role: ParticipantRole,
        at: DateTime<Utc>,
    ) {
        self.members
            .entry(room)
            .or_default()
            .entry(user)
            .or_insert(Participant {
                room_id: room,
                user_id: user,
                role,
                joined_at: at,
                last_read_seq: Seq::ZERO,
                muted_until: None,
            });
        self.rooms_of_user.entry(user).or_default().insert(room);
    }

    fn member(&self, room: RoomId, user: UserId) -> Option<&Participant> {
        self.members.get(&room).and_then(|m| m.get(&user))
    }

    fn member_mut(&mut self, room: RoomId, user: UserId) -> Option<&mut Participant> {
        self.members.get_mut(&room).and_then(|m| m.get_mut(&user))
    }

    fn room(&self, id: RoomId) -> Result<&Room, PortError> {
        self.rooms.get(&id).ok_or(PortError::NotFound)
    }

    /// Appends a message (see [`ChatRepository::append_message`]).
    pub(crate) fn append(&mut self, new: NewMessage) -> Result<Appended, PortError> {
        let room = self.room(new.room_id)?.clone();
        if let Some(key) = &new.client_msg_id
            && let Some(id) = self.client_ids.get(&(new.room_id, new.sender, key.clone()))
        {
            let message = self.messages.get(id).cloned().ok_or(PortError::NotFound)?;
            return Ok(Appended {
                message,
                created: false,
            });
        }
        if room.state != RoomState::Active && new.sender.is_some() {
            return Err(PortError::Conflict("room_state"));
        }
        self.last_message += 1;
        let now = Utc::now();
        let message = Message {
            id: MessageId::new(self.last_message).map_err(PortError::unexpected)?,
            room_id: room.id,
            seq: room.head_seq.next(),
            sender: new.sender,
            kind: new.kind,
            content: new.content.as_str().to_owned(),
            attachment: new.attachment,
            reply_to: new.reply_to,
            client_msg_id: new.client_msg_id.clone(),
            created_at: now,
            edited_at: None,
            deleted_at: None,
        };
        if let Some(key) = new.client_msg_id {
            self.client_ids
                .insert((room.id, new.sender, key), message.id);
        }
        self.messages.insert(message.id, message.clone());
        self.room_messages
            .entry(room.id)
            .or_default()
            .push(message.id);
        if let Some(stored) = self.rooms.get_mut(&room.id) {
            stored.head_seq = message.seq;
            stored.last_message_preview = Some(new.content.preview(200));
            stored.last_message_at = Some(now);
        }
        if let Some(sender) = new.sender
            && let Some(member) = self.member_mut(room.id, sender)
        {
            member.last_read_seq = member.last_read_seq.max(message.seq);
        }
        Ok(Appended {
            message,
            created: true,
        })
    }

    /// The job room of `room.job`, created with `members` if missing (`true` when created).
    pub(crate) fn job_room(
        &mut self,
        room: NewRoom,
        members: Vec<(UserId, ParticipantRole)>,
    ) -> Result<(Room, bool), PortError> {
        let Some(job) = room.job else {
            return Err(PortError::unexpected("a job room needs a job key"));
        };
        if let Some(id) = self.job_rooms.get(&(job.job_id, job.cleaner)) {
            return Ok((self.room(*id)?.clone(), false));
        }
        Ok((self.insert_room(room, members)?, true))
    }

    /// The job room of this job and cleaner, if it exists.
    pub(crate) fn job_room_of(&self, job_id: i64, cleaner: UserId) -> Option<Room> {
        let id = self.job_rooms.get(&(job_id, cleaner))?;
        self.rooms.get(id).cloned()
    }

    /// Adds a member unless present (`true` when added).
    pub(crate) fn ensure_member(&mut self, room: RoomId, user: UserId) -> Result<bool, PortError> {
        self.room(room)?;
        if self.member(room, user).is_some() {
            return Ok(false);
        }
        self.insert_member(room, user, ParticipantRole::Member, Utc::now());
        Ok(true)
    }

    /// Removes a member. Errors: `NotFound` when not a member.
    pub(crate) fn remove_member(&mut self, room: RoomId, user: UserId) -> Result<(), PortError> {
        self.members
            .get_mut(&room)
            .and_then(|m| m.remove(&user))
            .ok_or(PortError::NotFound)?;
        if let Some(rooms) = self.rooms_of_user.get_mut(&user) {
            rooms.remove(&room);
        }
        Ok(())
    }

    /// Sets a room's state.
    pub(crate) fn set_state(&mut self, id: RoomId, state: RoomState) -> Result<Room, PortError> {
        let room = self.rooms.get_mut(&id).ok_or(PortError::NotFound)?;
        room.state = state;
        Ok(room.clone())
    }

    fn unread(&self, room: RoomId, user: UserId) -> i64 {
        let Some(member) = self.member(room, user) else {
            return 0;
        };
        let ids = self
            .room_messages
            .get(&room)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let start = usize::try_from(member.last_read_seq.get())
            .unwrap_or(0)
            .min(ids.len());
        ids[start..]
            .iter()
            .filter_map(|id| self.messages.get(id))
            .filter(|m| counts_as_unread(m, user, member.last_read_seq))
            .count() as i64
    }
}

/// The chat store.
#[derive(Debug, Clone, Default)]
pub struct MemoryChat {
    pub(crate) state: Arc<Mutex<State>>,
}

impl ChatRepository for MemoryChat {
    async fn create_room(
        &self,
        room: NewRoom,
        members: Vec<(UserId, ParticipantRole)>,
    ) -> Result<Room, PortError> {
        lock(&self.state).insert_room(room, members)
    }

    async fn get_or_create_direct(
        &self,
        a: UserId,
        b: UserId,
        name: RoomName,
    ) -> Result<(Room, bool), PortError> {
        let mut state = lock(&self.state);
        if let Some(id) = state.direct.get(&pair(a, b)) {
            return Ok((state.room(*id)?.clone(), false));
        }
        let room = state.insert_room(
            NewRoom {
                kind: RoomKind::Direct,
                name,
                visibility: Visibility::Private,
                job: None,
                created_by: Some(a),
            },
            vec![(a, ParticipantRole::Member), (b, ParticipantRole::Member)],
        )?;
        state.direct.insert(pair(a, b), room.id);
        Ok((room, true))
    }

    async fn get_or_create_job_room(
        &self,
        room: NewRoom,
        members: Vec<(UserId, ParticipantRole)>,
    ) -> Result<(Room, bool), PortError> {
        lock(&self.state).job_room(room, members)
    }

    async fn get_or_create_public_room(
        &self,
        name: RoomName,
        creator: UserId,
    ) -> Result<(Room, bool), PortError> {
        let mut state = lock(&self.state);
        if let Some(id) = state.public_names.get(&name.as_str().to_lowercase()) {
            return Ok((state.room(*id)?.clone(), false));
        }
        let room = state.insert_room(
            NewRoom {
                kind: RoomKind::General,
                name,
                visibility: Visibility::Public,
                job: None,
                created_by: Some(creator),
            },
            vec![(creator, ParticipantRole::Owner)],
        )?;
        Ok((room, true))
    }

    async fn get_room(&self, id: RoomId) -> Result<Room, PortError> {
        lock(&self.state).room(id).cloned()
    }

    async fn rooms_of_job(&self, job_id: i64) -> Result<Vec<Room>, PortError> {
        let state = lock(&self.state);
        Ok(state
            .rooms
            .values()
            .filter(|r| r.job.is_some_and(|j| j.job_id == job_id))
            .cloned()
            .collect())
    }

    async fn list_rooms(
        &self,
        user: UserId,
        filter: RoomFilter,
        cursor: Option<RoomCursor>,
        limit: usize,
    ) -> Result<Vec<Room>, PortError> {
        let state = lock(&self.state);
        let mut rooms: Vec<Room> = state
            .rooms_of_user
            .get(&user)
            .into_iter()
            .flatten()
            .filter_map(|id| state.rooms.get(id))
            .filter(|r| filter.kind.is_none_or(|k| r.kind == k))
            .filter(|r| {
                filter
                    .job_id
                    .is_none_or(|j| r.job.is_some_and(|key| key.job_id == j))
            })
            .filter(|r| filter.include_archived || r.state != RoomState::Archived)
            .filter(|r| cursor.is_none_or(|c| (r.last_activity(), r.id) < (c.last_activity, c.id)))
            .cloned()
            .collect();
        rooms.sort_by_key(|r| std::cmp::Reverse((r.last_activity(), r.id)));
        rooms.truncate(limit);
        Ok(rooms)
    }

    async fn memberships(&self, user: UserId) -> Result<Vec<Membership>, PortError> {
        let state = lock(&self.state);
        Ok(state
            .rooms_of_user
            .get(&user)
            .into_iter()
            .flatten()
            .filter_map(|id| {
                let room = state.rooms.get(id)?;
                let member = state.member(*id, user)?;
                Some(Membership {
                    room: room.clone(),
                    last_read_seq: member.last_read_seq,
                    unread: state.unread(*id, user),
                })
            })
            .collect())
    }

    async fn update_room(&self, id: RoomId, patch: RoomPatch) -> Result<Room, PortError> {
        let mut state = lock(&self.state);
        let current = state.room(id)?.clone();
        let name = patch.name.unwrap_or(current.name.clone());
        let visibility = patch.visibility.unwrap_or(current.visibility);
        let old_key = (current.kind == RoomKind::General
            && current.visibility == Visibility::Public)
            .then(|| current.name.as_str().to_lowercase());
        let new_key = (current.kind == RoomKind::General && visibility == Visibility::Public)
            .then(|| name.as_str().to_lowercase());
        if let Some(key) = &new_key
            && state
                .public_names
                .get(key)
                .is_some_and(|holder| *holder != id)
        {
            return Err(PortError::Conflict("room_name"));
        }
        if let Some(key) = old_key {
            state.public_names.remove(&key);
        }
        if let Some(key) = new_key {
            state.public_names.insert(key, id);
        }
        let room = state.rooms.get_mut(&id).ok_or(PortError::NotFound)?;
        room.name = name;
        room.visibility = visibility;
        if let Some(new_state) = patch.state {
            room.state = new_state;
        }
        Ok(room.clone())
    }

    async fn participant(
        &self,
        room: RoomId,
        user: UserId,
    ) -> Result<Option<Participant>, PortError> {
        Ok(lock(&self.state).member(room, user).cloned())
    }

    async fn member_room(
        &self,
        room: RoomId,
        user: UserId,
    ) -> Result<Option<(Room, Participant)>, PortError> {
        let state = lock(&self.state);
        let Some(member) = state.member(room, user).cloned() else {
            return Ok(None);
        };
        Ok(Some((state.room(room)?.clone(), member)))
    }

    async fn participants(&self, rooms: &[RoomId]) -> Result<Vec<Participant>, PortError> {
        let state = lock(&self.state);
        let mut found: Vec<Participant> = rooms
            .iter()
            .filter_map(|room| state.members.get(room))
            .flat_map(|members| members.values().cloned())
            .collect();
        found.sort_by_key(|p| (p.room_id, p.joined_at, p.user_id));
        Ok(found)
    }

    async fn add_participant(
        &self,
        room: RoomId,
        user: UserId,
        role: ParticipantRole,
    ) -> Result<Participant, PortError> {
        let mut state = lock(&self.state);
        state.room(room)?;
        if state.member(room, user).is_some() {
            return Err(PortError::Conflict("participant"));
        }
        state.insert_member(room, user, role, Utc::now());
        state.member(room, user).cloned().ok_or(PortError::NotFound)
    }

    async fn remove_participant(&self, room: RoomId, user: UserId) -> Result<(), PortError> {
        lock(&self.state).remove_member(room, user)
    }

    async fn room_heads(&self, rooms: &[RoomId]) -> Result<Vec<(RoomId, Seq)>, PortError> {
        let state = lock(&self.state);
        Ok(rooms
            .iter()
            .filter_map(|id| state.rooms.get(id).map(|r| (*id, r.head_seq)))
            .collect())
    }

    async fn append_message(&self, new: NewMessage) -> Result<Appended, PortError> {
        lock(&self.state).append(new)
    }

    async fn get_message(&self, id: MessageId) -> Result<Message, PortError> {
        lock(&self.state)
            .messages
            .get(&id)
            .cloned()
            .ok_or(PortError::NotFound)
    }

    async fn messages_by_id(&self, ids: &[MessageId]) -> Result<Vec<Message>, PortError> {
        let state = lock(&self.state);
        Ok(ids
            .iter()
            .filter_map(|id| state.messages.get(id).cloned())
            .collect())
    }

    async fn history(
        &self,
        room: RoomId,
        cursor: HistoryCursor,
        limit: usize,
    ) -> Result<HistoryPage, PortError> {
        let state = lock(&self.state);
        state.room(room)?;
        let ids = state
            .room_messages
            .get(&room)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let len = ids.len();
        let index = |seq: Seq| usize::try_from(seq.get()).unwrap_or(0).min(len);
        let (start, end, has_more) = match cursor {
            HistoryCursor::Latest => {
                let start = len.saturating_sub(limit);
                (start, len, start > 0)
            }
            HistoryCursor::Before(seq) => {
                let end = index(seq).saturating_sub(1).min(len);
                let start = end.saturating_sub(limit);
                (start, end, start > 0)
            }
            HistoryCursor::After(seq) => {
                let start = index(seq);
                let end = (start + limit).min(len);
                (start, end, end < len)
            }
        };
        let messages = ids[start..end.max(start)]
            .iter()
            .filter_map(|id| state.messages.get(id).cloned())
            .collect();
        Ok(HistoryPage { messages, has_more })
    }

    async fn edit_message(
        &self,
        id: MessageId,
        content: MessageBody,
        at: DateTime<Utc>,
    ) -> Result<Message, PortError> {
        let mut state = lock(&self.state);
        let message = state.messages.get_mut(&id).ok_or(PortError::NotFound)?;
        message.content = content.as_str().to_owned();
        message.edited_at = Some(at);
        let message = message.clone();
        refresh_preview(&mut state, message.room_id);
        Ok(message)
    }

    async fn delete_message(&self, id: MessageId, at: DateTime<Utc>) -> Result<Message, PortError> {
        let mut state = lock(&self.state);
        let message = state.messages.get_mut(&id).ok_or(PortError::NotFound)?;
        message.content = String::new();
        message.attachment = None;
        message.deleted_at = Some(at);
        let message = message.clone();
        refresh_preview(&mut state, message.room_id);
        Ok(message)
    }

    async fn mark_read(&self, room: RoomId, user: UserId, seq: Seq) -> Result<Seq, PortError> {
        let mut state = lock(&self.state);
        let head = state.room(room)?.head_seq;
        let member = state.member_mut(room, user).ok_or(PortError::NotFound)?;
        member.last_read_seq = next_read_cursor(member.last_read_seq, seq, head);
        Ok(member.last_read_seq)
    }

    async fn unread_counts(&self, user: UserId) -> Result<UnreadCounts, PortError> {
        let state = lock(&self.state);
        let mut counts = UnreadCounts::default();
        for room in state.rooms_of_user.get(&user).into_iter().flatten() {
            let unread = state.unread(*room, user);
            if unread > 0 {
                counts.total += unread;
                counts.rooms.insert(*room, unread);
            }
        }
        Ok(counts)
    }

    async fn rooms_with_attachment(
        &self,
        id: domain::chat::AttachmentId,
    ) -> Result<Vec<RoomId>, PortError> {
        let state = lock(&self.state);
        let rooms: BTreeSet<RoomId> = state
            .messages
            .values()
            .filter(|m| m.attachment == Some(id) && !m.is_deleted())
            .map(|m| m.room_id)
            .collect();
        Ok(rooms.into_iter().collect())
    }

    async fn unread_in(&self, room: RoomId, user: UserId) -> Result<i64, PortError> {
        Ok(lock(&self.state).unread(room, user))
    }
}

/// The room preview shows the last message that is not deleted; it follows edits too.
fn refresh_preview(state: &mut State, room: RoomId) {
    let last = state
        .room_messages
        .get(&room)
        .and_then(|ids| ids.last())
        .and_then(|id| state.messages.get(id))
        .map(|m| {
            if m.is_deleted() {
                String::new()
            } else {
                m.content.chars().take(200).collect()
            }
        });
    if let (Some(preview), Some(stored)) = (last, state.rooms.get_mut(&room)) {
        stored.last_message_preview = Some(preview);
    }
}
