//! The results: JSON (everything), Markdown (the tables) and a PNG plot.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::client::Op;
use crate::floor::{CryptoFloor, DbFloor};
use crate::load::Window;
use crate::procstat::Memory;

#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Report {
    pub date: String,
    pub store: String,
    pub machine: String,
    pub build: String,
    pub load_average_before: f64,
    pub load_average_after: f64,
    pub window_seconds: f64,
    pub users: usize,
    pub server_idle: Memory,
    pub server_after: Memory,
    pub server_cpu_seconds: f64,
    pub bench_cpu_seconds: f64,
    pub crypto: CryptoFloor,
    pub db: Vec<DbFloor>,
    pub sweep: Vec<Window>,
    pub open_loop: Vec<Window>,
    pub summary: Vec<Summary>,
}

/// One line of the headline table.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Summary {
    pub op: Op,
    pub best_concurrency: usize,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
    pub crypto_floor: f64,
    pub db_floor: Option<f64>,
    /// Achieved ÷ min(crypto floor, DB floor).
    pub ratio: f64,
    pub open_loop_rate: Option<f64>,
    pub open_loop_p99_ms: Option<f64>,
}

pub fn summarise(
    op: Op,
    sweep: &[Window],
    open: &[Window],
    crypto: &CryptoFloor,
    db: &[DbFloor],
) -> Option<Summary> {
    let best = sweep
        .iter()
        .filter(|w| w.op == op)
        .max_by(|a, b| a.throughput.total_cmp(&b.throughput))?;
    let errors = sweep
        .iter()
        .chain(open)
        .filter(|w| w.op == op)
        .map(|w| w.errors)
        .sum();
    let crypto_floor = crypto.ops_per_second(op);
    let db_floor = db
        .iter()
        .find(|d| d.op == op && d.concurrency == best.concurrency)
        .map(|d| d.ops_per_second);
    let floor = db_floor.map_or(crypto_floor, |d| d.min(crypto_floor));
    let open = open.iter().find(|w| w.op == op);
    Some(Summary {
        op,
        best_concurrency: best.concurrency,
        throughput: best.throughput,
        p50_ms: best.p50_ms,
        p99_ms: best.p99_ms,
        max_ms: best.max_ms,
        errors,
        crypto_floor,
        db_floor,
        ratio: best.throughput / floor,
        open_loop_rate: open.and_then(|w| w.target_rate),
        open_loop_p99_ms: open.map(|w| w.p99_ms),
    })
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.digits$}"))
}

