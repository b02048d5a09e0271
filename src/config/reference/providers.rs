//! The sign-in provider variables, for the configuration page: one entry per pattern
//! (`<NAME>` is each provider's infix) plus GitHub's upstream endpoint names.

use super::Variable;

pub const PROVIDER_VARIABLES: &[Variable] = &[
    Variable {
        name: "AUTH_PROVIDER_<NAME>_ENABLED",
        default: "`false`",
        description: "Offer sign-in with this provider. `<NAME>` is the provider in capitals (`GITHUB`, `GOOGLE`, `WINDOWS_LIVE`, ...): any of the 16 providers of Nhost (Apple, Azure AD, Bitbucket, Discord, Entra ID, Facebook, GitHub, GitLab, Google, LinkedIn, Spotify, Strava, Twitch, Twitter, Windows Live, WorkOS). Enabled without a client id and secret (Twitter: its consumer key and secret; Apple: its team id, key id and private key) stops start-up.",
    },
    Variable {
        name: "AUTH_PROVIDER_<NAME>_CLIENT_ID",
        default: "—",
        description: "The client id registered at the provider, whose callback URL is `$AUTH_SERVER_URL/signin/provider/<name>/callback`.",
    },
    Variable {
        name: "AUTH_PROVIDER_<NAME>_CLIENT_SECRET",
        default: "—",
        description: "The client secret registered at the provider (not for Apple, whose secret is signed with `AUTH_PROVIDER_APPLE_PRIVATE_KEY`). 🔒",
    },
    Variable {
        name: "AUTH_PROVIDER_<NAME>_SCOPE",
        default: "upstream's per provider",
        description: "Comma-separated scopes asked for. Defaults as upstream: GitHub `user:email`; Google `openid,email,profile`; Bitbucket `account`; Discord `identify,email`; Facebook `email`; GitLab `read_user`; Spotify `user-read-email,user-read-private`; Strava `profile:read_all`; Twitch `user:read:email`; Windows Live `wl.basic,wl.emails`; WorkOS none; Apple `name,email`; Azure AD and Entra ID `email,profile,openid,offline_access`; LinkedIn `openid,profile,email`; Twitter none (OAuth 1.0a has no scopes).",
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
        name: "AUTH_PROVIDER_WORKOS_DEFAULT_ORGANIZATION",
        default: "—",
        description: "Sent as `organization` in every WorkOS authorization URL: the WorkOS organization whose SSO connection signs users in.",
    },
    Variable {
        name: "AUTH_PROVIDER_WORKOS_DEFAULT_CONNECTION",
        default: "—",
        description: "Sent as `connection`: a WorkOS connection id. WorkOS wants one selector (organization, connection or domain).",
    },
    Variable {
        name: "AUTH_PROVIDER_WORKOS_DEFAULT_DOMAIN",
        default: "—",
        description: "Sent as `domain` (upstream's parameter; WorkOS now prefers `organization`).",
    },
    Variable {
        name: "AUTH_PROVIDER_APPLE_AUDIENCE",
        default: "`$AUTH_PROVIDER_APPLE_CLIENT_ID`",
        description: "The audience Apple ID tokens given to `POST /signin/idtoken` must name (your iOS app's bundle id).",
    },
    Variable {
        name: "AUTH_PROVIDER_APPLE_TEAM_ID",
        default: "—",
        description: "Your Apple developer team id: the issuer of the client secret Latchkey signs for each code exchange. Required with Apple.",
    },
    Variable {
        name: "AUTH_PROVIDER_APPLE_KEY_ID",
        default: "—",
        description: "The id of the Sign in with Apple key (the `kid` of the client secret). Required with Apple.",
    },
    Variable {
        name: "AUTH_PROVIDER_APPLE_PRIVATE_KEY",
        default: "—",
        description: "That key's `.p8` file: the PEM (newlines may be written `\\n`) or the PEM in base64. An EC P-256 private key; anything else stops start-up. Client secrets signed with it live five minutes. 🔒",
    },
    Variable {
        name: "AUTH_PROVIDER_AZUREAD_TENANT",
        default: "`common`",
        description: "The Microsoft tenant of Azure AD sign-in: a tenant id, a domain, `common`, `organizations` or `consumers`. With a multi-tenant value each token's issuer must match its own `tid`.",
    },
    Variable {
        name: "AUTH_PROVIDER_ENTRAID_TENANT",
        default: "`common`",
        description: "The same for Entra ID.",
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
