//! A user's notification preferences and the rules that enforce them.
//!
//! Categories × channels decide where a notification goes; `inapp_all: false` stops live in-app
//! pushes; quiet hours (in the user's own time zone) make in-app pushes silent and hold external
//! channels until the quiet period ends; `urgent` ignores all of it. Muted notifications are still
//! **stored**: the inbox is a record, preferences only govern interruptions.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, LocalResult, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::notification::kinds::{Category, NotificationType, Priority};

/// Where a notification can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The inbox, pushed live to open sessions.
    InApp,
    /// E-mail over SMTP.
    Email,
    /// Mobile push and SMS, handed to the platform's webhook.
    Push,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 3] = [Channel::InApp, Channel::Email, Channel::Push];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::InApp => "in_app",
            Channel::Email => "email",
            Channel::Push => "push",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| ValidationError::new("channel", format!("unknown channel {raw:?}")))
    }
}

/// A daily quiet period in the user's local time. `start > end` spans midnight; `start == end`
/// means no quiet period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    /// Local start time.
    pub start: NaiveTime,
    /// Local end time.
    pub end: NaiveTime,
}

impl QuietHours {
    /// Parses `"HH:MM"` strings.
    pub fn parse(start: &str, end: &str) -> Result<Self, ValidationError> {
        let time = |field: &'static str, raw: &str| {
            NaiveTime::parse_from_str(raw, "%H:%M").map_err(|_| {
                ValidationError::new(field, format!("{raw:?} is not a time of the form HH:MM"))
            })
        };
        Ok(Self {
            start: time("quiet_hours_start", start)?,
            end: time("quiet_hours_end", end)?,
        })
    }

    /// Whether local time `t` falls in the quiet period.
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else if self.start > self.end {
            t >= self.start || t < self.end
        } else {
            false
        }
    }
}

/// Parses an IANA time zone name (`Europe/Athens`).
pub fn parse_timezone(raw: &str) -> Result<Tz, ValidationError> {
    raw.parse::<Tz>()
        .map_err(|_| ValidationError::new("timezone", format!("{raw:?} is not an IANA time zone")))
}

/// A user's preferences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    /// The user's time zone, for quiet hours.
    pub timezone: Tz,
    /// Master switch of live in-app pushes (`urgent` ones always go).
    pub inapp_all: bool,
    /// Whether quiet hours apply.
    pub quiet_hours_enabled: bool,
    /// The quiet period, if one is set.
    pub quiet_hours: Option<QuietHours>,
    /// Every category × channel cell.
    matrix: BTreeMap<(Category, Channel), bool>,
}

impl Default for Preferences {
    /// The original's defaults (e-mail and push for job updates and messages, push for
    /// reminders, no marketing e-mail), in-app for everything, system notices everywhere.
    fn default() -> Self {
        let mut matrix = BTreeMap::new();
        for category in Category::ALL {
            for channel in Channel::ALL {
                let on = match (category, channel) {
                    (_, Channel::InApp) => true,
                    (Category::Marketing, _) => false,
                    (Category::Reminders, Channel::Email) => false,
                    _ => true,
                };
                matrix.insert((category, channel), on);
            }
        }
        Self {
            timezone: Tz::UTC,
            inapp_all: true,
            quiet_hours_enabled: false,
            quiet_hours: None,
            matrix,
        }
    }
}

impl Preferences {
    /// Whether `category` may use `channel`.
    pub fn allows(&self, category: Category, channel: Channel) -> bool {
        self.matrix
            .get(&(category, channel))
            .copied()
            .unwrap_or(false)
    }

    /// Sets one cell.
    pub fn set(&mut self, category: Category, channel: Channel, on: bool) {
        self.matrix.insert((category, channel), on);
    }

