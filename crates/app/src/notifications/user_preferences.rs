//! A user's own preferences.

use chrono::NaiveTime;
use domain::notification::preferences::{Channel, QuietHours, parse_timezone};
use domain::notification::{Category, Preferences};
use domain::user::User;
use ports::PreferenceRepository;

use crate::error::AppError;
use crate::ports::Ports;

use super::{NotificationService, PreferencesInput};

impl<P: Ports> NotificationService<P> {
    /// The caller's preferences.
    pub async fn preferences(&self, actor: &User) -> Result<Preferences, AppError> {
        self.adapters
            .preferences
            .get(actor.id)
            .await
            .map_err(AppError::from_port("preferences"))
    }

    /// Changes the caller's preferences: `replace` starts from the defaults (PUT), otherwise from
    /// the current ones (PATCH).
    pub async fn update_preferences(
        &self,
        actor: &User,
        input: PreferencesInput,
        replace: bool,
    ) -> Result<Preferences, AppError> {
        let mut preferences = if replace {
            Preferences::default()
        } else {
            self.preferences(actor).await?
        };
        let mut errors = domain::FieldErrors::new();
        for (name, on) in &input.switches {
            match Preferences::SWITCHES.iter().find(|(n, _, _)| n == name) {
                Some((_, category, channel)) => preferences.set(*category, *channel, *on),
                None => errors.add(name.clone(), "unknown switch"),
            }
        }
        for (category, channels) in &input.channels {
            let Some(category) =
                errors.collect(Category::parse(category).map_err(|e| e.named("channels")))
            else {
                continue;
            };
            for (channel, on) in channels {
                if let Some(channel) =
                    errors.collect(Channel::parse(channel).map_err(|e| e.named("channels")))
                {
                    preferences.set(category, channel, *on);
                }
            }
        }
        if let Some(on) = input.inapp_all {
            preferences.inapp_all = on;
        }
        if let Some(on) = input.quiet_hours_enabled {
            preferences.quiet_hours_enabled = on;
        }
        if let Some(tz) = &input.timezone
            && let Some(tz) = errors.collect(parse_timezone(tz))
        {
            preferences.timezone = tz;
        }
        let current = preferences.quiet_hours;
        let time = |field: &'static str, raw: &str, errors: &mut domain::FieldErrors| {
            errors.collect(NaiveTime::parse_from_str(raw, "%H:%M").map_err(|_| {
                domain::ValidationError::new(
                    field,
                    format!("{raw:?} is not a time of the form HH:MM"),
                )
            }))
        };
        let start = match &input.quiet_hours_start {
            None => current.map(|q| q.start),
            Some(None) => None,
            Some(Some(raw)) => time("quiet_hours_start", raw, &mut errors),
        };
        let end = match &input.quiet_hours_end {
            None => current.map(|q| q.end),
            Some(None) => None,
            Some(Some(raw)) => time("quiet_hours_end", raw, &mut errors),
        };
        preferences.quiet_hours = match (start, end) {
            (Some(start), Some(end)) => Some(QuietHours { start, end }),
            (None, None) => None,
            _ => {
                errors.add(
                    "quiet_hours_start",
                    "set both quiet_hours_start and quiet_hours_end, or neither",
                );
                None
            }
        };
        if preferences.quiet_hours_enabled && preferences.quiet_hours.is_none() {
            errors.add(
                "quiet_hours_enabled",
                "quiet hours need quiet_hours_start and quiet_hours_end",
            );
        }
        errors.into_result()?;
        self.adapters
            .preferences
            .put(actor.id, &preferences)
            .await
            .map_err(AppError::from_port("preferences"))?;
        Ok(preferences)
    }
}
