//! End-to-end tests over HTTP, each on both SQLite and PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[macro_use]
mod support;

mod access_control;
mod audit;
mod change_env;
mod claims;
mod cli;
mod docs;
mod email;
mod faults;
mod fuzz;
mod graphql;
mod keys;
mod limits;
mod mfa;
mod migrations;
mod openapi;
mod operability;
mod outbox;
mod outgoing;
mod password;
mod passwordless;
mod pats;
mod playground;
mod providers;
mod providers_apple;
mod providers_discovery;
mod providers_github;
mod providers_google;
mod providers_idtoken;
mod providers_oauth2;
mod providers_oidc;
mod providers_tokens;
mod providers_twitter;
mod ratelimit;
mod sessions;
mod sms;
mod sms_providers;
mod sms_upstream;
mod transport;
mod webauthn;
mod webauthn_attestation;
mod webauthn_challenges;
mod webauthn_policy;
mod webauthn_rejects;
