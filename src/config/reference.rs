//! The reference of every environment variable: default and meaning, in Markdown. The book's
//! configuration page (`docs/src/configuration.md`) is generated from this table, and unit
//! tests check that it covers `config::VARIABLES` exactly once and that the committed page is
//! current: `LATCHKEY_UPDATE_DOCS=1 cargo test --lib config` rewrites it.
//!
//! To add a variable: add its name to `config::VARIABLES` and one entry here, in its group.

mod page;
mod providers;

pub use page::{Group, markdown};

/// One environment variable. `default` and `description` are Markdown; the description of a
/// secret contains 🔒 (its value is never logged).
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    pub default: &'static str,
    pub description: &'static str,
}

/// Every variable Latchkey reads, by section of the page, in page order.
pub const REFERENCE: &[(Group, &[Variable])] = &[
    (
        Group::Server,
        &[
            Variable {
                name: "AUTH_HOST",
                default: "`0.0.0.0`",
                description: "Address to listen on, an IP literal: `0.0.0.0` (every IPv4 interface, as upstream), `127.0.0.1` behind a proxy on the same host, `::` (every interface, IPv4 too).",
            },
            Variable {
                name: "AUTH_PORT",
                default: "`4000`",
                description: "Listen port.",
            },
            Variable {
                name: "AUTH_API_PREFIX",
                default: "(empty)",
                description: "Path prefix for every route, e.g. `/v1`; an unprefixed `/healthz` stays. Empty: the API answers at the root and under `/v1` (Nhost's path, needed by nhost-js v4).",
            },
            Variable {
                name: "AUTH_SERVER_URL",
                default: "`http://localhost:$AUTH_PORT$AUTH_API_PREFIX`",
                description: "Public URL of this server (links in e-mails).",
            },
            Variable {
                name: "AUTH_CLIENT_URL",
                default: "`http://localhost:3000`",
                description: "The front end: default redirect (exactly as written, as upstream: no `/` is added), default RP ID and WebAuthn origin.",
            },
            Variable {
                name: "AUTH_ENABLE_CHANGE_ENV",
                default: "`false`",
                description: "Test-only `POST /change-env`: a partial update of the live configuration, as upstream's test suites use it. Keys absent keep their current value, `\"\"` or `null` means the default, lists may be JSON arrays or comma strings, keys that are not variables are ignored; a bad value answers 400 naming the variable and changes nothing. Never in production.",
            },
            Variable {
                name: "AUTH_PLAYGROUND_ENABLED",
                default: "`true` with SQLite, `false` with PostgreSQL",
                description: "Serve the passkey playground at `/` (and the built book at `/book/`) and accept the origin of `AUTH_SERVER_URL` in ceremonies (see [the playground](getting-started.md#the-playground)). While on, the page itself is an allowed `redirectTo`, and with mail (or, with the `dev` SMS provider, texts) written to files it serves the [development inbox](getting-started.md#mail-without-smtp) to clients on this machine.",
            },
        ],
    ),
    (
        Group::Database,
        &[
            Variable {
                name: "LATCHKEY_DATABASE_URL",
                default: "`sqlite://latchkey.db`",
                description: "`postgres://…` or `sqlite://…`; wins over the two below. 🔒 (password)",
            },
            Variable {
                name: "POSTGRES_CONNECTION",
                default: "—",
                description: "Nhost's name for the PostgreSQL URL. 🔒",
            },
            Variable {
                name: "HASURA_GRAPHQL_DATABASE_URL",
                default: "—",
                description: "Used when the two above are unset. 🔒",
            },
            Variable {
                name: "LATCHKEY_DB_MAX_CONNECTIONS",
                default: "`20`",
                description: "PostgreSQL connections per process (the pool bound; mind `max_connections` × replicas).",
            },
            Variable {
                name: "LATCHKEY_DB_ACQUIRE_TIMEOUT",
                default: "`5`",
                description: "Seconds a request waits for a free database connection before it is answered 503 `service-unavailable`.",
            },
        ],
    ),
    (
        Group::Tokens,
        &[
            Variable {
                name: "HASURA_GRAPHQL_JWT_SECRET",
                default: "generated dev key",
                description: "Hasura JSON: `{\"type\":\"HS256\"…\"RS512\",\"key\":…,\"signing_key\"?,\"kid\"?,\"issuer\"?,\"claims_namespace\"?}`. HMAC keys need ≥ 32 characters; RS* needs a PEM private key. 🔒",
            },
            Variable {
                name: "LATCHKEY_JWT_PREVIOUS_KEYS",
                default: "—",
                description: "JSON array of `{\"type\",\"key\",\"kid\"}`: keys that still verify tokens (and RSA ones stay in the JWKS) during a key rotation. 🔒",
            },
            Variable {
                name: "AUTH_ENCRYPTION_KEY",
                default: "generated",
                description: "32 bytes as 64 hex digits (`openssl rand -hex 32`): encrypts the secrets the server must read back (TOTP secrets, provider tokens) with AES-256-GCM. Unset: a development key is generated and kept in the database, with a start-up warning; set it in production and keep it with your backups, since without it those secrets cannot be read. A malformed key stops start-up. 🔒",
            },
            Variable {
                name: "AUTH_ACCESS_TOKEN_EXPIRES_IN",
                default: "`900`",
                description: "Access-token lifetime, seconds.",
            },
            Variable {
                name: "AUTH_REFRESH_TOKEN_EXPIRES_IN",
                default: "`2592000`",
                description: "Refresh-token lifetime, seconds, sliding on each refresh.",
            },
            Variable {
                name: "AUTH_REQUIRE_ELEVATED_CLAIM",
                default: "`disabled`",
                description: "`disabled`, `recommended` (only users with a key) or `required` for elevated endpoints.",
            },
            Variable {
                name: "AUTH_JWT_CUSTOM_CLAIMS",
                default: "—",
                description: "JSON object of claim names to paths, e.g. `{\"org-id\":\"metadata.org.id\",\"teams\":\"teams[].team.id\"}`: extra `x-hasura-*` claims in every access token (see [Custom JWT claims](custom-claims.md)).",
            },
            Variable {
                name: "AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS",
                default: "—",
                description: "JSON object of claim names to values used when a path yields nothing (and when Hasura does not answer).",
            },
            Variable {
                name: "HASURA_GRAPHQL_GRAPHQL_URL",
                default: "—",
                description: "Hasura's GraphQL endpoint; with the admin secret, custom claims are read from its `user(id:)`.",
            },
            Variable {
                name: "HASURA_GRAPHQL_ADMIN_SECRET",
                default: "—",
                description: "Sent as `X-Hasura-Admin-Secret` with that query; also the secret `POST /user/provider/tokens` requires in that header. 🔒",
            },
        ],
    ),
    (
        Group::Users,
        &[
            Variable {
                name: "AUTH_USER_DEFAULT_ROLE",
                default: "`user`",
                description: "Default role of new users.",
            },
            Variable {
                name: "AUTH_USER_DEFAULT_ALLOWED_ROLES",
                default: "`me`",
                description: "Allowed roles (the default role is added).",
            },
            Variable {
                name: "AUTH_LOCALE_DEFAULT",
                default: "`en`",
                description: "Default locale.",
            },
            Variable {
                name: "AUTH_LOCALE_ALLOWED_LOCALES",
                default: "`en`",
                description: "Allowed locales (others fall back to the default).",
            },
            Variable {
                name: "AUTH_DISABLE_SIGNUP",
                default: "`false`",
                description: "Refuse every sign-up (403 `signup-disabled`).",
            },
            Variable {
                name: "AUTH_DISABLE_NEW_USERS",
                default: "`false`",
                description: "New users are created disabled.",
            },
            Variable {
                name: "AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED",
                default: "`true`",
                description: "Sign-ups get a verification mail instead of a session; unverified users cannot sign in.",
            },
            Variable {
                name: "AUTH_CONCEAL_ERRORS",
                default: "`false`",
                description: "Replace codes that reveal accounts with `invalid-request`.",
            },
            Variable {
                name: "AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS",
                default: "—",
                description: "Extra allowed `redirectTo` patterns (`*` within a segment, `**` across).",
            },
            Variable {
                name: "AUTH_ACCESS_CONTROL_ALLOWED_EMAILS",
                default: "—",
                description: "E-mail allow-list. The four e-mail lists apply at sign-up and, as upstream, to existing users at every sign-in, `/token` refresh, `/verify` link and bearer request: 401 `invalid-email-password` once an address is blocked or no longer allowed.",
            },
            Variable {
                name: "AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS",
                default: "—",
                description: "Domain allow-list.",
            },
            Variable {
                name: "AUTH_ACCESS_CONTROL_BLOCKED_EMAILS",
                default: "—",
                description: "E-mail block-list.",
            },
            Variable {
                name: "AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS",
                default: "—",
                description: "Domain block-list.",
            },
            Variable {
                name: "AUTH_GRAVATAR_ENABLED",
                default: "`true`",
                description: "Gravatar avatar URL for new users.",
            },
            Variable {
                name: "AUTH_GRAVATAR_DEFAULT",
                default: "`blank`",
                description: "Gravatar fallback image.",
            },
            Variable {
                name: "AUTH_GRAVATAR_RATING",
                default: "`g`",
                description: "Gravatar rating.",
            },
        ],
    ),
    (
        Group::Webauthn,
        &[
            Variable {
                name: "AUTH_WEBAUTHN_ENABLED",
                default: "`true` with SQLite, `false` with PostgreSQL (upstream's default)",
                description: "Enable the eight WebAuthn endpoints (else 409 `disabled-endpoint`).",
            },
            Variable {
                name: "AUTH_WEBAUTHN_RP_ID",
                default: "host of `AUTH_CLIENT_URL`",
                description: "Relying-party ID (a domain).",
            },
            Variable {
                name: "AUTH_WEBAUTHN_RP_NAME",
                default: "the RP ID",
                description: "Name shown by authenticators.",
            },
            Variable {
                name: "AUTH_WEBAUTHN_RP_ORIGINS",
                default: "—",
                description: "Comma-separated extra origins, matched exactly (`https://app.example.com`, `android:apk-key-hash:…`); the origin of `AUTH_CLIENT_URL` is always added.",
            },
            Variable {
                name: "AUTH_WEBAUTHN_ATTESTATION_TIMEOUT",
                default: "`60000`",
                description: "Ceremony timeout in ms (1000–600000): sent to the browser and enforced on the stored challenge.",
            },
            Variable {
                name: "AUTH_WEBAUTHN_USER_VERIFICATION",
                default: "`required`",
                description: "`required`, `preferred` or `discouraged`: the UV policy for registration and sign-in.",
            },
            Variable {
                name: "AUTH_WEBAUTHN_ATTESTATION",
                default: "`none` (`direct` with an allow-list)",
                description: "Attestation asked of new keys: `none`, `indirect` or `direct`.",
            },
            Variable {
                name: "AUTH_WEBAUTHN_ALLOWED_AAGUIDS",
                default: "—",
                description: "Comma-separated AAGUIDs of the authenticator models that may register. When set, every new key must carry an attestation that chains to a configured trust anchor and names one of these models; others get 400 `invalid-request` \"This authenticator model is not allowed by this server\".",
            },
            Variable {
                name: "LATCHKEY_WEBAUTHN_ATTESTATION_CA_FILE",
                default: "—",
                description: "PEM file of attestation root certificates (e.g. Yubico's) trusted for the allowed AAGUIDs.",
            },
            Variable {
                name: "LATCHKEY_WEBAUTHN_MDS_FILE",
                default: "—",
                description: "A FIDO Metadata Service v3 blob (the JWT from `https://mds3.fidoalliance.org/`), checked against the FIDO Alliance's signing roots; the roots it lists for the allowed AAGUIDs are trusted. Read at start-up.",
            },
        ],
    ),
    (
        Group::Passwords,
        &[
            Variable {
                name: "AUTH_PASSWORD_MIN_LENGTH",
                default: "`3`",
                description: "Shortest accepted password, in characters (400 `password-too-short`); at most 50.",
            },
            Variable {
                name: "AUTH_PASSWORD_HIBP_ENABLED",
                default: "`false`",
                description: "Refuse passwords listed by Have I Been Pwned (k-anonymity range API; 400 `password-in-hibp-database`).",
            },
            Variable {
                name: "LATCHKEY_HIBP_URL",
                default: "`https://api.pwnedpasswords.com/range/`",
                description: "The range API (the five-digit SHA-1 prefix is appended).",
            },
            Variable {
                name: "LATCHKEY_HIBP_FAIL_OPEN",
                default: "`false`",
                description: "When HIBP cannot be asked within 3 s: `false` refuses the password with 503 `service-unavailable` (retry later), `true` accepts it unchecked (logged as `hibp.unavailable`).",
            },
            Variable {
                name: "LATCHKEY_BCRYPT_COST",
                default: "`10`",
                description: "bcrypt cost (4–31) for new password hashes.",
            },
            Variable {
                name: "LATCHKEY_REVOKE_SESSIONS_ON_CREDENTIAL_CHANGE",
                default: "`true`",
                description: "A password or e-mail change ends the user's other sessions (a reset by mailed ticket ends all).",
            },
        ],
    ),
    (
        Group::Passwordless,
        &[
            Variable {
                name: "AUTH_ANONYMOUS_USERS_ENABLED",
                default: "`false`",
                description: "Enable `POST /signin/anonymous`.",
            },
            Variable {
                name: "AUTH_EMAIL_PASSWORDLESS_ENABLED",
                default: "`false`",
                description: "Enable magic links: `POST /signin/passwordless/email`, and `/user/deanonymize` with `signInMethod: \"passwordless\"`.",
            },
            Variable {
                name: "AUTH_OTP_EMAIL_ENABLED",
                default: "`false`",
                description: "Enable e-mail codes: `POST /signin/otp/email` and `/signin/otp/email/verify`.",
            },
            Variable {
                name: "AUTH_MFA_ENABLED",
                default: "`false`",
                description: "Enable TOTP multi-factor authentication: `GET /mfa/totp/generate`, `POST /user/mfa`, `POST /signin/mfa/totp`, and Latchkey's recovery codes (`POST /user/mfa/recovery-codes`, `GET /user/mfa`).",
            },
            Variable {
                name: "AUTH_MFA_TOTP_ISSUER",
                default: "`auth`",
                description: "The issuer name authenticator apps show next to the account (a `:` is replaced by a space).",
            },
            Variable {
                name: "LATCHKEY_OTP_TTL",
                default: "`600`",
                description: "Seconds a magic link or one-time code stays valid (upstream: 1 h for e-mail). Each code allows 5 wrong guesses, then it is dead.",
            },
            Variable {
                name: "AUTH_SMS_PASSWORDLESS_ENABLED",
                default: "`false`",
                description: "Enable SMS codes: `POST /signin/passwordless/sms` and `/signin/passwordless/sms/otp`.",
            },
            Variable {
                name: "AUTH_SMS_PROVIDER",
                default: "see meaning",
                description: "`twilio`, `modica` or `dev`. Unset: the provider whose credentials are all set, else `dev` (upstream: `twilio`, and no start without its credentials). A provider named here needs its credentials once SMS is on.",
            },
            Variable {
                name: "AUTH_SMS_TWILIO_ACCOUNT_SID",
                default: "—",
                description: "Twilio account SID (basic-auth user). A value starting `VA` switches to Twilio Verify, as upstream.",
            },
            Variable {
                name: "AUTH_SMS_TWILIO_AUTH_TOKEN",
                default: "—",
                description: "Twilio auth token. 🔒",
            },
            Variable {
                name: "AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID",
                default: "—",
                description: "Messaging Service (`MG…`, sent as `MessagingServiceSid`), or a sender number or id (sent as `From`); in Verify mode the Verify service (`VA…`, which also switches to Verify).",
            },
            Variable {
                name: "AUTH_SMS_MODICA_USERNAME",
                default: "—",
                description: "Modica user.",
            },
            Variable {
                name: "AUTH_SMS_MODICA_PASSWORD",
                default: "—",
                description: "Modica password. 🔒",
            },
            Variable {
                name: "LATCHKEY_SMS_DIR",
                default: "`./latchkey-sms`",
                description: "With the `dev` provider: where messages are written, one `.txt` each; the playground's [development inbox](getting-started.md#mail-without-smtp) lists them.",
            },
            Variable {
                name: "LATCHKEY_SMS_TWILIO_BASE_URL",
                default: "`https://api.twilio.com`",
                description: "Twilio's REST API (for tests).",
            },
            Variable {
                name: "LATCHKEY_SMS_TWILIO_VERIFY_BASE_URL",
                default: "`https://verify.twilio.com`",
                description: "Twilio Verify's API (for tests).",
            },
            Variable {
                name: "LATCHKEY_SMS_MODICA_BASE_URL",
                default: "`https://api.modicagroup.com`",
                description: "Modica's API (for tests).",
            },
        ],
    ),
    (
        Group::Mail,
        &[
            Variable {
                name: "AUTH_SMTP_HOST",
                default: "—",
                description: "SMTP server. Unset: mails are written to `LATCHKEY_MAIL_DIR` instead (development). Nhost's `postmark` API mode is refused: use Postmark's SMTP server.",
            },
            Variable {
                name: "AUTH_SMTP_PORT",
                default: "`587`",
                description: "SMTP port.",
            },
            Variable {
                name: "AUTH_SMTP_SECURE",
                default: "`false`",
                description: "Implicit TLS from the first byte (port 465). Otherwise STARTTLS, required when credentials go to another host.",
            },
            Variable {
                name: "AUTH_SMTP_USER",
                default: "—",
                description: "SMTP user; unset: no authentication.",
            },
            Variable {
                name: "AUTH_SMTP_PASS",
                default: "—",
                description: "SMTP password. 🔒",
            },
            Variable {
                name: "AUTH_SMTP_SENDER",
                default: "—",
                description: "`From`, e.g. `Example <no-reply@example.com>`; required with `AUTH_SMTP_HOST`.",
            },
            Variable {
                name: "AUTH_SMTP_AUTH_METHOD",
                default: "`PLAIN`",
                description: "`PLAIN` or `LOGIN`; `CRAM-MD5` is refused at start.",
            },
            Variable {
                name: "AUTH_SMTP_X_SMTPAPI_HEADER",
                default: "—",
                description: "Sent as the `X-SMTPAPI` header (SendGrid and similar); one line.",
            },
            Variable {
                name: "AUTH_EMAIL_TEMPLATES_PATH",
                default: "built-in English",
                description: "Folder of `<locale>/<template>/{subject.txt,body.html}` overriding the built-in templates.",
            },
            Variable {
                name: "LATCHKEY_MAIL_DIR",
                default: "`./latchkey-mail`",
                description: "Without SMTP: where mails are written, as `.eml` and `.html`.",
            },
            Variable {
                name: "LATCHKEY_MAIL_SEND_TIMEOUT",
                default: "`10`",
                description: "Seconds one attempt to hand a mail over may take (at least 1), the request's own attempt included; past it the request answers anyway and the mail waits in the outbox. Keep it well below `LATCHKEY_REQUEST_TIMEOUT`.",
            },
        ],
    ),
    (
        Group::Limits,
        &[
            Variable {
                name: "LATCHKEY_SHUTDOWN_TIMEOUT",
                default: "`30`",
                description: "Seconds in-flight requests may take to finish after SIGTERM.",
            },
            Variable {
                name: "LATCHKEY_MAX_HEADER_BYTES",
                default: "`32768`",
                description: "Largest request line plus headers (at least 8192); larger requests get 431.",
            },
            Variable {
                name: "LATCHKEY_HEADER_READ_TIMEOUT",
                default: "`10`",
                description: "Seconds a connection may take to send complete request headers, or stay idle between requests, before it is closed (slow clients).",
            },
            Variable {
                name: "LATCHKEY_REQUEST_TIMEOUT",
                default: "`30`",
                description: "Seconds a request, body upload included, may take before it is answered 408 `request-timeout` and its work cancelled.",
            },
            Variable {
                name: "AUTH_RATE_LIMIT_ENABLE",
                default: "`false`",
                description: "Turn on rate limits (per client IP, counted in the database so every replica shares them).",
            },
            Variable {
                name: "AUTH_RATE_LIMIT_GLOBAL_BURST",
                default: "`100`",
                description: "Requests per interval and client, any endpoint.",
            },
            Variable {
                name: "AUTH_RATE_LIMIT_GLOBAL_INTERVAL",
                default: "`1m`",
                description: "Its window (Go duration: `30s`, `5m`, `1h`).",
            },
            Variable {
                name: "AUTH_RATE_LIMIT_EMAIL_BURST",
                default: "`10`",
                description: "Requests to endpoints that send e-mail.",
            },
            Variable {
                name: "AUTH_RATE_LIMIT_EMAIL_INTERVAL",
                default: "`1h`",
                description: "Its window.",
            },
            Variable {
                name: "AUTH_RATE_LIMIT_EMAIL_IS_GLOBAL",
                default: "`false`",
                description: "One e-mail bucket for all clients instead of one per IP.",
            },
            Variable {
                name: "AUTH_RATE_LIMIT_SMS_BURST",
                default: "`10`",
                description: "Requests to SMS endpoints (none yet).",
            },
            Variable {
                name: "AUTH_RATE_LIMIT_SMS_INTERVAL",
                default: "`1h`",
                description: "Its window.",
            },
            Variable {
                name: "AUTH_RATE_LIMIT_BRUTE_FORCE_BURST",
                default: "`10`",
                description: "Requests to paths starting `/signin` or ending `/verify` or `/otp`.",
            },
            Variable {
                name: "AUTH_RATE_LIMIT_BRUTE_FORCE_INTERVAL",
                default: "`5m`",
                description: "Its window.",
            },
            Variable {
                name: "AUTH_RATE_LIMIT_SIGNUPS_BURST",
                default: "`10`",
                description: "Requests to paths starting `/signup`.",
            },
            Variable {
                name: "AUTH_RATE_LIMIT_SIGNUPS_INTERVAL",
                default: "`5m`",
                description: "Its window.",
            },
            Variable {
                name: "LATCHKEY_TRUSTED_PROXIES",
                default: "—",
                description: "IPs or CIDR ranges of proxies whose `X-Forwarded-For` names the client; without it the peer address is the client.",
            },
        ],
    ),
    (
        Group::Operations,
        &[
            Variable {
                name: "AUTH_DEBUG",
                default: "`false`",
                description: "Latchkey's logs at debug level (`RUST_LOG` overrides, with `tracing` filter syntax).",
            },
            Variable {
                name: "AUTH_LOG_FORMAT_TEXT",
                default: "`false`",
                description: "Plain-text logs instead of JSON lines.",
            },
            Variable {
                name: "LATCHKEY_METRICS_ADDR",
                default: "—",
                description: "Serve `/metrics` on this address (e.g. `0.0.0.0:9100`) instead of the API port.",
            },
            Variable {
                name: "LATCHKEY_AUDIT_RETENTION_DAYS",
                default: "`90`",
                description: "Days audit-log rows are kept (`GET /user/audit`); older rows are deleted in batches as new events arrive. `0` keeps them forever.",
            },
        ],
    ),
    (
        Group::Outgoing,
        &[
            Variable {
                name: "HTTPS_PROXY",
                default: "—",
                description: "Proxy for outgoing `https://` requests (HIBP, Hasura); `https_proxy` too. `host:port` means `http://host:port`. 🔒 (password)",
            },
            Variable {
                name: "HTTP_PROXY",
                default: "—",
                description: "Proxy for outgoing `http://` requests; `http_proxy` too. 🔒 (password)",
            },
            Variable {
                name: "NO_PROXY",
                default: "—",
                description: "Comma-separated hosts, `.domains`, IPs and CIDR ranges reached without the proxy; `no_proxy` too.",
            },
            Variable {
                name: "SSL_CERT_FILE",
                default: "system store",
                description: "PEM file of root certificates for outgoing TLS (e.g. a TLS-inspecting proxy's CA). As with OpenSSL tools, it replaces the system store (so does `SSL_CERT_DIR`, a folder of them). Read at start; an unreadable file or one without a certificate stops the start.",
            },
        ],
    ),
    (Group::Providers, providers::PROVIDER_VARIABLES),
];

#[cfg(test)]
mod tests;
