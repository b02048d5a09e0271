//! OAuth and OpenID Connect sign-in providers: one row per built-in provider with Nhost's
//! variable infix, default scopes and endpoints, read into `ProviderConfig`s for the enabled
//! ones. Every endpoint can be overridden, for tests against a local mock and for self-hosted
//! GitLab or GitHub Enterprise.

use url::Url;

use super::Vars;
use crate::model::Secret;

/// How a provider proves who signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OAuth 2 authorization code, then a profile API called with the access token.
    OAuth2,
    /// OpenID Connect: discovery from the issuer, an ID token checked for signature, issuer,
    /// audience, expiry and nonce.
    OpenIdConnect,
    /// OAuth 1.0a (Twitter): a request token, the user's authorization, the access token and
    /// its secret; every request signed with HMAC-SHA1.
    OAuth1,
}

/// One built-in provider.
#[derive(Debug, Clone, Copy)]
pub struct ProviderSpec {
    /// The name in URLs and in `auth.providers`: `/signin/provider/<name>`.
    pub name: &'static str,
    /// The infix of its variables: `AUTH_PROVIDER_<env>_ENABLED`.
    pub env: &'static str,
    pub default_scopes: &'static [&'static str],
    pub protocol: Protocol,
    /// Upstream's endpoints; empty for an OpenID provider, whose come from discovery.
    pub authorization_url: &'static str,
    pub token_url: &'static str,
    pub userinfo_url: &'static str,
    /// The OpenID issuer (discovery at `<issuer>/.well-known/openid-configuration`).
    pub issuer: &'static str,
    /// OAuth 1.0a's first step (temporary credentials); empty for the other protocols.
    pub request_token_url: &'static str,
    /// Whether Latchkey runs this provider's flow yet (issue 19 adds them one by one). Enabling
    /// one that it does not stops start-up rather than failing at the first sign-in.
    pub supported: bool,
}

const fn oauth2(
    name: &'static str,
    env: &'static str,
    default_scopes: &'static [&'static str],
    [authorization_url, token_url, userinfo_url]: [&'static str; 3],
) -> ProviderSpec {
    ProviderSpec {
        name,
        env,
        default_scopes,
        protocol: Protocol::OAuth2,
        authorization_url,
        token_url,
        userinfo_url,
        issuer: "",
        request_token_url: "",
        supported: false,
    }
}

const fn oidc(
    name: &'static str,
    env: &'static str,
    default_scopes: &'static [&'static str],
    issuer: &'static str,
) -> ProviderSpec {
    ProviderSpec {
        name,
        env,
        default_scopes,
        protocol: Protocol::OpenIdConnect,
        authorization_url: "",
        token_url: "",
        userinfo_url: "",
        issuer,
        request_token_url: "",
        supported: false,
    }
}

