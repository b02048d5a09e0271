//! SMS delivery for sign-in codes (`AUTH_SMS_PROVIDER`): Twilio's Messages API, Twilio
//! Verify (which makes and checks the codes itself), Modica, and for development files in a
//! local folder. Built with the runtime over its one outgoing HTTP client (timeouts, proxies
//! and roots as configured), so `/change-env` can switch providers.

mod dev;
mod modica;
mod twilio;

use async_trait::async_trait;
use url::Url;

use crate::config::{SmsConfig, SmsProvider};
use crate::model::{PhoneNumber, Secret};

pub use dev::{DevSender, WrittenText, read_texts};
pub use modica::ModicaSender;
pub use twilio::{TwilioSender, TwilioVerify};

/// The provider did not take the message (or answer the check). The text names the provider
/// and an HTTP status or error kind, never the provider's words: they can echo the number.
#[derive(Debug, thiserror::Error)]
#[error("SMS provider failed: {0}")]
pub struct SmsError(pub String);

/// Carries a text we wrote (holding a code we made) to a phone.
#[async_trait]
pub trait TextSender: Send + Sync {
    /// One attempt. `Ok`: the provider accepted the message for delivery.
    async fn send(&self, to: &PhoneNumber, body: &Secret) -> Result<(), SmsError>;
}

/// How codes reach phones, and who checks them.
pub enum Sms {
    /// Latchkey makes the code, stores its hash and checks guesses; the provider carries text.
    Text(Box<dyn TextSender>),
    /// Twilio Verify makes, sends and checks the codes; nothing about them is stored here.
    Verify(TwilioVerify),
}

/// The provider the configuration asks for.
pub fn from_config(config: &SmsConfig, http: &reqwest::Client) -> Result<Sms, String> {
    let base = |url: &Option<Url>, name: &str| {
        url.clone()
            .ok_or_else(|| format!("{name}: not an absolute http(s) URL"))
    };
    Ok(match &config.provider {
        SmsProvider::Dev => Sms::Text(Box::new(DevSender::new(config.sms_dir.clone()))),
        SmsProvider::Twilio(twilio) if twilio.verify => Sms::Verify(TwilioVerify::new(
            http.clone(),
            base(
                &config.twilio_verify_base_url,
                "LATCHKEY_SMS_TWILIO_VERIFY_BASE_URL",
            )?,
            twilio,
        )),
        SmsProvider::Twilio(twilio) => Sms::Text(Box::new(TwilioSender::new(
            http.clone(),
            base(&config.twilio_base_url, "LATCHKEY_SMS_TWILIO_BASE_URL")?,
            twilio,
        ))),
        SmsProvider::Modica { username, password } => Sms::Text(Box::new(ModicaSender::new(
            http.clone(),
            base(&config.modica_base_url, "LATCHKEY_SMS_MODICA_BASE_URL")?,
            username.clone(),
            password.clone(),
        ))),
    })
}

/// `base` with `segments` appended, each percent-encoded as one path segment (an SID cannot
/// add path parts or a query).
fn endpoint(base: &Url, segments: &[&str]) -> Result<Url, SmsError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| SmsError(format!("{base}: cannot hold a path")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// A failed request, for the log: the error kind, no URL.
fn request_failed(provider: &str, error: reqwest::Error) -> SmsError {
    SmsError(format!("{provider}: {}", crate::outgoing::describe(error)))
}

/// A refusal, for the log: the status only (bodies can echo the number).
fn refused(provider: &str, status: reqwest::StatusCode) -> SmsError {
    SmsError(format!("{provider}: answered HTTP {}", status.as_u16()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_encode_each_segment() {
        let base = Url::parse("https://api.twilio.com").unwrap();
        let url = endpoint(
            &base,
            &["2010-04-01", "Accounts", "AC1/../x?y", "Messages.json"],
        );
        assert_eq!(
            url.unwrap().as_str(),
            "https://api.twilio.com/2010-04-01/Accounts/AC1%2F..%2Fx%3Fy/Messages.json"
        );
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        let url = endpoint(&base, &["v2", "Services"]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/prefix/v2/Services");
    }
}
