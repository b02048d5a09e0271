//! Sign-up options (Nhost section 6.1): roles, locale, display name, redirect allow-list,
//! e-mail access control, and the verification mail.

use serde::{Deserialize, Serialize};
use url::Url;

use super::error::{Error, Result};
use super::tickets::TicketMail;
use super::{Auth, Runtime};
use crate::config::Config;
use crate::mail::Template;
use crate::model::{OutboxMail, Secret, Timestamp, User, UserId};

/// Options as the client sends them; every field optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SignUpOptions {
    pub allowed_roles: Option<Vec<String>>,
    pub default_role: Option<String>,
    pub display_name: Option<String>,
    pub locale: Option<String>,
    pub metadata: Option<serde_json::Value>,
    pub redirect_to: Option<String>,
}

impl SignUpOptions {
    /// Fields present in `later` override ours (Nhost MONO's fixed merge semantics).
    pub fn merged_with(self, later: SignUpOptions) -> SignUpOptions {
        SignUpOptions {
            allowed_roles: later.allowed_roles.or(self.allowed_roles),
            default_role: later.default_role.or(self.default_role),
            display_name: later.display_name.or(self.display_name),
            locale: later.locale.or(self.locale),
            metadata: later.metadata.or(self.metadata),
            redirect_to: later.redirect_to.or(self.redirect_to),
        }
    }
}

/// Options after defaults and checks.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSignUp {
    pub allowed_roles: Vec<String>,
    pub default_role: String,
    pub display_name: String,
    pub locale: String,
    pub metadata: Option<serde_json::Value>,
    pub redirect_to: String,
}

const DISPLAY_NAME_MAX: usize = 32;

/// Applies defaults and Nhost's checks to sign-up options for `email`.
pub fn validate_options(config: &Config, email: &str, o: &SignUpOptions) -> Result<ValidSignUp> {
    let allowed_roles = o
        .allowed_roles
        .clone()
        .unwrap_or_else(|| config.allowed_roles.clone());
    if allowed_roles
        .iter()
        .any(|r| !config.allowed_roles.contains(r))
    {
        return Err(Error::RoleNotAllowed);
    }
    let default_role = o
        .default_role
        .clone()
        .unwrap_or_else(|| config.default_role.clone());
    if !allowed_roles.contains(&default_role) {
        return Err(Error::DefaultRoleNotAllowed);
    }
    // Unknown locales silently fall back to the default, as upstream.
    let locale = o
        .locale
        .clone()
        .filter(|l| config.allowed_locales.contains(l))
        .unwrap_or_else(|| config.locale_default.clone());
    let display_name = match &o.display_name {
        Some(name) => {
            // Nhost's pattern: letters, digits, symbols, space and ,.'- only; no markup.
            let ok = !name.is_empty()
                && name.chars().count() <= DISPLAY_NAME_MAX
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || " ,.'-".contains(c) || is_symbol(c));
            if !ok {
                return Err(Error::InvalidRequest("displayName"));
            }
            name.clone()
        }
        None => email.to_owned(),
    };
    if let Some(metadata) = &o.metadata
        && !metadata.is_object()
    {
        return Err(Error::InvalidRequest("metadata must be an object"));
    }
    let redirect_to = checked_redirect(config, o.redirect_to.clone())?;
    Ok(ValidSignUp {
        allowed_roles,
        default_role,
        display_name,
        locale,
        metadata: o.metadata.clone(),
        redirect_to,
    })
}

/// Unicode symbol classes Nhost allows (`\p{S}`), approximated without a regex engine:
/// math, currency, modifier and other symbols, excluding markup-relevant ASCII.
fn is_symbol(c: char) -> bool {
    if c.is_ascii() {
        return "$+<=>^`|~".contains(c) && !"<>".contains(c);
    }
    !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control() && !c.is_ascii_punctuation()
}

/// `redirectTo` must be the client URL or match an allowed pattern (glob: `*` within a path
/// segment, `**` across segments; a pattern without a wildcard also allows its sub-paths).
pub fn redirect_allowed(config: &Config, redirect_to: &str) -> bool {
    let Ok(candidate_url) = Url::parse(redirect_to) else {
        return false;
    };
    // The playground page itself, so its magic links and verification mails land back on it.
    if config.playground_enabled
        && candidate_url.origin() == config.server_url.origin()
        && candidate_url.path() == "/"
    {
        return true;
    }
    let candidate = normalise(&candidate_url, true);
    std::iter::once(config.client_url.to_string())
        .chain(config.allowed_redirect_urls.iter().cloned())
        .any(|pattern| {
            let pattern = match Url::parse(&pattern) {
                Ok(url) if !pattern.contains('*') => normalise(&url, true),
                _ => pattern.trim_end_matches('/').to_owned(),
            };
            if pattern.contains('*') {
                // A wildcard pattern is not a URL; try the candidate with and without its
                // default port, so `https://*.x.com` matches `https://a.x.com:443`.
                let bare = normalise(&candidate_url, false);
                glob(pattern.as_bytes(), candidate.as_bytes())
                    || glob(pattern.as_bytes(), bare.as_bytes())
            } else {
                candidate == pattern || candidate.starts_with(&format!("{pattern}/"))
            }
        })
}

