//! E-mail over SMTP with lettre.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use ports::{DeliveryJob, DeliveryOutcome, PortError};

/// Where and as whom to send.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// `smtp://host:port` (plain, or `?tls=required` for STARTTLS), `smtps://host:port` (TLS),
    /// credentials in the URL.
    pub url: String,
    /// The sender, e.g. `E-Clean <no-reply@e-clean.example>`.
    pub from: String,
    /// Limit of one SMTP conversation.
    pub timeout: Duration,
}

/// Sends one e-mail per delivery. Each message carries a Message-ID derived from the delivery id,
/// so a receiver can drop a duplicate of a retried send.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for these settings. Errors: a URL or sender that does not parse.
    pub fn new(settings: &SmtpSettings) -> Result<Self, PortError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
            .map_err(|e| PortError::unexpected(format!("notifications.smtp.url: {e}")))?
            .timeout(Some(settings.timeout))
            .build();
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| PortError::unexpected(format!("notifications.smtp.from: {e}")))?;
        let domain = from.email.domain().to_owned();
        Ok(Self {
            transport,
            from,
            domain,
        })
    }

    /// One attempt for `job`.
    pub async fn send(&self, job: &DeliveryJob) -> DeliveryOutcome {
        let Some(address) = job.payload.email.as_deref() else {
            return DeliveryOutcome::Permanent("the recipient has no e-mail address".to_owned());
        };
        let to: Mailbox = match address.parse() {
            Ok(to) => to,
            Err(e) => return DeliveryOutcome::Permanent(format!("invalid address: {e}")),
        };
        let mut body = job.payload.message.clone();
        if let Some(url) = &job.payload.action_url {
            body.push_str("\n\n");
            body.push_str(url);
        }
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(job.payload.title.clone())
            .message_id(Some(format!("<delivery-{}@{}>", job.id, self.domain)))
            .header(ContentType::TEXT_PLAIN)
            .body(body);
        let message = match message {
            Ok(message) => message,
            Err(e) => return DeliveryOutcome::Permanent(format!("cannot build the e-mail: {e}")),
        };
        match self.transport.send(message).await {
            Ok(_) => DeliveryOutcome::Delivered,
            Err(e) if e.is_permanent() => DeliveryOutcome::Permanent(e.to_string()),
            // Transient codes, connection failures and timeouts are worth another try.
            Err(e) => DeliveryOutcome::Retry(e.to_string()),
        }
    }
}
