//! The built-in template of every notification type: installed by migration (a test keeps the
//! migration and this list equal), and the fallback when a stored template fails to render.
//!
//! Variables are documented per type in `docs/notifications.md`; every template may also use
//! `recipient_name`.

use crate::notification::kinds::{NotificationType, Priority};

/// One built-in template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    /// Template name (the type's wire name).
    pub name: &'static str,
    /// Type.
    pub kind: NotificationType,
    /// Title source.
    pub title: &'static str,
    /// Message source.
    pub message: &'static str,
    /// Default priority (DESIGN §5).
    pub priority: Priority,
    /// The variables the template uses.
    pub variables: &'static [&'static str],
}

use NotificationType as T;
use Priority as P;

/// Every built-in template, one per type.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "job_created",
        kind: T::JobCreated,
        title: "New cleaning job in {{ city }}",
        message: "{{ job_title }} is open for bids{% if scheduled_at %} (scheduled {{ scheduled_at }}){% endif %}.",
        priority: P::Medium,
        variables: &["job_id", "job_title", "city", "scheduled_at"],
    },
    Builtin {
        name: "bid_received",
        kind: T::BidReceived,
        title: "New bid on {{ job_title }}",
        message: "{{ cleaner_name }} placed a bid on your job.",
        priority: P::Medium,
        variables: &["job_id", "job_title", "cleaner_name"],
    },
    Builtin {
        name: "bid_accepted",
        kind: T::BidAccepted,
        title: "Your bid was accepted",
        message: "{{ client_name }} accepted your bid for {{ job_title }}.",
        priority: P::High,
        variables: &["job_id", "job_title", "client_name"],
    },
    Builtin {
        name: "bid_rejected",
        kind: T::BidRejected,
        title: "Your bid was not chosen",
        message: "Another cleaner was chosen for {{ job_title }}.",
        priority: P::Low,
        variables: &["job_id", "job_title"],
    },
    Builtin {
        name: "job_accepted",
        kind: T::JobAccepted,
        title: "Job accepted",
        message: "{{ job_title }} has been accepted.",
        priority: P::Medium,
        variables: &["job_id", "job_title"],
    },
    Builtin {
        name: "job_confirmed",
        kind: T::JobConfirmed,
        title: "Job confirmed",
        message: "{{ cleaner_name }} confirmed {{ job_title }}{% if scheduled_at %} for {{ scheduled_at }}{% endif %}.",
        priority: P::High,
        variables: &["job_id", "job_title", "cleaner_name", "scheduled_at"],
    },
    Builtin {
        name: "job_ready",
        kind: T::JobReady,
        title: "Ready to start",
        message: "{{ cleaner_name }} is ready to start {{ job_title }}.",
        priority: P::Medium,
        variables: &["job_id", "job_title", "cleaner_name"],
    },
    Builtin {
        name: "job_started",
        kind: T::JobStarted,
        title: "Job started",
        message: "{{ cleaner_name }} has started {{ job_title }}.",
        priority: P::High,
        variables: &["job_id", "job_title", "cleaner_name"],
    },
    Builtin {
        name: "job_finished",
        kind: T::JobFinished,
        title: "Job finished: please review",
        message: "{{ cleaner_name }} finished {{ job_title }}. Please review the work.",
        priority: P::High,
        variables: &["job_id", "job_title", "cleaner_name"],
    },
    Builtin {
        name: "job_completed",
        kind: T::JobCompleted,
        title: "Job completed",
        message: "{{ job_title }} is complete.{% if for_client %} Please rate your experience.{% endif %}",
        priority: P::Medium,
        variables: &["job_id", "job_title", "for_client"],
    },
    Builtin {
        name: "job_rejected",
        kind: T::JobRejected,
        title: "Work needs revision",
        message: "The client asked for changes to {{ job_title }}{% if reason %}: {{ reason }}{% endif %}.",
        priority: P::Urgent,
        variables: &["job_id", "job_title", "reason"],
    },
    Builtin {
        name: "job_cancelled",
        kind: T::JobCancelled,
        title: "Job cancelled",
        message: "{{ job_title }} has been cancelled.",
        priority: P::High,
        variables: &["job_id", "job_title"],
    },
    Builtin {
        name: "payment_received",
        kind: T::PaymentReceived,
        title: "Payment received",
        message: "You were paid for {{ job_title }}{% if amount %}: {{ amount }}{% endif %}.",
        priority: P::Medium,
        variables: &["job_id", "job_title", "amount"],
    },
    Builtin {
        name: "message_received",
        kind: T::MessageReceived,
        title: "New message from {{ sender_name }}",
        message: "{{ preview }}",
        priority: P::Low,
        variables: &["room_id", "sender_name", "preview", "job_id"],
    },
    Builtin {
        name: "reminder",
        kind: T::Reminder,
        title: "Reminder",
        message: "{{ text }}",
        priority: P::Medium,
        variables: &["text"],
    },
    Builtin {
        name: "promotion",
        kind: T::Promotion,
        title: "{{ headline }}",
        message: "{{ text }}",
        priority: P::Low,
        variables: &["headline", "text"],
    },
    Builtin {
        name: "system_alert",
        kind: T::SystemAlert,
        title: "{{ headline }}",
        message: "{{ text }}",
        priority: P::High,
        variables: &["headline", "text"],
    },
];

/// The built-in template of `kind`.
pub fn builtin(kind: NotificationType) -> &'static Builtin {
    BUILTINS
        .iter()
        .find(|b| b.kind == kind)
        .unwrap_or(&FALLBACK)
}

/// Used only if a type ever lacks a built-in (a test proves none does).
const FALLBACK: Builtin = Builtin {
    name: "system_alert",
    kind: NotificationType::SystemAlert,
    title: "Notification",
    message: "You have a new notification.",
    priority: Priority::Medium,
    variables: &[],
};

/// The last resort when even the built-in template cannot render: plain text with no variables.
pub fn plain_text(kind: NotificationType) -> (String, String) {
    let title = kind.as_str().replace('_', " ");
    let mut chars = title.chars();
    let title = match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => "Notification".to_owned(),
    };
    (title, "You have a new notification.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_exactly_one_builtin_named_after_it() {
        for kind in NotificationType::ALL {
            let found: Vec<_> = BUILTINS.iter().filter(|b| b.kind == *kind).collect();
            assert_eq!(found.len(), 1, "{kind:?}");
            assert_eq!(found[0].name, kind.as_str());
            assert_eq!(builtin(*kind).kind, *kind);
        }
        assert_eq!(BUILTINS.len(), NotificationType::ALL.len());
    }

    #[test]
    fn priorities_follow_design_section_5() {
        assert_eq!(
            builtin(NotificationType::BidAccepted).priority,
            Priority::High
        );
        assert_eq!(
            builtin(NotificationType::BidRejected).priority,
            Priority::Low
        );
        assert_eq!(
            builtin(NotificationType::JobRejected).priority,
            Priority::Urgent
        );
        assert_eq!(
            builtin(NotificationType::MessageReceived).priority,
            Priority::Low
        );
        assert_eq!(plain_text(NotificationType::JobStarted).0, "Job started");
    }
}
