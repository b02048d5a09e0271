//! Rate limits (`AUTH_RATE_LIMIT_*`, Nhost's buckets) and the proxies whose
//! `X-Forwarded-For` is believed (`LATCHKEY_TRUSTED_PROXIES`).

use std::time::Duration;

use ipnet::IpNet;

use super::Vars;

/// At most `burst` requests per `interval` and client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub burst: u32,
    pub interval: Duration,
}

#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Every request, per client IP.
    pub global: Limit,
    /// Endpoints that send e-mail; one bucket for everyone when `email_is_global`.
    pub email: Limit,
    pub email_is_global: bool,
    pub sms: Limit,
    /// Paths starting `/signin` or ending `/verify` or `/otp`: guessing credentials.
    pub brute_force: Limit,
    /// Paths starting `/signup`.
    pub signups: Limit,
    /// Peers whose `X-Forwarded-For` names the client; others are the client themselves.
    pub trusted_proxies: Vec<IpNet>,
}

pub(super) fn rate_limit_settings(v: &mut Vars) -> RateLimitConfig {
    let mut limit = |name: &str, burst: u32, interval: &str| Limit {
        burst: v.number(&format!("AUTH_RATE_LIMIT_{name}_BURST"), burst),
        interval: go_duration(v, &format!("AUTH_RATE_LIMIT_{name}_INTERVAL"), interval),
    };
    let global = limit("GLOBAL", 100, "1m");
    let email = limit("EMAIL", 10, "1h");
    let sms = limit("SMS", 10, "1h");
    let brute_force = limit("BRUTE_FORCE", 10, "5m");
    let signups = limit("SIGNUPS", 10, "5m");
    let mut trusted_proxies = Vec::new();
    for entry in v.list("LATCHKEY_TRUSTED_PROXIES") {
        let parsed = entry
            .parse::<IpNet>()
            .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => trusted_proxies.push(net),
            Err(_) => v.errors.push(format!(
                "LATCHKEY_TRUSTED_PROXIES: {entry:?} is not an IP address or CIDR range"
            )),
        }
    }
    RateLimitConfig {
        enabled: v.bool("AUTH_RATE_LIMIT_ENABLE", false),
        global,
        email,
        email_is_global: v.bool("AUTH_RATE_LIMIT_EMAIL_IS_GLOBAL", false),
        sms,
        brute_force,
        signups,
        trusted_proxies,
    }
}

/// Nhost's intervals are Go durations: `30s`, `5m`, `1h`, `1h30m`.
fn go_duration(v: &mut Vars, name: &str, default: &str) -> Duration {
    let text = v.get(name).unwrap_or(default).to_owned();
    match parse_go_duration(&text) {
        Some(d) if !d.is_zero() => d,
        _ => {
            v.errors.push(format!(
                "{name}: expected a duration such as 30s, 5m or 1h, got {text:?}"
            ));
            parse_go_duration(default).unwrap_or(Duration::from_secs(60))
        }
    }
}

fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
    }
    digits.is_empty().then_some(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::parse_go_duration;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("45s"), Some(Duration::from_secs(45)));
        assert_eq!(parse_go_duration("5"), None);
        assert_eq!(parse_go_duration("5x"), None);
    }
}
