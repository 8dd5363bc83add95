//! Outbound notification adapters: the template engine (minijinja), e-mail over SMTP (lettre),
//! and the signed webhook through which the platform sends mobile push and SMS.

pub mod channels;
pub mod smtp;
pub mod templates;
pub mod webhook;

pub use channels::OutboundChannels;
pub use smtp::{SmtpMailer, SmtpSettings};
pub use templates::MiniJinjaEngine;
pub use webhook::{WebhookSender, WebhookSettings, signature};