/// `redirectTo` checked against the allow-list; the client URL when absent.
pub(crate) fn checked_redirect(config: &Config, redirect_to: Option<String>) -> Result<String> {
    match redirect_to {
        Some(r) if redirect_allowed(config, &r) => Ok(r),
        Some(_) => Err(Error::RedirectNotAllowed),
        None => Ok(config.default_redirect.to_string()),
    }
}

/// scheme://host:port/path without query, fragment or trailing slash; the default port
/// written out or left out as asked.
fn normalise(url: &Url, default_port: bool) -> String {
    let port = if default_port {
        url.port_or_known_default()
    } else {
        url.port()
    };
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    let host = url.host_str().unwrap_or_default();
    format!(
        "{}://{host}{port}{}",
        url.scheme(),
        url.path().trim_end_matches('/')
    )
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) if rest.first() == Some(&b'*') => {
            let rest = rest.get(1..).unwrap_or_default();
            (0..=text.len()).any(|i| glob(rest, text.get(i..).unwrap_or_default()))
        }
        Some((b'*', rest)) => {
            let segment_end = text.iter().position(|&b| b == b'/').unwrap_or(text.len());
            (0..=segment_end).any(|i| glob(rest, text.get(i..).unwrap_or_default()))
        }
        Some((p, rest)) => match text.split_first() {
            Some((t, text_rest)) if t == p => glob(rest, text_rest),
            _ => false,
        },
    }
}

/// E-mail access control: explicit allow, then blocks, then domain allow, then "no lists".
pub fn email_allowed(config: &Config, email: &str) -> bool {
    let email = email.to_ascii_lowercase();
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if config.allowed_emails.contains(&email) {
        return true;
    }
    if config.blocked_emails.contains(&email)
        || config.blocked_email_domains.iter().any(|d| d == domain)
    {
        return false;
    }
    if config.allowed_email_domains.iter().any(|d| d == domain) {
        return true;
    }
    config.allowed_emails.is_empty() && config.allowed_email_domains.is_empty()
}

/// The e-mail lists applied to a stored user, at every sign-in, refresh and bearer request.
/// A user without an address (anonymous, or phone-only later) is not theirs to refuse.
// Nhost: checks every non-anonymous user's address, and an absent one fails any allow-list,
// so an allow-list locks phone-only users out; here the lists are about addresses only.
pub fn user_email_allowed(config: &Config, user: &User) -> bool {
    match &user.email {
        Some(email) if !user.is_anonymous => email_allowed(config, email),
        _ => true,
    }
}