/// An OAuth 1.0a provider: `[request token, authorize, access token, profile]`.
const fn oauth1(
    name: &'static str,
    env: &'static str,
    [
        request_token_url,
        authorization_url,
        token_url,
        userinfo_url,
    ]: [&'static str; 4],
) -> ProviderSpec {
    ProviderSpec {
        name,
        env,
        default_scopes: &[],
        protocol: Protocol::OAuth1,
        authorization_url,
        token_url,
        userinfo_url,
        issuer: "",
        request_token_url,
        supported: false,
    }
}

const fn supported(spec: ProviderSpec) -> ProviderSpec {
    ProviderSpec {
        supported: true,
        ..spec
    }
}

const MICROSOFT: &[&str] = &["email", "profile", "openid", "offline_access"];

/// The 16 providers of Nhost, alphabetically; scopes and endpoints as upstream's.
pub const PROVIDERS: &[ProviderSpec] = &[
    supported(oidc(
        "apple",
        "APPLE",
        &["name", "email"],
        "https://appleid.apple.com",
    )),
    supported(oidc(
        "azuread",
        "AZUREAD",
        MICROSOFT,
        "https://login.microsoftonline.com/{tenant}/v2.0",
    )),
    supported(oauth2(
        "bitbucket",
        "BITBUCKET",
        &["account"],
        [
            "https://bitbucket.org/site/oauth2/authorize",
            "https://bitbucket.org/site/oauth2/access_token",
            "https://api.bitbucket.org/2.0/user",
        ],
    )),
    supported(oauth2(
        "discord",
        "DISCORD",
        &["identify", "email"],
        [
            "https://discord.com/api/oauth2/authorize",
            "https://discord.com/api/oauth2/token",
            "https://discord.com/api/users/@me",
        ],
    )),
    supported(oidc(
        "entraid",
        "ENTRAID",
        MICROSOFT,
        "https://login.microsoftonline.com/{tenant}/v2.0",
    )),
    supported(oauth2(
        "facebook",
        "FACEBOOK",
        &["email"],
        [
            "https://www.facebook.com/v22.0/dialog/oauth",
            "https://graph.facebook.com/v22.0/oauth/access_token",
            "https://graph.facebook.com/me?fields=id,name,email,picture",
        ],
    )),
    supported(oauth2(
        "github",
        "GITHUB",
        &["user:email"],
        [
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            "https://api.github.com/user",
        ],
    )),
    supported(oauth2(
        "gitlab",
        "GITLAB",
        &["read_user"],
        [
            "https://gitlab.com/oauth/authorize",
            "https://gitlab.com/oauth/token",
            "https://gitlab.com/api/v4/user",
        ],
    )),
    supported(oidc(
        "google",
        "GOOGLE",
        &["openid", "email", "profile"],
        "https://accounts.google.com",
    )),
    supported(oidc(
        "linkedin",
        "LINKEDIN",
        &["openid", "profile", "email"],
        "https://www.linkedin.com/oauth",
    )),
    supported(oauth2(
        "spotify",
        "SPOTIFY",
        &["user-read-email", "user-read-private"],
        [
            "https://accounts.spotify.com/authorize",
            "https://accounts.spotify.com/api/token",
            "https://api.spotify.com/v1/me",
        ],
    )),
    supported(oauth2(
        "strava",
        "STRAVA",
        &["profile:read_all"],
        [
            "https://www.strava.com/api/v3/oauth/authorize",
            "https://www.strava.com/api/v3/oauth/token",
            "https://www.strava.com/api/v3/athlete",
        ],
    )),
    supported(oauth2(
        "twitch",
        "TWITCH",
        &["user:read:email"],
        [
            "https://id.twitch.tv/oauth2/authorize",
            "https://id.twitch.tv/oauth2/token",
            "https://api.twitch.tv/helix/users",
        ],
    )),
    // OAuth 1.0a, with a consumer key and secret instead of a client id and secret.
    supported(oauth1(
        "twitter",
        "TWITTER",
        [
            "https://api.twitter.com/oauth/request_token",
            "https://api.twitter.com/oauth/authorize",
            "https://api.twitter.com/oauth/access_token",
            "https://api.twitter.com/1.1/account/verify_credentials.json",
        ],
    )),
    supported(oauth2(
        "windowslive",
        "WINDOWS_LIVE",
        &["wl.basic", "wl.emails"],
        [
            "https://login.live.com/oauth20_authorize.srf",
            "https://login.live.com/oauth20_token.srf",
            "https://apis.live.net/v5.0/me",
        ],
    )),
    supported(oauth2(
        "workos",
        "WORKOS",
        &[],
        [
            "https://api.workos.com/sso/authorize",
            "https://api.workos.com/sso/token",
            // The profile comes with the token.
            "",
        ],
    )),
];

/// The per-provider variables; `<NAME>` is a provider's infix (`GITHUB`, `WINDOWS_LIVE`).
pub const PROVIDER_VARIABLE_PATTERNS: &[&str] = &[
    "AUTH_PROVIDER_<NAME>_ENABLED",
    "AUTH_PROVIDER_<NAME>_CLIENT_ID",
    "AUTH_PROVIDER_<NAME>_CLIENT_SECRET",
    "AUTH_PROVIDER_<NAME>_SCOPE",
    "LATCHKEY_PROVIDER_<NAME>_AUTHORIZATION_URL",
    "LATCHKEY_PROVIDER_<NAME>_TOKEN_URL",
    "LATCHKEY_PROVIDER_<NAME>_USERINFO_URL",
    "LATCHKEY_PROVIDER_<NAME>_JWKS_URL",
    "LATCHKEY_PROVIDER_<NAME>_ISSUER",
];

/// Whether `name` is one of the per-provider variables for some provider.
pub fn is_provider_variable(name: &str) -> bool {
    PROVIDERS.iter().any(|p| {
        PROVIDER_VARIABLE_PATTERNS
            .iter()
            .any(|pattern| pattern.replace("<NAME>", p.env) == name)
    })
}

/// An enabled provider, ready to use.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub spec: &'static ProviderSpec,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: Vec<String>,
    /// For OAuth 2 providers: the endpoints (overridable). For OpenID providers these are
    /// `None` unless overridden, and discovery fills them in.
    pub authorization_url: Option<Url>,
    pub token_url: Option<Url>,
    pub userinfo_url: Option<Url>,
    pub jwks_url: Option<Url>,
    /// The OpenID issuer, checked in ID tokens; `None` for plain OAuth 2 providers.
    pub issuer: Option<Url>,
    /// OAuth 1.0a's request-token endpoint (overridable); `None` for the other protocols.
    pub request_token_url: Option<Url>,
    /// `AUTH_PROVIDER_{GOOGLE,APPLE}_AUDIENCE`: the audience `POST /signin/idtoken` expects
    /// (a native app's client id); the client id when unset.
    pub audience: Option<String>,
    /// Extra parameters of every authorization URL: WorkOS's `organization`, `connection`
    /// and `domain` from `AUTH_PROVIDER_WORKOS_DEFAULT_*`.
    pub authorize_params: Vec<(&'static str, String)>,
    /// `AUTH_PROVIDER_{AZUREAD,ENTRAID}_TENANT`: Microsoft's tenant, `common` by default.
    /// Set for those two only; a discovered issuer may then carry `{tenantid}`.
    pub tenant: Option<String>,
    /// Apple: the key its client secrets are signed with (it has no fixed secret).
    pub apple: Option<AppleKey>,
}

/// `AUTH_PROVIDER_APPLE_{TEAM_ID,KEY_ID,PRIVATE_KEY}`.
#[derive(Debug, Clone)]
pub struct AppleKey {
    pub team_id: String,
    pub key_id: String,
    /// An EC P-256 private key, PEM (checked at start-up).
    pub private_key_pem: Secret,
}

/// WorkOS's variables and the authorization parameters they become (upstream's names).
pub const WORKOS_DEFAULTS: &[(&str, &str)] = &[
    ("AUTH_PROVIDER_WORKOS_DEFAULT_ORGANIZATION", "organization"),
    ("AUTH_PROVIDER_WORKOS_DEFAULT_CONNECTION", "connection"),
    ("AUTH_PROVIDER_WORKOS_DEFAULT_DOMAIN", "domain"),
];

/// The enabled providers, by name.
#[derive(Debug, Clone, Default)]
pub struct ProvidersConfig {
    pub enabled: Vec<ProviderConfig>,
}

impl ProvidersConfig {
    /// The enabled provider of this name, if any.
    pub fn get(&self, name: &str) -> Option<&ProviderConfig> {
        self.enabled.iter().find(|p| p.spec.name == name)
    }
}

/// The built-in provider of this name, enabled or not.
pub fn spec(name: &str) -> Option<&'static ProviderSpec> {
    PROVIDERS.iter().find(|p| p.name == name)
}