pub fn markdown(r: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Latchkey benchmark, {} on {}\n", r.store, r.date);
    let _ = writeln!(
        md,
        "- Machine: {} (load average {:.2} before, {:.2} after; the load generator shares the cores)",
        r.machine, r.load_average_before, r.load_average_after
    );
    let _ = writeln!(
        md,
        "- Server: {}; loopback HTTP/1.1; rate limits off",
        r.build
    );
    let _ = writeln!(
        md,
        "- Closed-loop windows of {:.1} s per operation and concurrency; {} pre-registered users (signed up through the API)",
        r.window_seconds, r.users
    );
    let _ = writeln!(
        md,
        "- Server RSS: idle {:.1} MiB, peak {:.1} MiB (VmHWM), {:.1} MiB after the run; server CPU {:.1} s, load generator CPU {:.1} s\n",
        r.server_idle.rss_mib,
        r.server_after.peak_rss_mib,
        r.server_after.rss_mib,
        r.server_cpu_seconds,
        r.bench_cpu_seconds
    );

    let _ = writeln!(md, "## Headline\n");
    let _ = writeln!(
        md,
        "Best closed-loop window per operation; ratio = achieved ÷ min(crypto floor, DB floor at that concurrency); open loop at half the best throughput.\n"
    );
    let _ = writeln!(
        md,
        "| operation | clients | ops/s | p50 ms | p99 ms | max ms | errors | crypto floor/s | DB floor/s | ratio | open loop /s | open-loop p99 ms |"
    );
    let _ = writeln!(
        md,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for s in &r.summary {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {:.0} | {} | {:.0} % | {} | {} |",
            s.op.label(),
            s.best_concurrency,
            s.throughput,
            s.p50_ms,
            s.p99_ms,
            s.max_ms,
            s.errors,
            s.crypto_floor,
            opt(s.db_floor, 0),
            s.ratio * 100.0,
            opt(s.open_loop_rate, 0),
            opt(s.open_loop_p99_ms, 2)
        );
    }

    let _ = writeln!(md, "\n## Targets (issue #8)\n");
    let _ = writeln!(md, "| target | measured | met |\n|---|---|---|");
    let yes = |b: bool| if b { "yes" } else { "**no**" };
    if let Some(s) = r.summary.iter().find(|s| s.op == Op::SignIn) {
        let _ = writeln!(
            md,
            "| sign-in ≥ 50 % of the floor | {:.1} % | {} |",
            s.ratio * 100.0,
            yes(s.ratio >= 0.5)
        );
    }
    if let Some(s) = r.summary.iter().find(|s| s.op == Op::Refresh) {
        let note = if r.store == "postgres" {
            ""
        } else {
            " (target is for PostgreSQL)"
        };
        let _ = writeln!(
            md,
            "| refresh ≥ 2,400/s{note} | {:.0}/s | {} |",
            s.throughput,
            yes(s.throughput >= 2400.0)
        );
    }
    let _ = writeln!(
        md,
        "| idle RSS ≤ 20 MB | {:.1} MiB | {} |",
        r.server_idle.rss_mib,
        yes(r.server_idle.rss_mib * 1.048_576 <= 20.0)
    );
    let _ = writeln!(
        md,
        "| RSS under load ≤ 100 MB | {:.1} MiB peak | {} |",
        r.server_after.peak_rss_mib,
        yes(r.server_after.peak_rss_mib * 1.048_576 <= 100.0)
    );
    for s in &r.summary {
        if let Some(p99) = s.open_loop_p99_ms {
            let _ = writeln!(
                md,
                "| p99 ≤ 10 ms at half load: {} | {p99:.2} ms | {} |",
                s.op.key(),
                yes(p99 <= 10.0)
            );
        }
    }
    let errors: u64 = r.summary.iter().map(|s| s.errors).sum();
    let _ = writeln!(md, "| 0 errors | {errors} | {} |", yes(errors == 0));

    let _ = writeln!(md, "\n## Ceremonies against a floor that does both\n");
    let _ = writeln!(
        md,
        "The two floors are measured apart, but a ceremony needs its database work and its ES256 check on the same cores: 1 ÷ (1/crypto floor + 1/DB floor) is what both allow together. Context only; the target above uses min(), as issue #8 defines it.\n"
    );
    let _ = writeln!(
        md,
        "| operation | ops/s | crypto + DB floor/s | ratio |\n|---|---:|---:|---:|"
    );
    for s in r
        .summary
        .iter()
        .filter(|s| crate::floor::crypto_work(s.op).0 > 0.0)
    {
        if let Some(db) = s.db_floor {
            let both = 1.0 / (1.0 / s.crypto_floor + 1.0 / db);
            let _ = writeln!(
                md,
                "| {} | {:.0} | {both:.0} | {:.0} % |",
                s.op.key(),
                s.throughput,
                s.throughput / both * 100.0
            );
        }
    }

    let c = &r.crypto;
    let _ = writeln!(md, "\n## Crypto floor\n");
    let _ = writeln!(
        md,
        "| primitive | 1 core /s | {} cores /s |\n|---|---:|---:|",
        c.threads
    );
    let _ = writeln!(
        md,
        "| ES256 verify (webauthn-rs-core `COSEKey::verify_signature`, as the server) | {:.0} | {:.0} |",
        c.single_core.es256_verify, c.all_cores.es256_verify
    );
    let _ = writeln!(
        md,
        "| ES256 verify with OpenSSL (reference only, not in the floor) | {:.0} | {:.0} |",
        c.single_core.es256_verify_openssl, c.all_cores.es256_verify_openssl
    );
    let _ = writeln!(
        md,
        "| access token mint (`TokenKeys::mint`, HS256) | {:.0} | {:.0} |",
        c.single_core.jwt_mint, c.all_cores.jwt_mint
    );
    let _ = writeln!(
        md,
        "| access token check (`TokenKeys::verify`) | {:.0} | {:.0} |",
        c.single_core.jwt_verify, c.all_cores.jwt_verify
    );

    let _ = writeln!(
        md,
        "\n## Database floor\n\nThe store calls of each operation, run directly (same SQL, same pool size) at the same concurrency.\n"
    );
    let _ = writeln!(
        md,
        "| operation | concurrency | ops/s | p99 ms |\n|---|---:|---:|---:|"
    );
    for d in &r.db {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {:.2} |",
            d.op.key(),
            d.concurrency,
            d.ops_per_second,
            d.p99_ms
        );
    }

    let _ = writeln!(md, "\n## Concurrency sweep (closed loop)\n");
    let _ = writeln!(
        md,
        "| operation | clients | ops/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU | bench CPU |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for w in r.sweep.iter().chain(&r.open_loop) {
        let clients = match w.target_rate {
            Some(rate) => format!("open {rate:.0}/s"),
            None => w.concurrency.to_string(),
        };
        let _ = writeln!(
            md,
            "| {} | {clients} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {:.2} | {:.2} |",
            w.op.key(),
            w.throughput,
            w.p50_ms,
            w.p90_ms,
            w.p99_ms,
            w.max_ms,
            w.errors,
            w.server_cpu,
            w.bench_cpu
        );
    }
    let first_errors: Vec<String> = r
        .sweep
        .iter()
        .chain(&r.open_loop)
        .filter_map(|w| {
            w.first_error
                .as_ref()
                .map(|e| format!("- {} ({}): {e}", w.op.key(), w.concurrency))
        })
        .collect();
    if !first_errors.is_empty() {
        let _ = writeln!(
            md,
            "\nFirst error per window:\n\n{}",
            first_errors.join("\n")
        );
    }
    let _ = writeln!(
        md,
        "\nServer CPU and bench CPU are CPU seconds per wall second (2.00 = two cores busy)."
    );
    md
}

