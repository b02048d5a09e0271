//! The sign-in provider variables, for the configuration page: one entry per pattern
//! (`<NAME>` is each provider's infix) plus GitHub's upstream endpoint names.

use super::Variable;

pub const PROVIDER_VARIABLES: &[Variable] = &[
    Variable {
        name: "AUTH_PROVIDER_<NAME>_ENABLED",
        default: "`false`",
        description: "Offer sign-in with this provider. `<NAME>` is the provider in capitals (`GITHUB`, `GOOGLE`, `WINDOWS_LIVE`, ...). Latchkey runs GitHub, Google (OpenID Connect) and Twitter (OAuth 1.0a) so far; enabling another stops start-up. Enabled without a client id and secret (Twitter: consumer key and secret) stops start-up too.",
    },
    Variable {
        name: "AUTH_PROVIDER_<NAME>_CLIENT_ID",
        default: "—",
        description: "The client id registered at the provider, whose callback URL is `$AUTH_SERVER_URL/signin/provider/<name>/callback`.",
    },
    Variable {
        name: "AUTH_PROVIDER_<NAME>_CLIENT_SECRET",
        default: "—",
        description: "The client secret registered at the provider. 🔒",
    },
    Variable {
        name: "AUTH_PROVIDER_<NAME>_SCOPE",
        default: "upstream's per provider",
        description: "Comma-separated scopes asked for; GitHub's default is `user:email`, Google's `openid,email,profile`.",
    },
    Variable {
        name: "AUTH_PROVIDER_GITHUB_AUTHORIZATION_URL",
        default: "`https://github.com/login/oauth/authorize`",
        description: "GitHub's authorization endpoint (GitHub Enterprise, tests).",
    },
    Variable {
        name: "AUTH_PROVIDER_GITHUB_TOKEN_URL",
        default: "`https://github.com/login/oauth/access_token`",
        description: "GitHub's token endpoint.",
    },
    Variable {
        name: "AUTH_PROVIDER_GITHUB_USER_PROFILE_URL",
        default: "`https://api.github.com/user`",
        description: "GitHub's profile API; the e-mail is the primary verified entry of this URL plus `/emails`.",
    },
    Variable {
        name: "AUTH_PROVIDER_GOOGLE_AUDIENCE",
        default: "`$AUTH_PROVIDER_GOOGLE_CLIENT_ID`",
        description: "The audience ID tokens given to `POST /signin/idtoken` must name (the client id of the app that got them from Google).",
    },
    Variable {
        name: "AUTH_PROVIDER_TWITTER_CONSUMER_KEY",
        default: "—",
        description: "Twitter's consumer (API) key; Twitter signs in with OAuth 1.0a, which has no client id, secret or scopes. Register `$AUTH_SERVER_URL/signin/provider/twitter/callback` as the callback URL.",
    },
    Variable {
        name: "AUTH_PROVIDER_TWITTER_CONSUMER_SECRET",
        default: "—",
        description: "Twitter's consumer (API) secret, which signs every request to Twitter (HMAC-SHA1). 🔒",
    },
    Variable {
        name: "LATCHKEY_PROVIDER_TWITTER_REQUEST_TOKEN_URL",
        default: "`https://api.twitter.com/oauth/request_token`",
        description: "Overrides Twitter's request-token endpoint (OAuth 1.0a's first step); the authorization, access-token (`_TOKEN_URL`) and `verify_credentials` (`_USERINFO_URL`) endpoints take the `LATCHKEY_PROVIDER_TWITTER_*` names below.",
    },
    Variable {
        name: "LATCHKEY_PROVIDER_<NAME>_AUTHORIZATION_URL",
        default: "the provider's",
        description: "Overrides the authorization endpoint (self-hosted GitLab, a local mock in tests). For GitHub the upstream name above wins.",
    },
    Variable {
        name: "LATCHKEY_PROVIDER_<NAME>_TOKEN_URL",
        default: "the provider's",
        description: "Overrides the token endpoint.",
    },
    Variable {
        name: "LATCHKEY_PROVIDER_<NAME>_USERINFO_URL",
        default: "the provider's",
        description: "Overrides the profile (userinfo) endpoint.",
    },
    Variable {
        name: "LATCHKEY_PROVIDER_<NAME>_JWKS_URL",
        default: "from discovery",
        description: "Overrides the key set of an OpenID provider.",
    },
    Variable {
        name: "LATCHKEY_PROVIDER_<NAME>_ISSUER",
        default: "the provider's",
        description: "Overrides the issuer of an OpenID provider (discovery at `<issuer>/.well-known/openid-configuration`); ID tokens must name it.",
    },
];
