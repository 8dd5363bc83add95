//! The notification inbox, preferences, templates and delivery queue, in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use domain::chat::Seq;
use domain::notification::builtin::BUILTINS;
use domain::notification::{
    NewNotification, NewTemplate, Notification, NotificationId, NotificationTemplate,
    NotificationType, Preferences, TemplateName,
};
use domain::user::UserId;
use ports::{
    DeliveryJob, DeliveryQueue, DeliveryRecord, DeliveryState, InboxFilter, NewDelivery,
    NotificationRepository, PortError, PreferenceRepository, TemplateRepository,
};

use crate::lock::lock;

#[derive(Debug, Clone, Default)]
pub(crate) struct Inbox {
    state: BTreeMap<NotificationId, Notification>,
    heads: HashMap<UserId, Seq>,
    dedupe: HashMap<(UserId, String), NotificationId>,
    /// The latest notification stored under each collapse key (unread or not).
    collapsed: HashMap<(UserId, String), NotificationId>,
    last_id: i64,
}

impl Inbox {
    pub(crate) fn insert(
        &mut self,
        new: NewNotification,
        now: DateTime<Utc>,
    ) -> Result<(Notification, bool), PortError> {
        if let Some(key) = &new.dedupe_key
            && let Some(id) = self.dedupe.get(&(new.recipient, key.clone()))
        {
            let existing = self.state.get(id).cloned().ok_or(PortError::NotFound)?;
            return Ok((existing, false));
        }
        self.last_id += 1;
        let seq = self.heads.entry(new.recipient).or_default().next();
        self.heads.insert(new.recipient, seq);
        let notification = Notification {
            id: NotificationId::new(self.last_id).map_err(PortError::unexpected)?,
            recipient: new.recipient,
            seq,
            sender: new.sender,
            kind: new.kind,
            title: new.title,
            message: new.message,
            priority: new.priority,
            object: new.object,
            action_url: new.action_url,
            metadata: new.metadata,
            read_at: None,
            delivered_at: None,
            created_at: now,
            expires_at: new.expires_at,
            dedupe_key: new.dedupe_key,
            silent: new.silent,
        };
        if let Some(key) = &notification.dedupe_key {
            self.dedupe
                .insert((notification.recipient, key.clone()), notification.id);
        }
        self.state.insert(notification.id, notification.clone());
        Ok((notification, true))
    }

    fn of(&self, recipient: UserId, now: DateTime<Utc>) -> impl Iterator<Item = &Notification> {
        self.state
            .values()
            .filter(move |n| n.recipient == recipient && !n.is_expired(now))
    }
}

/// Every inbox.
#[derive(Debug, Clone, Default)]
pub struct MemoryNotifications {
    pub(crate) inbox: Arc<Mutex<Inbox>>,
}

impl NotificationRepository for MemoryNotifications {
    async fn create(
        &self,
        notification: NewNotification,
    ) -> Result<(Notification, bool), PortError> {
        lock(&self.inbox).insert(notification, Utc::now())
    }

    async fn create_many(
        &self,
        notifications: Vec<NewNotification>,
    ) -> Result<Vec<(Notification, bool)>, PortError> {
        let mut inbox = lock(&self.inbox);
        let now = Utc::now();
        notifications
            .into_iter()
            .map(|n| inbox.insert(n, now))
            .collect()
    }

    async fn get(&self, recipient: UserId, id: NotificationId) -> Result<Notification, PortError> {
        lock(&self.inbox)
            .state
            .get(&id)
            .filter(|n| n.recipient == recipient)
            .cloned()
            .ok_or(PortError::NotFound)
    }