pub(super) fn providers_settings(v: &mut Vars) -> ProvidersConfig {
    let mut enabled = Vec::new();
    for spec in PROVIDERS {
        let var = |suffix: &str| format!("AUTH_PROVIDER_{}_{suffix}", spec.env);
        if !v.bool(&var("ENABLED"), false) {
            continue;
        }
        if !spec.supported {
            v.errors.push(format!(
                "{}: Latchkey does not run the {} flow yet (issue 19); unset it",
                var("ENABLED"),
                spec.name
            ));
            continue;
        }
        // OAuth 1.0a calls its client credentials a consumer key and secret (upstream's names).
        let (id_var, secret_var) = match spec.protocol {
            Protocol::OAuth1 => (var("CONSUMER_KEY"), var("CONSUMER_SECRET")),
            Protocol::OAuth2 | Protocol::OpenIdConnect => (var("CLIENT_ID"), var("CLIENT_SECRET")),
        };
        let client_id = v.get(&id_var).map(str::to_owned);
        let mut client_secret = v.get(&secret_var).map(Secret::new);
        // Apple signs a client secret per exchange with its key instead.
        let apple = match spec.name {
            "apple" => match super::providers_oidc::apple_key(v) {
                Some(key) => {
                    client_secret = Some(Secret::new(""));
                    Some(key)
                }
                None => continue,
            },
            _ => None,
        };
        let tenant = matches!(spec.name, "azuread" | "entraid")
            .then(|| super::providers_oidc::tenant(v, spec.env));
        let (Some(client_id), Some(client_secret)) = (client_id, client_secret) else {
            v.errors.push(format!(
                "{}: the {} provider needs {id_var} and {secret_var}",
                var("ENABLED"),
                spec.name,
            ));
            continue;
        };
        let mut scopes = v.list(&var("SCOPE"));
        if scopes.is_empty() {
            scopes = spec
                .default_scopes
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
        }
        let endpoint = |v: &mut Vars, suffix: &str, default: &str| {
            // GitHub keeps upstream's names (`AUTH_PROVIDER_GITHUB_USER_PROFILE_URL`, ...).
            let upstream = match (spec.name, suffix) {
                ("github", "USERINFO_URL") => Some(var("USER_PROFILE_URL")),
                ("github", "AUTHORIZATION_URL" | "TOKEN_URL") => Some(var(suffix)),
                _ => None,
            };
            let latchkey = format!("LATCHKEY_PROVIDER_{}_{suffix}", spec.env);
            let name = upstream
                .filter(|name| v.get(name).is_some())
                .unwrap_or(latchkey);
            match v.get(&name) {
                Some(_) => v.url(&name, ""),
                None if default.is_empty() => None,
                None => v.url(&name, default),
            }
        };
        let issuer = match spec.protocol {
            Protocol::OAuth2 | Protocol::OAuth1 => None,
            Protocol::OpenIdConnect => {
                let issuer = match &tenant {
                    Some(tenant) => spec.issuer.replace("{tenant}", tenant),
                    None => spec.issuer.to_owned(),
                };
                endpoint(v, "ISSUER", &issuer)
            }
        };
        let request_token_url = match spec.protocol {
            Protocol::OAuth1 => endpoint(v, "REQUEST_TOKEN_URL", spec.request_token_url),
            Protocol::OAuth2 | Protocol::OpenIdConnect => None,
        };
        enabled.push(ProviderConfig {
            spec,
            client_id,
            client_secret,
            scopes,
            authorization_url: endpoint(v, "AUTHORIZATION_URL", spec.authorization_url),
            token_url: endpoint(v, "TOKEN_URL", spec.token_url),
            userinfo_url: endpoint(v, "USERINFO_URL", spec.userinfo_url),
            jwks_url: endpoint(v, "JWKS_URL", ""),
            issuer,
            request_token_url,
            audience: v.get(&var("AUDIENCE")).map(str::to_owned),
            authorize_params: authorize_params(v, spec),
            tenant,
            apple,
        });
    }
    ProvidersConfig { enabled }
}