    /// Every cell, for storage and display.
    pub fn cells(&self) -> impl Iterator<Item = (Category, Channel, bool)> + '_ {
        self.matrix
            .iter()
            .map(|((category, channel), on)| (*category, *channel, *on))
    }

    /// The original's switches, as views of the matrix: `(name, category, channel)`.
    pub const SWITCHES: [(&'static str, Category, Channel); 6] = [
        ("email_job_updates", Category::JobUpdates, Channel::Email),
        ("email_messages", Category::Messages, Channel::Email),
        ("email_marketing", Category::Marketing, Channel::Email),
        ("push_job_updates", Category::JobUpdates, Channel::Push),
        ("push_messages", Category::Messages, Channel::Push),
        ("push_reminders", Category::Reminders, Channel::Push),
    ];

    /// When quiet hours hold at `now`, the instant they end.
    pub fn quiet_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let hours = self.quiet_hours.filter(|_| self.quiet_hours_enabled)?;
        let local = now.with_timezone(&self.timezone);
        let time = local.time();
        if !hours.contains(time) {
            return None;
        }
        let date = if hours.start > hours.end && time >= hours.start {
            local.date_naive().succ_opt()?
        } else {
            local.date_naive()
        };
        Some(first_valid_instant(self.timezone, date.and_time(hours.end)))
    }
}

/// The instant of a local wall-clock time: the earlier one when the clock goes back (the time
/// happens twice), the first one after the gap when the clock jumps forward (it never happens).
fn first_valid_instant(tz: Tz, local: chrono::NaiveDateTime) -> DateTime<Utc> {
    let mut candidate = local;
    // Gaps are at most a few hours; a day of minutes bounds the search.
    for _ in 0..(24 * 60) {
        match tz.from_local_datetime(&candidate) {
            LocalResult::Single(at) => return at.with_timezone(&Utc),
            LocalResult::Ambiguous(earliest, _) => return earliest.with_timezone(&Utc),
            LocalResult::None => candidate += Duration::minutes(1),
        }
    }
    local.and_utc()
}

/// What happens in the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InApp {
    /// Stored and pushed live.
    Push,
    /// Stored and pushed live, marked silent (quiet hours).
    Silent,
    /// Stored only: the category is muted in-app.
    StoredOnly,
}

/// Where and when one notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The inbox.
    pub in_app: InApp,
    /// When to e-mail (now, or at the end of quiet hours); `None`: not at all.
    pub email: Option<DateTime<Utc>>,
    /// When to hand to the push webhook; `None`: not at all.
    pub push: Option<DateTime<Utc>>,
}

