//! SMS sign-in codes (`AUTH_SMS_*`): the switch, the provider and its credentials, and the
//! development folder used when no provider is configured.

use std::path::PathBuf;

use url::Url;

use super::Vars;
use crate::model::Secret;

#[derive(Debug, Clone)]
pub struct SmsConfig {
    /// `AUTH_SMS_PASSWORDLESS_ENABLED`: `/signin/passwordless/sms` and its `/otp`.
    pub passwordless_enabled: bool,
    pub provider: SmsProvider,
    /// `LATCHKEY_SMS_DIR`: where the `dev` provider writes messages.
    pub sms_dir: PathBuf,
    /// `LATCHKEY_SMS_TWILIO_BASE_URL`: Twilio's REST API (Messages), overridable for tests.
    /// `None` (for these three) only with a bad value, which is reported and stops the start.
    pub twilio_base_url: Option<Url>,
    /// `LATCHKEY_SMS_TWILIO_VERIFY_BASE_URL`: Twilio Verify's API, overridable for tests.
    pub twilio_verify_base_url: Option<Url>,
    /// `LATCHKEY_SMS_MODICA_BASE_URL`: Modica's REST API, overridable for tests.
    pub modica_base_url: Option<Url>,
}

/// `AUTH_SMS_PROVIDER` with its credentials.
#[derive(Debug, Clone)]
pub enum SmsProvider {
    /// Messages are written to `sms_dir` and logged without their code.
    Dev,
    Twilio(TwilioConfig),
    Modica {
        username: String,
        password: Secret,
    },
}

#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// `AUTH_SMS_TWILIO_ACCOUNT_SID`: the basic-auth user.
    pub account_sid: String,
    /// `AUTH_SMS_TWILIO_AUTH_TOKEN`: the basic-auth password.
    pub auth_token: Secret,
    /// `AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID`: a Messaging Service (`MG…`), a sender (phone
    /// number or alphanumeric id), or in Verify mode the Verify service (`VA…`).
    pub messaging_service_id: String,
    /// Twilio Verify generates, sends and checks the codes.
    pub verify: bool,
}

impl SmsConfig {
    /// For the startup summary: the provider, no credentials.
    pub fn summary(&self) -> String {
        let provider = match &self.provider {
            SmsProvider::Dev => format!("files:{}", self.sms_dir.display()),
            SmsProvider::Twilio(t) if t.verify => "twilio-verify".into(),
            SmsProvider::Twilio(_) => "twilio".into(),
            SmsProvider::Modica { .. } => "modica".into(),
        };
        format!("sms.enabled={} sms={provider}", self.passwordless_enabled)
    }
}

pub(super) fn sms_settings(v: &mut Vars) -> SmsConfig {
    let passwordless_enabled = v.bool("AUTH_SMS_PASSWORDLESS_ENABLED", false);
    let provider = provider(v, passwordless_enabled);
    let twilio_base_url = v.url("LATCHKEY_SMS_TWILIO_BASE_URL", "https://api.twilio.com");
    let twilio_verify_base_url = v.url(
        "LATCHKEY_SMS_TWILIO_VERIFY_BASE_URL",
        "https://verify.twilio.com",
    );
    let modica_base_url = v.url(
        "LATCHKEY_SMS_MODICA_BASE_URL",
        "https://api.modicagroup.com",
    );
    SmsConfig {
        passwordless_enabled,
        provider,
        sms_dir: PathBuf::from(v.string("LATCHKEY_SMS_DIR", "./latchkey-sms")),
        twilio_base_url,
        twilio_verify_base_url,
        modica_base_url,
    }
}

const TWILIO_VARS: [&str; 3] = [
    "AUTH_SMS_TWILIO_ACCOUNT_SID",
    "AUTH_SMS_TWILIO_AUTH_TOKEN",
    "AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID",
];
const MODICA_VARS: [&str; 2] = ["AUTH_SMS_MODICA_USERNAME", "AUTH_SMS_MODICA_PASSWORD"];