/// The configured extra authorization parameters (WorkOS's connection selectors).
fn authorize_params(v: &mut Vars, spec: &ProviderSpec) -> Vec<(&'static str, String)> {
    if spec.name != "workos" {
        return Vec::new();
    }
    WORKOS_DEFAULTS
        .iter()
        .filter_map(|(var, param)| {
            let value = v.get(var)?.trim();
            (!value.is_empty()).then(|| (*param, value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, is_variable};

    fn providers(vars: &[(&str, &str)]) -> Result<ProvidersConfig, Vec<String>> {
        Config::from_vars(vars.iter().copied())
            .map(|c| c.providers)
            .map_err(|e| e.0)
    }

    #[test]
    fn sixteen_providers_with_distinct_names() {
        assert_eq!(PROVIDERS.len(), 16);
        for (i, p) in PROVIDERS.iter().enumerate() {
            assert!(
                PROVIDERS
                    .iter()
                    .skip(i + 1)
                    .all(|q| q.name != p.name && q.env != p.env)
            );
        }
    }

    #[test]
    fn nothing_is_enabled_by_default() {
        assert!(providers(&[]).unwrap().enabled.is_empty());
    }

    #[test]
    fn github_defaults_and_upstream_overrides() {
        let base = [
            ("AUTH_PROVIDER_GITHUB_ENABLED", "true"),
            ("AUTH_PROVIDER_GITHUB_CLIENT_ID", "id"),
            ("AUTH_PROVIDER_GITHUB_CLIENT_SECRET", "secret"),
        ];
        let config = providers(&base).unwrap();
        let github = config.get("github").unwrap();
        assert_eq!(github.scopes, ["user:email"]);
        assert_eq!(
            github.userinfo_url.as_ref().unwrap().as_str(),
            "https://api.github.com/user"
        );
        let mut vars = base.to_vec();
        vars.push((
            "AUTH_PROVIDER_GITHUB_USER_PROFILE_URL",
            "https://ghe.test/api/v3/user",
        ));
        vars.push((
            "LATCHKEY_PROVIDER_GITHUB_TOKEN_URL",
            "http://127.0.0.1:9/token",
        ));
        vars.push(("AUTH_PROVIDER_GITHUB_SCOPE", "read:user, user:email"));
        let config = providers(&vars).unwrap();
        let github = config.get("github").unwrap();
        assert_eq!(
            github.userinfo_url.as_ref().unwrap().host_str(),
            Some("ghe.test")
        );
        assert_eq!(
            github.token_url.as_ref().unwrap().as_str(),
            "http://127.0.0.1:9/token"
        );
        assert_eq!(github.scopes, ["read:user", "user:email"]);
        assert!(github.issuer.is_none());
    }

    #[test]
    fn google_is_openid_with_an_overridable_issuer() {
        let vars = [
            ("AUTH_PROVIDER_GOOGLE_ENABLED", "true"),
            ("AUTH_PROVIDER_GOOGLE_CLIENT_ID", "id"),
            ("AUTH_PROVIDER_GOOGLE_CLIENT_SECRET", "secret"),
            ("LATCHKEY_PROVIDER_GOOGLE_ISSUER", "http://127.0.0.1:9"),
        ];
        let config = providers(&vars).unwrap();
        let google = config.get("google").unwrap();
        assert_eq!(google.spec.protocol, Protocol::OpenIdConnect);
        assert_eq!(
            google.issuer.as_ref().unwrap().as_str(),
            "http://127.0.0.1:9/"
        );
        assert_eq!(google.scopes, ["openid", "email", "profile"]);
        assert!(google.authorization_url.is_none(), "from discovery");
        let config = providers(&vars[..3]).unwrap();
        let issuer = config
            .get("google")
            .unwrap()
            .issuer
            .as_ref()
            .unwrap()
            .clone();
        assert_eq!(issuer.as_str(), "https://accounts.google.com/");
    }

    #[test]
    fn unusable_provider_settings_stop_start_up_naming_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("AUTH_PROVIDER_GITHUB_ENABLED", "true")],
                "AUTH_PROVIDER_GITHUB_ENABLED: the github provider needs \
                 AUTH_PROVIDER_GITHUB_CLIENT_ID and AUTH_PROVIDER_GITHUB_CLIENT_SECRET",
            ),
            (
                &[
                    ("AUTH_PROVIDER_GITHUB_ENABLED", "true"),
                    ("AUTH_PROVIDER_GITHUB_CLIENT_ID", "id"),
                ],
                "AUTH_PROVIDER_GITHUB_ENABLED: the github provider needs",
            ),
            (
                &[
                    ("AUTH_PROVIDER_TWITTER_ENABLED", "true"),
                    ("AUTH_PROVIDER_TWITTER_CLIENT_ID", "id"),
                    ("AUTH_PROVIDER_TWITTER_CLIENT_SECRET", "s"),
                ],
                "AUTH_PROVIDER_TWITTER_ENABLED: the twitter provider needs \
                 AUTH_PROVIDER_TWITTER_CONSUMER_KEY and AUTH_PROVIDER_TWITTER_CONSUMER_SECRET",
            ),
            (
                &[
                    ("AUTH_PROVIDER_GITHUB_ENABLED", "true"),
                    ("AUTH_PROVIDER_GITHUB_CLIENT_ID", "id"),
                    ("AUTH_PROVIDER_GITHUB_CLIENT_SECRET", "s"),
                    ("AUTH_PROVIDER_GITHUB_TOKEN_URL", "not a url"),
                ],
                "AUTH_PROVIDER_GITHUB_TOKEN_URL: not an absolute http(s) URL",
            ),
        ];
        for (vars, expected) in cases {
            let errors = providers(vars).unwrap_err();
            assert!(
                errors.iter().any(|e| e.starts_with(expected)),
                "{expected}: {errors:?}"
            );
        }
    }

    /// Whichever provider Latchkey does not run yet (none, once issue 19 is done) stops
    /// start-up when enabled, naming the variable.
    #[test]
    fn enabling_an_unsupported_provider_stops_start_up() {
        for spec in PROVIDERS.iter().filter(|p| !p.supported) {
            let enabled = format!("AUTH_PROVIDER_{}_ENABLED", spec.env);
            let errors = providers(&[(enabled.as_str(), "true")]).unwrap_err();
            let expected = format!(
                "{enabled}: Latchkey does not run the {} flow yet",
                spec.name
            );
            assert!(
                errors.iter().any(|e| e.starts_with(&expected)),
                "{errors:?}"
            );
        }
    }

    #[test]
    fn twitter_is_oauth1_with_a_consumer_key_and_overridable_endpoints() {
        let base = [
            ("AUTH_PROVIDER_TWITTER_ENABLED", "true"),
            ("AUTH_PROVIDER_TWITTER_CONSUMER_KEY", "key"),
            ("AUTH_PROVIDER_TWITTER_CONSUMER_SECRET", "secret"),
        ];
        let config = providers(&base).unwrap();
        let twitter = config.get("twitter").unwrap();
        assert_eq!(twitter.spec.protocol, Protocol::OAuth1);
        assert_eq!(twitter.client_id, "key");
        assert!(twitter.client_secret.ct_eq("secret"));
        assert!(twitter.scopes.is_empty());
        assert_eq!(
            twitter.request_token_url.as_ref().unwrap().as_str(),
            "https://api.twitter.com/oauth/request_token"
        );
        assert_eq!(
            twitter.userinfo_url.as_ref().unwrap().as_str(),
            "https://api.twitter.com/1.1/account/verify_credentials.json"
        );
        let mut vars = base.to_vec();
        vars.push((
            "LATCHKEY_PROVIDER_TWITTER_REQUEST_TOKEN_URL",
            "http://127.0.0.1:9/oauth/request_token",
        ));
        let config = providers(&vars).unwrap();
        let url = config.get("twitter").unwrap().request_token_url.clone();
        assert_eq!(
            url.unwrap().as_str(),
            "http://127.0.0.1:9/oauth/request_token"
        );
        assert!(is_variable("LATCHKEY_PROVIDER_TWITTER_REQUEST_TOKEN_URL"));
        assert!(is_variable("AUTH_PROVIDER_TWITTER_CONSUMER_KEY"));
        assert!(is_variable("AUTH_PROVIDER_TWITTER_CONSUMER_SECRET"));
    }

    #[test]
    fn plain_oauth2_providers_run_with_upstreams_scopes() {
        let expected: &[(&str, &str, &[&str])] = &[
            ("bitbucket", "BITBUCKET", &["account"]),
            ("discord", "DISCORD", &["identify", "email"]),
            ("facebook", "FACEBOOK", &["email"]),
            ("gitlab", "GITLAB", &["read_user"]),
            (
                "spotify",
                "SPOTIFY",
                &["user-read-email", "user-read-private"],
            ),
            ("strava", "STRAVA", &["profile:read_all"]),
            ("twitch", "TWITCH", &["user:read:email"]),
            ("windowslive", "WINDOWS_LIVE", &["wl.basic", "wl.emails"]),
            ("workos", "WORKOS", &[]),
        ];
        for (name, env, scopes) in expected {
            let vars = [
                format!("AUTH_PROVIDER_{env}_ENABLED"),
                format!("AUTH_PROVIDER_{env}_CLIENT_ID"),
                format!("AUTH_PROVIDER_{env}_CLIENT_SECRET"),
            ];
            let config = providers(&[
                (vars[0].as_str(), "true"),
                (vars[1].as_str(), "id"),
                (vars[2].as_str(), "secret"),
            ])
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let p = config.get(name).unwrap();
            assert_eq!(p.spec.protocol, Protocol::OAuth2, "{name}");
            assert_eq!(p.scopes, *scopes, "{name}");
            assert!(
                p.authorization_url.is_some() && p.token_url.is_some(),
                "{name}"
            );
            assert_eq!(p.userinfo_url.is_none(), *name == "workos", "{name}");
            assert!(p.authorize_params.is_empty(), "{name}");
        }
    }

    #[test]
    fn workos_defaults_become_authorization_parameters() {
        let config = providers(&[
            ("AUTH_PROVIDER_WORKOS_ENABLED", "true"),
            ("AUTH_PROVIDER_WORKOS_CLIENT_ID", "client_123"),
            ("AUTH_PROVIDER_WORKOS_CLIENT_SECRET", "sk_test"),
            (
                "AUTH_PROVIDER_WORKOS_DEFAULT_ORGANIZATION",
                "org_01EHWNCE74X7JSDV0X3SZ3KJNY",
            ),
            ("AUTH_PROVIDER_WORKOS_DEFAULT_CONNECTION", " "),
            ("AUTH_PROVIDER_WORKOS_DEFAULT_DOMAIN", "example.test"),
        ])
        .unwrap();
        let workos = config.get("workos").unwrap();
        assert_eq!(
            workos.authorize_params,
            [
                ("organization", "org_01EHWNCE74X7JSDV0X3SZ3KJNY".to_owned()),
                ("domain", "example.test".to_owned())
            ]
        );
    }

    #[test]
    fn provider_variables_are_recognised() {
        assert!(is_provider_variable("AUTH_PROVIDER_WINDOWS_LIVE_SCOPE"));
        assert!(is_provider_variable("LATCHKEY_PROVIDER_GOOGLE_ISSUER"));
        assert!(!is_provider_variable("AUTH_PROVIDER_NOPE_ENABLED"));
    }
}
