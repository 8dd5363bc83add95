//! Notification types, the preference categories they fall into, and priorities.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// The preference category of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Jobs, bids, payments.
    JobUpdates,
    /// Chat messages.
    Messages,
    /// Reminders.
    Reminders,
    /// Promotions and announcements.
    Marketing,
    /// Account and service notices.
    System,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 5] = [
        Category::JobUpdates,
        Category::Messages,
        Category::Reminders,
        Category::Marketing,
        Category::System,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::JobUpdates => "job_updates",
            Category::Messages => "messages",
            Category::Reminders => "reminders",
            Category::Marketing => "marketing",
            Category::System => "system",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| ValidationError::new("category", format!("unknown category {raw:?}")))
    }
}

/// How urgent a notification is. `urgent` is never muted or deferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Low.
    Low,
    /// Medium (default).
    Medium,
    /// High.
    High,
    /// Urgent: bypasses mutes and quiet hours.
    Urgent,
}

impl Priority {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "low" => Ok(Priority::Low),
            "medium" => Ok(Priority::Medium),
            "high" => Ok(Priority::High),
            "urgent" => Ok(Priority::Urgent),
            other => Err(ValidationError::new(
                "priority",
                format!("unknown priority {other:?}; expected low, medium, high or urgent"),
            )),
        }
    }
}

macro_rules! notification_types {
    ($($variant:ident => $wire:literal, $category:ident;)+) => {
        /// What a notification is (the original's types and those of DESIGN §5).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum NotificationType {
            $(
                #[doc = $wire]
                $variant,
            )+
        }

        impl NotificationType {
            /// Every type.
            pub const ALL: &'static [NotificationType] = &[$(NotificationType::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(NotificationType::$variant => $wire,)+
                }
            }

            /// The preference category it belongs to.
            pub fn category(self) -> Category {
                match self {
                    $(NotificationType::$variant => Category::$category,)+
                }
            }
        }
    };
}

notification_types! {
    JobCreated => "job_created", JobUpdates;
    BidReceived => "bid_received", JobUpdates;
    BidAccepted => "bid_accepted", JobUpdates;
    BidRejected => "bid_rejected", JobUpdates;
    JobAccepted => "job_accepted", JobUpdates;
    JobConfirmed => "job_confirmed", JobUpdates;
    JobReady => "job_ready", JobUpdates;
    JobStarted => "job_started", JobUpdates;
    JobFinished => "job_finished", JobUpdates;
    JobCompleted => "job_completed", JobUpdates;
    JobRejected => "job_rejected", JobUpdates;
    JobCancelled => "job_cancelled", JobUpdates;
    PaymentReceived => "payment_received", JobUpdates;
    MessageReceived => "message_received", Messages;
    Reminder => "reminder", Reminders;
    Promotion => "promotion", Marketing;
    SystemAlert => "system_alert", System;
}

impl NotificationType {
    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| {
                ValidationError::new(
                    "notification_type",
                    format!("unknown notification type {raw:?}"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_has_a_category() {
        for kind in NotificationType::ALL {
            assert_eq!(NotificationType::parse(kind.as_str()), Ok(*kind));
        }
        assert_eq!(
            NotificationType::MessageReceived.category(),
            Category::Messages
        );
        assert_eq!(
            NotificationType::JobCreated.category(),
            Category::JobUpdates
        );
        assert_eq!(NotificationType::Promotion.category(), Category::Marketing);
        assert!(NotificationType::parse("job_exploded").is_err());
    }

    #[test]
    fn priorities_and_categories_round_trip() {
        for p in [
            Priority::Low,
            Priority::Medium,
            Priority::High,
            Priority::Urgent,
        ] {
            assert_eq!(Priority::parse(p.as_str()), Ok(p));
        }
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Ok(c));
        }
        assert!(Priority::parse("critical").is_err());
    }
}