/// Throughput (left) and p99 (right) against concurrency, one line per operation.
pub fn plot(r: &Report, path: &Path) -> anyhow::Result<()> {
    use plotters::prelude::*;
    let text = font_available();
    let root = BitMapBackend::new(path, (1400, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(700);
    let levels: Vec<usize> = {
        let mut v: Vec<usize> = r.sweep.iter().map(|w| w.concurrency).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let x_max = levels.len().saturating_sub(1).max(1) as f64;
    let index = |c: usize| levels.iter().position(|l| *l == c).unwrap_or(0) as f64;
    let colors = [
        RED,
        BLUE,
        GREEN,
        MAGENTA,
        CYAN,
        BLACK,
        RGBColor(230, 140, 0),
    ];
    for (area, title, pick) in [
        (
            &left,
            "throughput (ops/s) vs clients",
            (|w: &Window| w.throughput) as fn(&Window) -> f64,
        ),
        (&right, "p99 latency (ms) vs clients", |w: &Window| w.p99_ms),
    ] {
        let y_max = r.sweep.iter().map(pick).fold(1.0_f64, f64::max) * 1.1;
        let mut builder = ChartBuilder::on(area);
        builder.margin(15);
        if text {
            builder
                .caption(title, ("sans-serif", 20))
                .x_label_area_size(35)
                .y_label_area_size(60);
        }
        let mut chart = builder.build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
        let x_label = |x: &f64| {
            levels
                .get(x.round().max(0.0) as usize)
                .map_or(String::new(), |c| c.to_string())
        };
        let mut mesh = chart.configure_mesh();
        if text {
            mesh.x_labels(levels.len())
                .x_label_formatter(&x_label)
                .x_desc("clients");
        } else {
            mesh.disable_x_mesh().disable_y_mesh();
        }
        mesh.draw()?;
        for (op, color) in Op::ALL.iter().zip(colors.iter()) {
            let points: Vec<(f64, f64)> = r
                .sweep
                .iter()
                .filter(|w| w.op == *op)
                .map(|w| (index(w.concurrency), pick(w)))
                .collect();
            let series = chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?;
            if text {
                series.label(op.key()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
        }
        if text {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()?;
        }
    }
    root.present().context("writing the PNG")?;
    Ok(())
}

/// Registers a system TrueType font for the plot's text; without one the plot has no text.
pub fn font_available() -> bool {
    use std::sync::OnceLock;
    static FONT: OnceLock<bool> = OnceLock::new();
    *FONT.get_or_init(|| {
        let candidates = [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf",
        ];
        candidates.iter().any(|path| {
            std::fs::read(path).ok().is_some_and(|bytes| {
                // The font must outlive the plot: it is read once per process.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font(
                    "sans-serif",
                    plotters::style::FontStyle::Normal,
                    bytes,
                )
                .is_ok()
            })
        })
    })
}