/// Applies the preferences to a notification of `kind` and `priority` created at `now`.
pub fn decide(
    prefs: &Preferences,
    kind: NotificationType,
    priority: Priority,
    now: DateTime<Utc>,
) -> Decision {
    if priority == Priority::Urgent {
        return Decision {
            in_app: InApp::Push,
            email: Some(now),
            push: Some(now),
        };
    }
    let category = kind.category();
    let quiet = prefs.quiet_until(now);
    let in_app = if !prefs.inapp_all || !prefs.allows(category, Channel::InApp) {
        InApp::StoredOnly
    } else if quiet.is_some() {
        InApp::Silent
    } else {
        InApp::Push
    };
    let when = quiet.unwrap_or(now);
    Decision {
        in_app,
        email: prefs.allows(category, Channel::Email).then_some(when),
        push: prefs.allows(category, Channel::Push).then_some(when),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        first_valid_instant(
            tz,
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, min, 0)
                .unwrap(),
        )
    }

    fn quiet(tz: &str, start: &str, end: &str) -> Preferences {
        Preferences {
            timezone: parse_timezone(tz).unwrap(),
            quiet_hours_enabled: true,
            quiet_hours: Some(QuietHours::parse(start, end).unwrap()),
            ..Preferences::default()
        }
    }

    #[test]
    fn quiet_periods_with_and_without_midnight() {
        let night = QuietHours::parse("22:00", "07:00").unwrap();
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        for (time, expected) in [
            ("21:59", false),
            ("22:00", true),
            ("23:30", true),
            ("00:00", true),
            ("06:59", true),
            ("07:00", false),
            ("12:00", false),
        ] {
            assert_eq!(night.contains(t(time)), expected, "{time}");
        }
        let lunch = QuietHours::parse("12:00", "13:30").unwrap();
        for (time, expected) in [
            ("11:59", false),
            ("12:00", true),
            ("13:29", true),
            ("13:30", false),
        ] {
            assert_eq!(lunch.contains(t(time)), expected, "{time}");
        }
        assert!(
            !QuietHours::parse("09:00", "09:00")
                .unwrap()
                .contains(t("09:00"))
        );
        assert!(QuietHours::parse("25:00", "07:00").is_err());
        assert!(QuietHours::parse("10pm", "07:00").is_err());
    }

    #[test]
    fn quiet_hours_end_in_the_users_time_zone() {
        let athens = parse_timezone("Europe/Athens").unwrap();
        let prefs = quiet("Europe/Athens", "22:00", "07:00");
        // 23:30 in Athens (winter, UTC+2) is 21:30 UTC; quiet until 07:00 local next day = 05:00 UTC.
        let now = at(athens, 2026, 1, 15, 23, 30);
        assert_eq!(prefs.quiet_until(now), Some(at(athens, 2026, 1, 16, 7, 0)));
        assert_eq!(
            prefs.quiet_until(now).unwrap().to_rfc3339(),
            "2026-01-16T05:00:00+00:00"
        );
        // 02:00 local: the same night, ends 07:00 the same local day.
        assert_eq!(
            prefs.quiet_until(at(athens, 2026, 1, 16, 2, 0)),
            Some(at(athens, 2026, 1, 16, 7, 0))
        );
        // 12:00 local: not quiet.
        assert_eq!(prefs.quiet_until(at(athens, 2026, 1, 16, 12, 0)), None);
        // The same UTC instant is quiet in Athens but not in New York.
        let ny = quiet("America/New_York", "22:00", "07:00");
        assert_eq!(ny.quiet_until(now), None);
        // Disabled quiet hours never apply.
        let mut off = prefs.clone();
        off.quiet_hours_enabled = false;
        assert_eq!(off.quiet_until(now), None);
    }

    #[test]
    fn quiet_hours_across_daylight_saving_changes() {
        // Athens springs forward on 2026-03-29 at 03:00 → 04:00 (UTC+2 → UTC+3).
        let athens = parse_timezone("Europe/Athens").unwrap();
        let prefs = quiet("Europe/Athens", "22:00", "07:00");
        let before = at(athens, 2026, 3, 28, 23, 0);
        let end = prefs.quiet_until(before).unwrap();
        assert_eq!(
            end.to_rfc3339(),
            "2026-03-29T04:00:00+00:00",
            "07:00 summer time is 04:00 UTC"
        );
        // A quiet period ending inside the gap ends at the first instant after it.
        let gap = quiet("Europe/Athens", "01:00", "03:30");
        let end = gap.quiet_until(at(athens, 2026, 3, 29, 2, 0)).unwrap();
        assert_eq!(
            end.to_rfc3339(),
            "2026-03-29T01:00:00+00:00",
            "03:30 does not exist; 04:00 EEST is 01:00 UTC"
        );
        // Athens falls back on 2026-10-25 at 04:00 → 03:00: 03:30 happens twice, the earlier counts.
        let twice = quiet("Europe/Athens", "01:00", "03:30");
        let end = twice.quiet_until(at(athens, 2026, 10, 25, 2, 0)).unwrap();
        assert_eq!(
            end.to_rfc3339(),
            "2026-10-25T00:30:00+00:00",
            "the first 03:30 is EEST, UTC+3"
        );
        // New York springs forward on 2026-03-08 at 02:00 → 03:00.
        let ny = parse_timezone("America/New_York").unwrap();
        let prefs = quiet("America/New_York", "23:00", "02:30");
        let end = prefs.quiet_until(at(ny, 2026, 3, 7, 23, 30)).unwrap();
        assert_eq!(
            end.to_rfc3339(),
            "2026-03-08T07:00:00+00:00",
            "02:30 is skipped; 03:00 EDT is 07:00 UTC"
        );
    }

    #[test]
    fn decisions_row_by_row() {
        let now = at(Tz::UTC, 2026, 6, 1, 12, 0);
        let mut muted_messages = Preferences::default();
        muted_messages.set(Category::Messages, Channel::InApp, false);
        let no_inapp = Preferences {
            inapp_all: false,
            ..Preferences::default()
        };
        let quiet_now = quiet("UTC", "11:00", "13:00");
        let quiet_end = at(Tz::UTC, 2026, 6, 1, 13, 0);
        let defaults = Preferences::default();
        use NotificationType::*;
        use Priority::*;
        let cases: Vec<(&str, &Preferences, NotificationType, Priority, Decision)> = vec![
            (
                "defaults: job update everywhere now",
                &defaults,
                JobStarted,
                High,
                Decision {
                    in_app: InApp::Push,
                    email: Some(now),
                    push: Some(now),
                },
            ),
            (
                "defaults: no marketing e-mail or push",
                &defaults,
                Promotion,
                Low,
                Decision {
                    in_app: InApp::Push,
                    email: None,
                    push: None,
                },
            ),
            (
                "defaults: reminders push but no e-mail",
                &defaults,
                Reminder,
                Medium,
                Decision {
                    in_app: InApp::Push,
                    email: None,
                    push: Some(now),
                },
            ),
            (
                "a muted category is stored only",
                &muted_messages,
                MessageReceived,
                Low,
                Decision {
                    in_app: InApp::StoredOnly,
                    email: Some(now),
                    push: Some(now),
                },
            ),
            (
                "muting one category leaves others",
                &muted_messages,
                JobStarted,
                Medium,
                Decision {
                    in_app: InApp::Push,
                    email: Some(now),
                    push: Some(now),
                },
            ),
            (
                "inapp_all off stops live pushes",
                &no_inapp,
                JobStarted,
                High,
                Decision {
                    in_app: InApp::StoredOnly,
                    email: Some(now),
                    push: Some(now),
                },
            ),
            (
                "quiet hours: silent, external deferred",
                &quiet_now,
                JobStarted,
                High,
                Decision {
                    in_app: InApp::Silent,
                    email: Some(quiet_end),
                    push: Some(quiet_end),
                },
            ),
            (
                "urgent ignores quiet hours",
                &quiet_now,
                JobRejected,
                Urgent,
                Decision {
                    in_app: InApp::Push,
                    email: Some(now),
                    push: Some(now),
                },
            ),
            (
                "urgent ignores mutes",
                &no_inapp,
                JobRejected,
                Urgent,
                Decision {
                    in_app: InApp::Push,
                    email: Some(now),
                    push: Some(now),
                },
            ),
            (
                "urgent ignores a muted category",
                &muted_messages,
                MessageReceived,
                Urgent,
                Decision {
                    in_app: InApp::Push,
                    email: Some(now),
                    push: Some(now),
                },
            ),
        ];
        for (name, prefs, kind, priority, expected) in cases {
            assert_eq!(decide(prefs, kind, priority, now), expected, "{name}");
        }
    }

    #[test]
    fn the_original_switches_are_cells_of_the_matrix() {
        let mut prefs = Preferences::default();
        assert!(prefs.allows(Category::JobUpdates, Channel::Email));
        assert!(!prefs.allows(Category::Marketing, Channel::Email));
        assert!(prefs.allows(Category::Reminders, Channel::Push));
        prefs.set(Category::JobUpdates, Channel::Email, false);
        assert!(!prefs.allows(Category::JobUpdates, Channel::Email));
        assert_eq!(prefs.cells().count(), 15);
        assert!(parse_timezone("Mars/Olympus").is_err());
        assert_eq!(Channel::parse("push"), Ok(Channel::Push));
    }
}
