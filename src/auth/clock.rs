//! Time as a dependency, so expiry rules are tested by moving a clock, not by sleeping.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{SubsecRound as _, Utc};

use crate::model::Timestamp;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    /// Whole milliseconds, the precision both stores keep, so a user or session built from
    /// `now` equals the same row read back later.
    fn now(&self) -> Timestamp {
        Utc::now().trunc_subsecs(3)
    }
}

/// A clock tests move forward by hand.
pub struct TestClock(Mutex<Timestamp>);

impl TestClock {
    pub fn new(start: Timestamp) -> Self {
        Self(Mutex::new(start))
    }
    pub fn advance(&self, by: Duration) {
        if let (Ok(mut now), Ok(by)) = (self.0.lock(), chrono::Duration::from_std(by)) {
            *now += by;
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        match self.0.lock() {
            Ok(now) => *now,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}