// Nhost: without AUTH_SMS_PROVIDER uses Twilio, and refuses to start when SMS is on and its
// credentials are missing; here the provider whose credentials are all set is used, and with
// none the `dev` provider, so trying SMS sign-in out needs no account anywhere. A provider
// chosen by name needs its credentials only while SMS is on, as upstream (until then `dev`
// stands in, unused).
fn provider(v: &mut Vars, enabled: bool) -> SmsProvider {
    let all_set = |v: &Vars, names: &[&str]| names.iter().all(|n| v.get(n).is_some());
    let chosen = v.get("AUTH_SMS_PROVIDER").map(str::to_ascii_lowercase);
    let chosen = match chosen.as_deref() {
        Some(name) => name.to_owned(),
        None if all_set(v, &TWILIO_VARS) => "twilio".into(),
        None if all_set(v, &MODICA_VARS) => "modica".into(),
        None => "dev".into(),
    };
    let needed: &[&str] = match chosen.as_str() {
        "twilio" => &TWILIO_VARS,
        "modica" => &MODICA_VARS,
        _ => &[],
    };
    if !enabled && !all_set(v, needed) {
        return SmsProvider::Dev;
    }
    match chosen.as_str() {
        "dev" => SmsProvider::Dev,
        "twilio" => {
            require(v, &TWILIO_VARS, "twilio");
            let account_sid = v.string("AUTH_SMS_TWILIO_ACCOUNT_SID", "");
            let messaging_service_id = v.string("AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID", "");
            // Nhost (Go) switches to Verify when the account SID starts with `VA`, its
            // earlier (TypeScript) version when the messaging service id does; both go on
            // to use the account SID and token to log in and the messaging service id as
            // the Verify service, so either spelling works here.
            let verify = account_sid.starts_with("VA") || messaging_service_id.starts_with("VA");
            SmsProvider::Twilio(TwilioConfig {
                account_sid,
                auth_token: Secret::new(v.string("AUTH_SMS_TWILIO_AUTH_TOKEN", "")),
                messaging_service_id,
                verify,
            })
        }
        "modica" => {
            require(v, &MODICA_VARS, "modica");
            SmsProvider::Modica {
                username: v.string("AUTH_SMS_MODICA_USERNAME", ""),
                password: Secret::new(v.string("AUTH_SMS_MODICA_PASSWORD", "")),
            }
        }
        _ => v.bad(
            "AUTH_SMS_PROVIDER",
            "expected twilio, modica or dev",
            SmsProvider::Dev,
        ),
    }
}

fn require(v: &mut Vars, names: &[&str], provider: &str) {
    for name in names {
        if v.get(name).is_none() {
            v.errors.push(format!(
                "{name}: required when AUTH_SMS_PROVIDER is {provider}"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(vars: &[(&str, &str)]) -> Result<Config, Vec<String>> {
        Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))).map_err(|e| e.0)
    }

    #[test]
    fn off_and_dev_by_default() {
        let sms = config(&[]).unwrap().sms;
        assert!(!sms.passwordless_enabled);
        assert!(matches!(sms.provider, SmsProvider::Dev));
        assert_eq!(sms.sms_dir, PathBuf::from("./latchkey-sms"));
        assert_eq!(
            sms.twilio_base_url.unwrap().as_str(),
            "https://api.twilio.com/"
        );
        assert_eq!(
            sms.modica_base_url.unwrap().as_str(),
            "https://api.modicagroup.com/"
        );
    }

    #[test]
    fn credentials_pick_the_provider_and_verify_mode() {
        let twilio = [
            ("AUTH_SMS_TWILIO_ACCOUNT_SID", "AC123"),
            ("AUTH_SMS_TWILIO_AUTH_TOKEN", "hunter2"),
            ("AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID", "MG456"),
        ];
        let c = config(&twilio).unwrap();
        let SmsProvider::Twilio(t) = &c.sms.provider else {
            panic!("{:?}", c.sms.provider)
        };
        assert!(!t.verify);
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!c.summary().contains("hunter2"));
        for (sid, service) in [("VA123", "MG456"), ("AC123", "VA456")] {
            let c = config(&[
                ("AUTH_SMS_TWILIO_ACCOUNT_SID", sid),
                ("AUTH_SMS_TWILIO_AUTH_TOKEN", "t"),
                ("AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID", service),
            ])
            .unwrap();
            assert!(
                matches!(&c.sms.provider, SmsProvider::Twilio(t) if t.verify),
                "{sid} {service}"
            );
        }
        let c = config(&[
            ("AUTH_SMS_MODICA_USERNAME", "u"),
            ("AUTH_SMS_MODICA_PASSWORD", "p"),
        ])
        .unwrap();
        assert!(matches!(c.sms.provider, SmsProvider::Modica { .. }));
        // Twilio only partly configured: not chosen without being asked for.
        let c = config(&twilio[..2]).unwrap();
        assert!(matches!(c.sms.provider, SmsProvider::Dev));
    }

    #[test]
    fn a_chosen_provider_needs_its_credentials() {
        // Only once SMS is on, as upstream.
        assert!(config(&[("AUTH_SMS_PROVIDER", "twilio")]).is_ok());
        let on = ("AUTH_SMS_PASSWORDLESS_ENABLED", "true");
        let errors = config(&[
            on,
            ("AUTH_SMS_PROVIDER", "twilio"),
            ("AUTH_SMS_TWILIO_ACCOUNT_SID", "AC1"),
        ])
        .unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("AUTH_SMS_TWILIO_AUTH_TOKEN:"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID:"))
        );
        let errors = config(&[on, ("AUTH_SMS_PROVIDER", "modica")]).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        let errors = config(&[
            ("AUTH_SMS_PROVIDER", "carrier-pigeon"),
            ("LATCHKEY_SMS_TWILIO_BASE_URL", "not a url"),
        ])
        .unwrap_err();
        assert!(errors.iter().any(|e| e.starts_with("AUTH_SMS_PROVIDER:")));
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("LATCHKEY_SMS_TWILIO_BASE_URL:"))
        );
        assert!(config(&[("AUTH_SMS_PROVIDER", "DEV")]).is_ok());
    }
}
