//! The external channels together: e-mail through SMTP, push through the webhook.

use domain::notification::Channel;
use ports::{DeliveryJob, DeliveryOutcome, ExternalChannel};

use crate::smtp::SmtpMailer;
use crate::webhook::WebhookSender;

/// Whichever channels are configured.
#[derive(Debug, Clone, Default)]
pub struct OutboundChannels {
    /// E-mail, when `notifications.smtp.url` is set.
    pub email: Option<SmtpMailer>,
    /// Push, when `notifications.webhook.url` is set.
    pub push: Option<WebhookSender>,
}

impl OutboundChannels {
    /// Whether a channel can be used (deliveries are only queued for those).
    pub fn has(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.is_some(),
            Channel::Push => self.push.is_some(),
            Channel::InApp => false,
        }
    }
}

impl ExternalChannel for OutboundChannels {
    fn available(&self, channel: Channel) -> bool {
        self.has(channel)
    }

    async fn deliver(&self, job: &DeliveryJob) -> DeliveryOutcome {
        match (job.channel, &self.email, &self.push) {
            (Channel::Email, Some(mailer), _) => mailer.send(job).await,
            (Channel::Push, _, Some(webhook)) => webhook.send(job).await,
            (channel, _, _) => DeliveryOutcome::Permanent(format!(
                "the {} channel is not configured",
                channel.as_str()
            )),
        }
    }
}
