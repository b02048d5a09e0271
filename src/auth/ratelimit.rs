//! Rate limits: fixed windows counted in the database, so a client cannot escape its limit
//! by reaching another replica.

use std::time::Duration;

use super::Auth;
use super::error::{Error, Result};
use crate::config::Limit;
use crate::model::RequestContext;

/// Nhost's buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Global,
    Email,
    Sms,
    BruteForce,
    Signups,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Global => "global",
            Bucket::Email => "email",
            Bucket::Sms => "sms",
            Bucket::BruteForce => "brute-force",
            Bucket::Signups => "signups",
        }
    }
}

impl Auth {
    /// Counts one request of `client` in each bucket. `RateLimited` (with the time until the
    /// window ends) when a bucket is over its burst; nothing when limits are off.
    // Nhost: sliding windows in process memory (or memcache); here fixed windows in the
    // database shared by replicas. A fixed window can admit up to twice the burst across a
    // window boundary; the bound per window is exact.
    pub async fn rate_limit(&self, buckets: &[Bucket], ctx: &RequestContext) -> Result<()> {
        let client = ctx.ip.as_str();
        let rt = self.runtime();
        let limits = &rt.config.rate_limits;
        if !limits.enabled {
            return Ok(());
        }
        let now = self.now();
        for &bucket in buckets {
            let limit: Limit = match bucket {
                Bucket::Global => limits.global,
                Bucket::Email => limits.email,
                Bucket::Sms => limits.sms,
                Bucket::BruteForce => limits.brute_force,
                Bucket::Signups => limits.signups,
            };
            let key = if bucket == Bucket::Email && limits.email_is_global {
                "*"
            } else {
                client
            };
            let interval_ms = i64::try_from(limit.interval.as_millis())
                .unwrap_or(i64::MAX)
                .max(1);
            let start_ms = now.timestamp_millis().div_euclid(interval_ms) * interval_ms;
            let window_start = chrono::DateTime::from_timestamp_millis(start_ms).unwrap_or(now);
            let window_end = window_start + chrono::Duration::milliseconds(interval_ms);
            let hits = self
                .store
                .count_hit(bucket.name(), key, window_start, window_end)
                .await?;
            if hits > limit.burst {
                // Once per client, bucket and window: a flood must not flood the log too.
                if hits == limit.burst.saturating_add(1) {
                    let detail = serde_json::json!({ "bucket": bucket.name() });
                    self.audit(Some(ctx), "request.rate_limited", None, detail)
                        .await;
                }
                metrics::counter!("latchkey_rate_limited_total", "bucket" => bucket.name())
                    .increment(1);
                let retry_after = (window_end - now)
                    .to_std()
                    .unwrap_or(Duration::from_secs(1));
                return Err(Error::RateLimited { retry_after });
            }
        }
        // Ended windows are useless; about one request in 256 clears them.
        if rand::random::<u8>() == 0 {
            self.store.sweep_rate_limits(now).await?;
        }
        Ok(())
    }
}
