//! Twilio: the Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`), and Twilio
//! Verify (`POST /v2/Services/{service}/Verifications` and `/VerificationCheck`), form-encoded
//! with basic auth `account SID : auth token`, as Nhost's client sends them.

use async_trait::async_trait;
use url::Url;
use url::form_urlencoded::Serializer;

use super::{SmsError, TextSender, endpoint, refused, request_failed};
use crate::config::TwilioConfig;
use crate::model::{PhoneNumber, Secret};

/// Twilio's answers are small JSON objects; a longer one is not Twilio's.
const ANSWER_LIMIT: usize = 64 * 1024;

pub struct TwilioSender {
    http: reqwest::Client,
    base: Url,
    config: TwilioConfig,
}

impl TwilioSender {
    pub fn new(http: reqwest::Client, base: Url, config: &TwilioConfig) -> Self {
        TwilioSender {
            http,
            base,
            config: config.clone(),
        }
    }
}

#[async_trait]
impl TextSender for TwilioSender {
    async fn send(&self, to: &PhoneNumber, body: &Secret) -> Result<(), SmsError> {
        let c = &self.config;
        let url = endpoint(
            &self.base,
            &["2010-04-01", "Accounts", &c.account_sid, "Messages.json"],
        )?;
        // Nhost sends the id as `From`, which takes a number or a sender id; a Messaging
        // Service (`MG…`) goes in its own parameter, where Twilio documents it.
        let from = if c.messaging_service_id.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let form = Serializer::new(String::new())
            .append_pair("To", to.as_str())
            .append_pair(from, &c.messaging_service_id)
            .append_pair("Body", body.expose())
            .finish();
        let form = Secret::new(form);
        let status = post_form(&self.http, url, c, &form).await?.status();
        if !status.is_success() {
            return Err(refused("twilio", status));
        }
        Ok(())
    }
}

/// Twilio Verify: the service (`AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID`) makes the code, sends
/// it in its own words and checks guesses, counting them and expiring codes itself.
pub struct TwilioVerify {
    http: reqwest::Client,
    base: Url,
    config: TwilioConfig,
}

impl TwilioVerify {
    pub fn new(http: reqwest::Client, base: Url, config: &TwilioConfig) -> Self {
        TwilioVerify {
            http,
            base,
            config: config.clone(),
        }
    }

    /// Asks Twilio to text a new code to `to`, in `locale` where Twilio has it.
    pub async fn start(&self, to: &PhoneNumber, locale: &str) -> Result<(), SmsError> {
        let url = self.service_url("Verifications")?;
        let form = Serializer::new(String::new())
            .append_pair("To", to.as_str())
            .append_pair("Channel", "sms")
            .append_pair("Locale", locale)
            .finish();
        let status = post_form(&self.http, url, &self.config, &Secret::new(form))
            .await?
            .status();
        if !status.is_success() {
            return Err(refused("twilio verify", status));
        }
        Ok(())
    }

    /// Whether `code` is right for the pending verification of `to`. `false` also when there
    /// is none (never started, approved already, expired, or out of guesses: Twilio answers
    /// 404 for all of them).
    pub async fn check(&self, to: &PhoneNumber, code: &str) -> Result<bool, SmsError> {
        #[derive(serde::Deserialize)]
        struct Check {
            status: String,
        }
        let url = self.service_url("VerificationCheck")?;
        let form = Serializer::new(String::new())
            .append_pair("To", to.as_str())
            .append_pair("Code", code)
            .finish();
        let response = post_form(&self.http, url, &self.config, &Secret::new(form)).await?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(false);
        }
        if !status.is_success() {
            return Err(refused("twilio verify", status));
        }
        let body = crate::outgoing::read_limited(response, ANSWER_LIMIT)
            .await
            .map_err(|e| SmsError(format!("twilio verify: {e}")))?;
        let check: Check = serde_json::from_slice(&body)
            .map_err(|_| SmsError("twilio verify: answer without a status".into()))?;
        Ok(check.status == "approved")
    }

    fn service_url(&self, action: &str) -> Result<Url, SmsError> {
        endpoint(
            &self.base,
            &["v2", "Services", &self.config.messaging_service_id, action],
        )
    }
}

async fn post_form(
    http: &reqwest::Client,
    url: Url,
    config: &TwilioConfig,
    form: &Secret,
) -> Result<reqwest::Response, SmsError> {
    http.post(url)
        .basic_auth(&config.account_sid, Some(config.auth_token.expose()))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form.expose().to_owned())
        .send()
        .await
        .map_err(|e| request_failed("twilio", e))
}