/// A syntactically plausible address: one `@`, non-empty local part, a dotted or `localhost`
/// domain, no spaces, at most 254 characters.
pub fn email_valid(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !local.contains('@')
        && !domain.is_empty()
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

pub fn gravatar_url(config: &Config, email: &str) -> String {
    if !config.gravatar_enabled {
        return String::new();
    }
    let digest = md5::compute(email.trim().to_ascii_lowercase().as_bytes());
    format!(
        "https://www.gravatar.com/avatar/{digest:x}?d={}&r={}",
        config.gravatar_default, config.gravatar_rating
    )
}

/// A `verifyEmail:` ticket: the clear value goes into the mail, only its hash is stored.
pub(crate) fn verification_ticket(now: Timestamp) -> (Secret, String, Timestamp) {
    super::tickets::new_ticket(
        super::tickets::TicketKind::VerifyEmail,
        chrono::Duration::days(30),
        now,
    )
}

impl Auth {
    /// The `email-verify` mail with a link to `GET /verify`, rendered for the outbox, to be
    /// stored with the user's ticket (valid until `expires_at`).
    pub(crate) fn verification_mail(
        &self,
        rt: &Runtime,
        user_id: UserId,
        email: &str,
        signup: &ValidSignUp,
        ticket: Secret,
        expires_at: Timestamp,
    ) -> Option<OutboxMail> {
        let mail = TicketMail {
            template: Template::EmailVerify,
            link_type: "emailVerify",
            user_id,
            to: email,
            display_name: &signup.display_name,
            locale: &signup.locale,
            redirect_to: &signup.redirect_to,
            new_email: None,
        };
        self.ticket_mail(rt, mail, ticket, expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
    }

    #[test]
    fn defaults_and_role_rules() {
        let c = config(&[]);
        let v = validate_options(&c, "a@b.test", &SignUpOptions::default()).unwrap();
        assert_eq!(v.default_role, "user");
        assert_eq!(v.display_name, "a@b.test");
        assert_eq!(
            v.redirect_to, "http://localhost:3000",
            "AUTH_CLIENT_URL as given"
        );
        let bad_role = SignUpOptions {
            allowed_roles: Some(vec!["admin".into()]),
            ..Default::default()
        };
        assert!(matches!(
            validate_options(&c, "a@b.test", &bad_role),
            Err(Error::RoleNotAllowed)
        ));
        let bad_default = SignUpOptions {
            allowed_roles: Some(vec!["me".into()]),
            default_role: Some("user".into()),
            ..Default::default()
        };
        assert!(matches!(
            validate_options(&c, "a@b.test", &bad_default),
            Err(Error::DefaultRoleNotAllowed)
        ));
        let unknown_locale = SignUpOptions {
            locale: Some("xx".into()),
            ..Default::default()
        };
        assert_eq!(
            validate_options(&c, "a@b.test", &unknown_locale)
                .unwrap()
                .locale,
            "en"
        );
    }

    #[test]
    fn display_name_rejects_markup() {
        let c = config(&[]);
        for bad in ["<script>", "a/b", "x:y", "", &"n".repeat(33)] {
            let o = SignUpOptions {
                display_name: Some(bad.into()),
                ..Default::default()
            };
            assert!(validate_options(&c, "a@b.test", &o).is_err(), "{bad:?}");
        }
        for good in ["Ada Lovelace", "José O'Neil-Smith", "Ω €"] {
            let o = SignUpOptions {
                display_name: Some(good.into()),
                ..Default::default()
            };
            assert!(validate_options(&c, "a@b.test", &o).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn redirect_allow_list() {
        let c = config(&[(
            "AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS",
            "https://app.example.com, https://*.preview.example.com/cb, https://x.test/**",
        )]);
        assert!(redirect_allowed(&c, "http://localhost:3000/after?x=1"));
        assert!(redirect_allowed(&c, "https://app.example.com/deep/path"));
        assert!(redirect_allowed(&c, "https://app.example.com:443/"));
        assert!(redirect_allowed(&c, "https://pr-1.preview.example.com/cb"));
        assert!(redirect_allowed(&c, "https://x.test/a/b/c"));
        assert!(!redirect_allowed(&c, "https://app.example.com.evil.test/"));
        assert!(!redirect_allowed(&c, "https://evil.test/"));
        assert!(!redirect_allowed(&c, "not a url"));
    }

    #[test]
    fn the_playground_page_is_a_redirect_target_while_it_is_on() {
        let on = config(&[
            ("AUTH_PLAYGROUND_ENABLED", "true"),
            ("AUTH_SERVER_URL", "http://localhost:4000/v1"),
        ]);
        assert!(redirect_allowed(&on, "http://localhost:4000/"));
        assert!(redirect_allowed(&on, "http://localhost:4000/?x=1"));
        // Only the page itself, not the API or another port.
        assert!(!redirect_allowed(&on, "http://localhost:4000/v1/user"));
        assert!(!redirect_allowed(&on, "http://localhost:4001/"));
        let off = config(&[
            ("AUTH_PLAYGROUND_ENABLED", "false"),
            ("AUTH_SERVER_URL", "http://localhost:4000/v1"),
        ]);
        assert!(!redirect_allowed(&off, "http://localhost:4000/"));
    }

    #[test]
    fn email_rules() {
        let c = config(&[
            ("AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS", "spam.test"),
            ("AUTH_ACCESS_CONTROL_ALLOWED_EMAILS", "boss@spam.test"),
        ]);
        assert!(!email_allowed(&c, "a@spam.test"));
        assert!(email_allowed(&c, "Boss@spam.test"));
        assert!(
            !email_allowed(&c, "a@ok.test"),
            "an allow-list exists, so others are out"
        );
        assert!(email_valid("ada@example.test"));
        for bad in ["ada", "@x.test", "a b@x.test", "a@", "a@x..test"] {
            assert!(!email_valid(bad), "{bad}");
        }
    }

    #[test]
    fn lists_judge_addresses_not_users_without_one() {
        let c = config(&[("AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS", "ok.test")]);
        let user = |email: Option<&str>, is_anonymous| User {
            id: UserId::new_random(),
            created_at: chrono::Utc::now(),
            display_name: String::new(),
            avatar_url: String::new(),
            locale: "en".into(),
            email: email.map(str::to_owned),
            email_verified: true,
            phone_number: Some("+15550100".into()),
            phone_number_verified: true,
            is_anonymous,
            disabled: false,
            default_role: "user".into(),
            roles: vec!["user".into()],
            metadata: None,
            active_mfa_type: None,
        };
        assert!(user_email_allowed(&c, &user(Some("a@ok.test"), false)));
        assert!(!user_email_allowed(&c, &user(Some("a@other.test"), false)));
        assert!(user_email_allowed(&c, &user(None, false)), "phone-only");
        assert!(user_email_allowed(&c, &user(None, true)), "anonymous");
    }

    #[test]
    fn merge_lets_later_fields_win() {
        let first = SignUpOptions {
            locale: Some("fr".into()),
            display_name: Some("A".into()),
            ..Default::default()
        };
        let later = SignUpOptions {
            display_name: Some("B".into()),
            ..Default::default()
        };
        let m = first.merged_with(later);
        assert_eq!(m.display_name.as_deref(), Some("B"));
        assert_eq!(m.locale.as_deref(), Some("fr"));
    }
}
