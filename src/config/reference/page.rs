//! Renders `REFERENCE` as the book's configuration page.

use std::fmt::Write;

use super::REFERENCE;

/// The sections of the configuration page, in page order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Server,
    Database,
    Tokens,
    Users,
    Webauthn,
    Passwords,
    Passwordless,
    Mail,
    Limits,
    Operations,
    Outgoing,
    Providers,
}

impl Group {
    /// The section heading.
    pub fn title(self) -> &'static str {
        match self {
            Group::Server => "Server",
            Group::Database => "Database",
            Group::Tokens => "Tokens and sessions",
            Group::Users => "Users and sign-up",
            Group::Webauthn => "Passkeys and security keys",
            Group::Passwords => "Passwords",
            Group::Passwordless => "Magic links, e-mail and SMS codes, MFA, anonymous users",
            Group::Mail => "E-mail",
            Group::Limits => "Limits, timeouts and rate limits",
            Group::Operations => "Logs, metrics and the audit log",
            Group::Outgoing => "Outgoing requests",
            Group::Providers => "Sign-in providers (OAuth, OpenID Connect)",
        }
    }

    /// The book pages that explain this section's variables in context (Markdown links,
    /// relative to `docs/src/`).
    pub fn see_also(self) -> &'static str {
        match self {
            Group::Server => "[Getting started](getting-started.md), [Deployment](deployment.md)",
            Group::Database => "[Deployment](deployment.md)",
            Group::Tokens => {
                "[Rotating an RS256 key](deployment.md#rotating-an-rs256-key), \
                 [Custom JWT claims](custom-claims.md)"
            }
            Group::Users => "[Migrating from Nhost Auth](migrating.md)",
            Group::Webauthn => {
                "[Passkeys and security keys](sign-in/passkeys.md), \
                 [Attestation policy](sign-in/attestation.md)"
            }
            Group::Passwords => "[Password](sign-in/password.md)",
            Group::Passwordless => {
                "[Magic links and e-mail codes](sign-in/magic-links-and-codes.md), \
                 [Anonymous users](sign-in/anonymous.md)"
            }
            Group::Mail => "[E-mail](email.md)",
            Group::Limits => {
                "[Rate limits](deployment.md#rate-limits), [Security model](security.md)"
            }
            Group::Operations => "[Logs, metrics and the audit log](monitoring.md)",
            Group::Outgoing => "[Outgoing requests](custom-claims.md#outgoing-requests)",
            Group::Providers => "[Sign-in providers](sign-in/providers.md)",
        }
    }
}

const INTRO: &str = "\
# Configuration reference

<!-- Generated from src/config/reference.rs: do not edit. Regenerate with
     LATCHKEY_UPDATE_DOCS=1 cargo test --lib config -->

Latchkey reads only environment variables, and their names are Nhost's. Every bad value is
reported at start, one line per variable, and the server does not start; `latchkey
check-config` prints the effective configuration (secrets redacted) and exits 2 on errors.
Secrets are marked 🔒 and are never logged.

This page is generated from the code (`src/config/reference.rs`), and a unit test fails when it
differs from what the code generates, or when a variable the code reads is missing.
";

/// The whole page, as committed in `docs/src/configuration.md`. Each variable's row carries
/// an anchor named after the variable, so other pages link to `configuration.md#AUTH_PORT`.
pub fn markdown() -> String {
    let mut page = String::from(INTRO);
    for (group, variables) in REFERENCE {
        let _ = write!(
            page,
            "\n## {}\n\nSee also: {}.\n\n| Variable | Default | Meaning |\n|---|---|---|\n",
            group.title(),
            group.see_also()
        );
        for v in variables.iter() {
            // A per-provider pattern (`AUTH_PROVIDER_<NAME>_ENABLED`) is anchored without
            // the angle brackets, which an id should not hold.
            let anchor = v.name.replace(['<', '>'], "");
            let _ = writeln!(
                page,
                "| <a id=\"{anchor}\"></a>`{name}` | {} | {} |",
                v.default,
                v.description,
                name = v.name
            );
        }
    }
    page
}
