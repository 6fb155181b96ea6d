//! Alert mail through SMTP (lettre).

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::settings::SmtpSettings;

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mailer(to {} recipients)", self.to.len())
    }
}

impl Mailer {
    /// None when no SMTP host is configured.
    pub fn from_settings(settings: &SmtpSettings) -> anyhow::Result<Option<Self>> {
        if settings.host.is_empty() {
            return Ok(None);
        }
        let builder = match settings.security.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)?,
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)?,
            _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host),
        };
        let mut builder = builder.port(settings.port);
        if !settings.user.is_empty() {
            builder =
                builder.credentials(Credentials::new(settings.user.clone(), settings.password.expose().to_string()));
        }
        let from: Mailbox = settings.from.parse().map_err(|e| anyhow::anyhow!("smtp.from: {e}"))?;
        let to = settings
            .to
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| a.parse::<Mailbox>().map_err(|e| anyhow::anyhow!("smtp.to: {a}: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Some(Self { transport: builder.build(), from, to }))
    }

    pub async fn send(&self, subject: &str, body: &str) -> anyhow::Result<()> {
        let mut message = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            message = message.to(to.clone());
        }
        let message = message.body(body.to_string())?;
        self.transport.send(message).await?;
        Ok(())
    }
}