    async fn list(
        &self,
        recipient: UserId,
        filter: InboxFilter,
        before: Option<Seq>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Notification>, PortError> {
        let inbox = lock(&self.inbox);
        let mut found: Vec<Notification> = inbox
            .of(recipient, now)
            .filter(|n| !filter.unread_only || n.read_at.is_none())
            .filter(|n| filter.kind.is_none_or(|k| n.kind == k))
            .filter(|n| before.is_none_or(|b| n.seq < b))
            .cloned()
            .collect();
        found.sort_by_key(|n| std::cmp::Reverse(n.seq));
        found.truncate(limit);
        Ok(found)
    }

    async fn after(
        &self,
        recipient: UserId,
        after: Seq,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Notification>, PortError> {
        let inbox = lock(&self.inbox);
        let mut found: Vec<Notification> = inbox
            .of(recipient, now)
            .filter(|n| n.seq > after)
            .cloned()
            .collect();
        found.sort_by_key(|n| n.seq);
        found.truncate(limit);
        Ok(found)
    }

    async fn unread_count(&self, recipient: UserId, now: DateTime<Utc>) -> Result<i64, PortError> {
        Ok(lock(&self.inbox)
            .of(recipient, now)
            .filter(|n| n.read_at.is_none())
            .count() as i64)
    }

    async fn mark_read(
        &self,
        recipient: UserId,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut inbox = lock(&self.inbox);
        let notification = inbox
            .state
            .get_mut(&id)
            .filter(|n| n.recipient == recipient)
            .ok_or(PortError::NotFound)?;
        if notification.read_at.is_some() {
            return Ok(false);
        }
        notification.read_at = Some(at);
        Ok(true)
    }

    async fn mark_all_read(&self, recipient: UserId, at: DateTime<Utc>) -> Result<u64, PortError> {
        let mut inbox = lock(&self.inbox);
        let mut changed = 0;
        for notification in inbox.state.values_mut() {
            if notification.recipient == recipient
                && notification.read_at.is_none()
                && !notification.is_expired(at)
            {
                notification.read_at = Some(at);
                changed += 1;
            }
        }
        Ok(changed)
    }

    async fn mark_delivered(
        &self,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut inbox = lock(&self.inbox);
        let notification = inbox.state.get_mut(&id).ok_or(PortError::NotFound)?;
        if notification.delivered_at.is_some() {
            return Ok(false);
        }
        notification.delivered_at = Some(at);
        Ok(true)
    }

    async fn delete(&self, recipient: UserId, id: NotificationId) -> Result<(), PortError> {
        let mut inbox = lock(&self.inbox);
        let owned = inbox
            .state
            .get(&id)
            .is_some_and(|n| n.recipient == recipient);
        if !owned {
            return Err(PortError::NotFound);
        }
        if let Some(removed) = inbox.state.remove(&id)
            && let Some(key) = removed.dedupe_key
        {
            inbox.dedupe.remove(&(removed.recipient, key));
        }
        Ok(())
    }

    async fn inbox_heads(&self, users: &[UserId]) -> Result<Vec<(UserId, Seq)>, PortError> {
        let inbox = lock(&self.inbox);
        Ok(users
            .iter()
            .filter_map(|u| inbox.heads.get(u).map(|h| (*u, *h)))
            .collect())
    }

    async fn upsert_collapsed(
        &self,
        notification: NewNotification,
        key: &str,
    ) -> Result<(Notification, bool), PortError> {
        let mut inbox = lock(&self.inbox);
        let now = Utc::now();
        let slot = (notification.recipient, key.to_owned());
        let open = inbox
            .collapsed
            .get(&slot)
            .and_then(|id| inbox.state.get(id))
            .filter(|n| n.read_at.is_none())
            .map(|n| n.id);
        if let Some(id) = open {
            let seq = inbox
                .heads
                .entry(notification.recipient)
                .or_default()
                .next();
            inbox.heads.insert(notification.recipient, seq);
            let stored = inbox.state.get_mut(&id).ok_or(PortError::NotFound)?;
            stored.title = notification.title;
            stored.message = notification.message;
            stored.priority = notification.priority;
            stored.metadata = notification.metadata;
            stored.silent = notification.silent;
            stored.expires_at = notification.expires_at;
            stored.seq = seq;
            stored.created_at = now;
            return Ok((stored.clone(), false));
        }
        let (stored, created) = inbox.insert(notification, now)?;
        inbox.collapsed.insert(slot, stored.id);
        Ok((stored, created))
    }

    async fn head_seq(&self, recipient: UserId) -> Result<Seq, PortError> {
        Ok(lock(&self.inbox)
            .heads
            .get(&recipient)
            .copied()
            .unwrap_or_default())
    }
}

/// Preferences per user.
#[derive(Debug, Clone, Default)]
pub struct MemoryPreferences {
    state: Arc<Mutex<HashMap<UserId, Preferences>>>,
}

impl PreferenceRepository for MemoryPreferences {
    async fn get(&self, user: UserId) -> Result<Preferences, PortError> {
        Ok(lock(&self.state).get(&user).cloned().unwrap_or_default())
    }

    async fn get_many(&self, users: &[UserId]) -> Result<Vec<Preferences>, PortError> {
        let state = lock(&self.state);
        Ok(users
            .iter()
            .map(|u| state.get(u).cloned().unwrap_or_default())
            .collect())
    }

    async fn put(&self, user: UserId, preferences: &Preferences) -> Result<(), PortError> {
        lock(&self.state).insert(user, preferences.clone());
        Ok(())
    }
}

/// Templates, starting with the built-in ones.
#[derive(Debug, Clone)]
pub struct MemoryTemplates {
    state: Arc<Mutex<BTreeMap<TemplateName, NotificationTemplate>>>,
}

impl Default for MemoryTemplates {
    fn default() -> Self {
        let now = Utc::now();
        let state = BUILTINS
            .iter()
            .filter_map(|b| {
                let name = TemplateName::parse(b.name).ok()?;
                Some((
                    name.clone(),
                    NotificationTemplate {
                        name,
                        kind: b.kind,
                        title_template: b.title.to_owned(),
                        message_template: b.message.to_owned(),
                        default_priority: b.priority,
                        is_active: true,
                        builtin: true,
                        created_at: now,
                        updated_at: now,
                    },
                ))
            })
            .collect();
        Self {
            state: Arc::new(Mutex::new(state)),
        }
    }
}

impl TemplateRepository for MemoryTemplates {
    async fn list(&self) -> Result<Vec<NotificationTemplate>, PortError> {
        Ok(lock(&self.state).values().cloned().collect())
    }

    async fn get(&self, name: &TemplateName) -> Result<NotificationTemplate, PortError> {
        lock(&self.state)
            .get(name)
            .cloned()
            .ok_or(PortError::NotFound)
    }

    async fn active_for(
        &self,
        kind: NotificationType,
    ) -> Result<Option<NotificationTemplate>, PortError> {
        let state = lock(&self.state);
        let active = state.values().filter(|t| t.kind == kind && t.is_active);
        let named = active.clone().find(|t| t.name.as_str() == kind.as_str());
        Ok(named
            .or_else(|| active.max_by_key(|t| (t.updated_at, t.name.clone())))
            .cloned())
    }

    async fn create(&self, template: NewTemplate) -> Result<NotificationTemplate, PortError> {
        let mut state = lock(&self.state);
        if state.contains_key(&template.name) {
            return Err(PortError::Conflict("name"));
        }
        let now = Utc::now();
        let stored = NotificationTemplate {
            name: template.name.clone(),
            kind: template.kind,
            title_template: template.title_template,
            message_template: template.message_template,
            default_priority: template.default_priority,
            is_active: template.is_active,
            builtin: false,
            created_at: now,
            updated_at: now,
        };
        state.insert(template.name, stored.clone());
        Ok(stored)
    }

    async fn update(
        &self,
        name: &TemplateName,
        template: NewTemplate,
    ) -> Result<NotificationTemplate, PortError> {
        let mut state = lock(&self.state);
        let stored = state.get_mut(name).ok_or(PortError::NotFound)?;
        stored.kind = template.kind;
        stored.title_template = template.title_template;
        stored.message_template = template.message_template;
        stored.default_priority = template.default_priority;
        stored.is_active = template.is_active;
        stored.updated_at = Utc::now();
        Ok(stored.clone())
    }

    async fn delete(&self, name: &TemplateName) -> Result<(), PortError> {
        let mut state = lock(&self.state);
        match state.get(name) {
            None => Err(PortError::NotFound),
            Some(t) if t.builtin => Err(PortError::Conflict("builtin")),
            Some(_) => {
                state.remove(name);
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    job: NewDelivery,
    state: DeliveryState,
    attempts: u32,
    not_before: DateTime<Utc>,
    leased_until: Option<DateTime<Utc>>,
    last_error: Option<String>,
    delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Queue {
    entries: BTreeMap<i64, Entry>,
    keys: HashMap<(NotificationId, &'static str), i64>,
    last_id: i64,
}

impl Queue {
    /// Adds jobs; one per (notification, channel).
    pub(crate) fn push(&mut self, jobs: Vec<NewDelivery>) {
        for job in jobs {
            let key = (job.notification, job.channel.as_str());
            if self.keys.contains_key(&key) {
                continue;
            }
            self.last_id += 1;
            let id = self.last_id;
            self.keys.insert(key, id);
            let not_before = job.not_before;
            self.entries.insert(
                id,
                Entry {
                    job,
                    state: DeliveryState::Pending,
                    attempts: 0,
                    not_before,
                    leased_until: None,
                    last_error: None,
                    delivered_at: None,
                },
            );
        }
    }
}

/// The delivery queue. Lost when the process exits (as is everything on the memory backend).
#[derive(Debug, Clone, Default)]
pub struct MemoryDeliveries {
    pub(crate) queue: Arc<Mutex<Queue>>,
}

impl DeliveryQueue for MemoryDeliveries {
    async fn enqueue(&self, jobs: Vec<NewDelivery>) -> Result<(), PortError> {
        lock(&self.queue).push(jobs);
        Ok(())
    }
    async fn claim(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<DeliveryJob>, PortError> {
        let mut queue = lock(&self.queue);
        let mut claimed = Vec::new();
        for (id, entry) in &mut queue.entries {
            if claimed.len() >= limit {
                break;
            }
            let free = entry.leased_until.is_none_or(|until| until <= now);
            if entry.state == DeliveryState::Pending && entry.not_before <= now && free {
                entry.attempts += 1;
                entry.leased_until = Some(now + lease);
                claimed.push(DeliveryJob {
                    id: *id,
                    notification: entry.job.notification,
                    recipient: entry.job.recipient,
                    channel: entry.job.channel,
                    payload: entry.job.payload.clone(),
                    attempts: entry.attempts,
                });
            }
        }
        Ok(claimed)
    }

    async fn complete(&self, id: i64, at: DateTime<Utc>) -> Result<(), PortError> {
        let mut queue = lock(&self.queue);
        let entry = queue.entries.get_mut(&id).ok_or(PortError::NotFound)?;
        entry.state = DeliveryState::Delivered;
        entry.delivered_at = Some(at);
        entry.leased_until = None;
        Ok(())
    }

    async fn retry(
        &self,
        id: i64,
        error: &str,
        not_before: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let mut queue = lock(&self.queue);
        let entry = queue.entries.get_mut(&id).ok_or(PortError::NotFound)?;
        entry.not_before = not_before;
        entry.leased_until = None;
        entry.last_error = Some(error.to_owned());
        Ok(())
    }

    async fn fail(&self, id: i64, error: &str) -> Result<(), PortError> {
        let mut queue = lock(&self.queue);
        let entry = queue.entries.get_mut(&id).ok_or(PortError::NotFound)?;
        entry.state = DeliveryState::Failed;
        entry.leased_until = None;
        entry.last_error = Some(error.to_owned());
        Ok(())
    }

    async fn of_notification(
        &self,
        notification: NotificationId,
    ) -> Result<Vec<DeliveryRecord>, PortError> {
        let queue = lock(&self.queue);
        Ok(queue
            .entries
            .iter()
            .filter(|(_, e)| e.job.notification == notification)
            .map(|(id, e)| DeliveryRecord {
                id: *id,
                channel: e.job.channel,
                state: e.state,
                attempts: e.attempts,
                last_error: e.last_error.clone(),
                delivered_at: e.delivered_at,
                not_before: e.not_before,
            })
            .collect())
    }
}
