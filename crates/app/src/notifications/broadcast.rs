//! Admin broadcasts: accepted at once, stored in batches in the background, progress tracked.

use chrono::Utc;
use domain::user::{User, UserId};
use ports::{NotificationRepository, PreferenceRepository, UserRepository};

use crate::error::AppError;
use crate::ports::Ports;

use super::{Audience, BroadcastProgress, NotificationService, Notify, SendInput, admin_only};

impl<P: Ports> NotificationService<P> {
    /// An admin broadcasts: answered at once, stored and delivered in the background in batches.
    /// Each recipient gets the broadcast once even if it is re-run (its id is the dedupe key).
    pub async fn send_bulk(
        &self,
        admin: &User,
        audience: Audience,
        input: SendInput,
    ) -> Result<BroadcastProgress, AppError> {
        admin_only(admin)?;
        if input.dedupe_key.is_some() {
            return Err(AppError::invalid(
                "dedupe_key",
                "a broadcast is deduplicated by its own id",
            ));
        }
        // Validate once with a placeholder recipient.
        let template = self.parse_send(admin, admin.id, input)?;
        self.check_named_template(&template).await?;
        let total = match &audience {
            Audience::Users(ids) => {
                if ids.is_empty() {
                    return Err(AppError::invalid(
                        "recipient_ids",
                        "name at least one recipient",
                    ));
                }
                if ids.len() > 100_000 {
                    return Err(AppError::invalid(
                        "recipient_ids",
                        "at most 100000 recipients; use a role",
                    ));
                }
                ids.iter().collect::<std::collections::BTreeSet<_>>().len() as u64
            }
            Audience::Role(role) => self
                .adapters
                .users
                .count_active(*role)
                .await
                .map_err(AppError::from_port("user"))?,
        };
        let id = uuid::Uuid::new_v4().simple().to_string();
        let progress = self.begin_fan_out(&id, total);
        let service = self.clone();
        tokio::spawn(async move {
            service.fan_out(&id, audience, template).await;
        });
        Ok(progress)
    }

    /// Registers a fan-out of `total` recipients under `id` (its progress is then visible at
    /// `broadcasts/{id}/` on this instance).
    pub(crate) fn begin_fan_out(&self, id: &str, total: u64) -> BroadcastProgress {
        let progress = BroadcastProgress {
            id: id.to_owned(),
            total,
            stored: 0,
            skipped: 0,
            done: false,
            error: None,
        };
        self.track(&progress);
        progress
    }

    /// Stores and delivers `template` to `audience` in batches, to the end, and returns the final
    /// progress. Recipients are deduplicated by the template's `dedupe_key`, or by
    /// `broadcast:<id>`.
    pub(crate) async fn fan_out(
        &self,
        id: &str,
        audience: Audience,
        template: Notify,
    ) -> BroadcastProgress {
        let outcome = self.run_broadcast(id, audience, template).await;
        self.update(id, |p| {
            p.done = true;
            if let Err(error) = &outcome {
                p.error = Some(error.public_message());
            }
        });
        match &outcome {
            Ok(()) => tracing::info!(broadcast = %id, "fan-out finished"),
            Err(error) => tracing::error!(broadcast = %id, %error, "fan-out stopped"),
        }
        self.broadcasts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
            .unwrap_or_else(|| BroadcastProgress {
                id: id.to_owned(),
                total: 0,
                stored: 0,
                skipped: 0,
                done: true,
                error: None,
            })
    }

    pub(super) fn track(&self, progress: &BroadcastProgress) {
        self.broadcasts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(progress.id.clone(), progress.clone());
    }

    pub(super) fn update(&self, id: &str, change: impl FnOnce(&mut BroadcastProgress)) {
        if let Some(p) = self
            .broadcasts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(id)
        {
            change(p);
        }
    }

    /// A broadcast's progress (admins; broadcasts started on this instance).
    pub fn broadcast_status(&self, admin: &User, id: &str) -> Result<BroadcastProgress, AppError> {
        admin_only(admin)?;
        self.broadcasts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or(AppError::NotFound("broadcast"))
    }

    pub(super) async fn run_broadcast(
        &self,
        id: &str,
        audience: Audience,
        template: Notify,
    ) -> Result<(), AppError> {
        let batch = self.settings.bulk_batch.max(1);
        match audience {
            Audience::Users(ids) => {
                let mut unique: Vec<i64> = ids;
                unique.sort_unstable();
                unique.dedup();
                for chunk in unique.chunks(batch) {
                    let ids: Vec<UserId> = chunk
                        .iter()
                        .filter_map(|raw| UserId::new(*raw).ok())
                        .collect();
                    let users = self
                        .adapters
                        .users
                        .get_many(&ids)
                        .await
                        .map_err(AppError::from_port("user"))?;
                    let active: Vec<User> = users.into_iter().filter(|u| u.is_active).collect();
                    let skipped = (chunk.len() - active.len()) as u64;
                    self.deliver_batch(id, &template, active).await?;
                    self.update(id, |p| p.skipped += skipped);
                }
            }
            Audience::Role(role) => {
                let mut after = None;
                loop {
                    let ids = self
                        .adapters
                        .users
                        .active_ids(role, after, batch)
                        .await
                        .map_err(AppError::from_port("user"))?;
                    let Some(last) = ids.last().copied() else {
                        break;
                    };
                    after = Some(last);
                    let users = self
                        .adapters
                        .users
                        .get_many(&ids)
                        .await
                        .map_err(AppError::from_port("user"))?;
                    self.deliver_batch(id, &template, users).await?;
                }
            }
        }
        Ok(())
    }

    /// Stores one batch in one transaction, then pushes and queues each.
    pub(super) async fn deliver_batch(
        &self,
        id: &str,
        request: &Notify,
        recipients: Vec<User>,
    ) -> Result<(), AppError> {
        if recipients.is_empty() {
            return Ok(());
        }
        let ids: Vec<UserId> = recipients.iter().map(|u| u.id).collect();
        let now = Utc::now();
        let mut news = Vec::with_capacity(recipients.len());
        let mut decisions = Vec::with_capacity(recipients.len());
        let all_preferences = self
            .adapters
            .preferences
            .get_many(&ids)
            .await
            .map_err(AppError::from_port("preferences"))?;
        // One template lookup for the whole batch.
        let template = self.template_of(request).await?;
        for (user, preferences) in recipients.iter().zip(&all_preferences) {
            let one = Notify {
                recipient: user.id,
                dedupe_key: request
                    .dedupe_key
                    .clone()
                    .or_else(|| Some(format!("broadcast:{id}"))),
                ..request.clone()
            };
            let (new, decision) = self.prepare(&one, user, preferences, template.as_ref(), now)?;
            news.push(new);
            decisions.push(decision);
        }
        let stored = self
            .adapters
            .notifications
            .create_many(news)
            .await
            .map_err(AppError::from_port("notification"))?;
        let mut created = 0;
        let mut jobs = Vec::new();
        for ((notification, fresh), (user, decision)) in
            stored.into_iter().zip(recipients.iter().zip(decisions))
        {
            if fresh {
                created += 1;
                self.push_live(&notification, decision).await;
                jobs.extend(self.deliveries_for(&notification, user, decision));
            }
        }
        // One insert for the whole batch's e-mails and pushes.
        self.enqueue(jobs).await;
        self.update(id, |p| p.stored += created);
        Ok(())
    }
}
