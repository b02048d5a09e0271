//! CPU time and resident memory of a process, from `/proc` (Linux).

use anyhow::Context as _;

/// Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on every Linux port
/// that matters; `getconf CLK_TCK` is asked when available).
pub fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// A process to watch: `None` means this process.
#[derive(Clone, Copy)]
pub struct Proc {
    pid: Option<u32>,
    hz: f64,
}

/// Resident set sizes, in MiB.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    pub rss_mib: f64,
    pub peak_rss_mib: f64,
}

impl Proc {
    pub fn new(pid: Option<u32>) -> Self {
        Self::with_ticks(pid, ticks_per_second())
    }

    /// Like [`Proc::new`] with the clock rate already known (no `getconf` per process).
    pub fn with_ticks(pid: Option<u32>, hz: f64) -> Self {
        Self { pid, hz }
    }

    fn path(&self, file: &str) -> String {
        match self.pid {
            Some(pid) => format!("/proc/{pid}/{file}"),
            None => format!("/proc/self/{file}"),
        }
    }

    /// User + system CPU seconds used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat =
            std::fs::read_to_string(self.path("stat")).context("reading /proc/<pid>/stat")?;
        // Fields after the command name (which may contain spaces) start at field 3.
        let rest = stat
            .rsplit_once(')')
            .map(|(_, r)| r)
            .context("malformed stat")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after ')'.
        let ticks = |i: usize| -> anyhow::Result<f64> {
            Ok(fields.get(i).context("short stat")?.parse::<f64>()?)
        };
        Ok((ticks(11)? + ticks(12)?) / self.hz)
    }

    /// VmRSS and VmHWM (peak resident size since start).
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status =
            std::fs::read_to_string(self.path("status")).context("reading /proc/<pid>/status")?;
        let kib = |name: &str| -> anyhow::Result<f64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .with_context(|| format!("no {name} in status"))?;
            let value = line
                .split_whitespace()
                .nth(1)
                .context("malformed status line")?;
            Ok(value.parse::<f64>()? / 1024.0)
        };
        Ok(Memory {
            rss_mib: kib("VmRSS:")?,
            peak_rss_mib: kib("VmHWM:")?,
        })
    }
}

/// The CPU model and count of this machine, from `/proc/cpuinfo`.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cores} cores, {model}")
}

/// The 1-minute load average.
pub fn machine_load() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// True while process `pid` exists and is not a zombie (a crashed server its parent has not
/// reaped yet still has a `/proc` entry).
pub fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().next().map(str::to_owned)
        })
        .is_some_and(|state| state != "Z" && state != "X")
}
