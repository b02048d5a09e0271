//! Modica's REST API, as Nhost calls it: `POST /rest/sms/v2/messages` with JSON
//! `{destination, content}` and basic auth; `202 Accepted` means taken.

use async_trait::async_trait;
use url::Url;

use super::{SmsError, TextSender, endpoint, refused, request_failed};
use crate::model::{PhoneNumber, Secret};

pub struct ModicaSender {
    http: reqwest::Client,
    base: Url,
    username: String,
    password: Secret,
}

impl ModicaSender {
    pub fn new(http: reqwest::Client, base: Url, username: String, password: Secret) -> Self {
        ModicaSender {
            http,
            base,
            username,
            password,
        }
    }
}

#[async_trait]
impl TextSender for ModicaSender {
    async fn send(&self, to: &PhoneNumber, body: &Secret) -> Result<(), SmsError> {
        let url = endpoint(&self.base, &["rest", "sms", "v2", "messages"])?;
        let message = serde_json::json!({ "destination": to.as_str(), "content": body.expose() });
        let response = self
            .http
            .post(url)
            .basic_auth(&self.username, Some(self.password.expose()))
            .json(&message)
            .send()
            .await
            .map_err(|e| request_failed("modica", e))?;
        // Nhost accepts exactly 202, Modica's documented answer.
        if response.status() != reqwest::StatusCode::ACCEPTED {
            return Err(refused("modica", response.status()));
        }
        Ok(())
    }
}
