//! The PNG: throughput and p99 of both servers against clients (A solid, B dashed, one colour
//! per operation), and below them the ratios A ÷ B with the target's line. Log scales: the
//! operations differ by orders of magnitude.

use std::path::Path;

use anyhow::Context as _;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::ops::CompareOp;
use super::report::{CompareReport, Side, Status, ratio};
use crate::report::font_available;

const COLORS: [RGBColor; 6] = [RED, BLUE, GREEN, MAGENTA, BLACK, RGBColor(230, 140, 0)];

/// One line: an operation's points on one server (or a ratio), dashed or not.
struct Line {
    op: Option<CompareOp>,
    color: RGBColor,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

pub fn plot(r: &CompareReport, path: &Path) -> anyhow::Result<()> {
    let root = BitMapBackend::new(path, (1400, 1000)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((2, 2));
    let levels = &r.clients;
    let x = |c: usize| levels.iter().position(|l| *l == c).unwrap_or(0) as f64;
    let name = |i: usize| r.servers.get(i).map_or("?", |s| s.name.as_str());
    let (a, b) = (name(0), name(1));

    // Points of one server's side, leaving out what was not measured.
    let side_points = |op: CompareOp, i: usize, pick: fn(&Side) -> f64| -> Vec<(f64, f64)> {
        r.cells
            .iter()
            .filter(|c| c.op == op)
            .filter_map(|c| {
                let s = c.sides.get(i)?;
                // A crashed side's few operations would read as a collapse: left out, the
                // table says what happened.
                (s.ops > 0 && matches!(s.status, Status::Ok)).then(|| (x(c.clients), pick(s)))
            })
            .collect()
    };
    let ratio_points = |op: CompareOp, pick: fn(&Side) -> f64| -> Vec<(f64, f64)> {
        r.cells
            .iter()
            .filter(|c| c.op == op)
            .filter_map(|c| {
                let (sa, sb) = (c.sides.first()?, c.sides.get(1)?);
                ratio(sa, sb, pick).map(|r| (x(c.clients), r))
            })
            .collect()
    };
    let ops: Vec<(CompareOp, RGBColor)> = CompareOp::ALL
        .into_iter()
        .filter(|op| r.cells.iter().any(|c| c.op == *op))
        .zip(COLORS)
        .collect();
    let absolute = |pick: fn(&Side) -> f64| -> Vec<Line> {
        ops.iter()
            .flat_map(|(op, color)| {
                [0, 1].map(|i| Line {
                    op: (i == 0).then_some(*op),
                    color: *color,
                    dashed: i == 1,
                    points: side_points(*op, i, pick),
                })
            })
            .collect()
    };
    let ratios = |pick: fn(&Side) -> f64| -> Vec<Line> {
        ops.iter()
            .map(|(op, color)| Line {
                op: Some(*op),
                color: *color,
                dashed: false,
                points: ratio_points(*op, pick),
            })
            .collect()
    };
    let target = r.target_ratio;
    let titles_and_lines = [
        (
            format!("ops/s vs clients ({a} solid, {b} dashed)"),
            absolute(|s| s.throughput),
            None,
        ),
        (
            format!("p99 ms vs clients ({a} solid, {b} dashed)"),
            absolute(|s| s.p99_ms),
            None,
        ),
        (
            format!("throughput {a} ÷ {b} (target {target:.1})"),
            ratios(|s| s.throughput),
            Some(target),
        ),
        (
            format!("p99 {a} ÷ {b} (target ≤ 1)"),
            ratios(|s| s.p99_ms),
            Some(1.0),
        ),
    ];
    for (area, (title, lines, hline)) in panels.iter().zip(titles_and_lines) {
        panel(area, &title, levels, &lines, hline)?;
    }
    root.present().context("writing the PNG")?;
    Ok(())
}

/// One log-scale chart of `lines`, with an optional horizontal reference line.
fn panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    levels: &[usize],
    lines: &[Line],
    hline: Option<f64>,
) -> anyhow::Result<()> {
    let text = font_available();
    let values = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(hline)
        .filter(|v| *v > 0.0);
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo <= hi {
        (lo / 1.5, hi * 1.5)
    } else {
        (0.1, 10.0)
    };
    let x_max = levels.len().saturating_sub(1).max(1) as f64;
    let mut builder = ChartBuilder::on(area);
    builder.margin(15);
    if text {
        builder
            .caption(title, ("sans-serif", 18))
            .x_label_area_size(35)
            .y_label_area_size(60);
    }
    let mut chart = builder.build_cartesian_2d(-0.1..x_max + 0.1, (lo..hi).log_scale())?;
    let x_label = |x: &f64| {
        let i = x.round();
        let exact = (x - i).abs() < 1e-6 && i >= 0.0;
        levels
            .get(i as usize)
            .filter(|_| exact)
            .map_or(String::new(), |c| c.to_string())
    };
    let mut mesh = chart.configure_mesh();
    if text {
        mesh.x_labels(levels.len().max(2))
            .x_label_formatter(&x_label)
            .x_desc("clients");
    } else {
        mesh.disable_x_mesh().disable_y_mesh();
    }
    mesh.draw()?;
    if let Some(y) = hline {
        let style = ShapeStyle::from(&BLACK.mix(0.5)).stroke_width(1);
        chart.draw_series(DashedLineSeries::new(
            vec![(-0.1, y), (x_max + 0.1, y)],
            4,
            4,
            style,
        ))?;
    }
    for line in lines {
        let style = line.color.stroke_width(2);
        let points = line.points.iter().copied().filter(|p| p.1 > 0.0);
        if line.dashed {
            chart.draw_series(DashedLineSeries::new(points, 8, 6, style))?;
        } else {
            let series = chart.draw_series(LineSeries::new(points, style))?;
            if let (true, Some(op)) = (text, line.op) {
                let color = line.color;
                series.label(op.key()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
        }
        chart.draw_series(
            line.points
                .iter()
                .filter(|p| p.1 > 0.0)
                .map(|p| Circle::new(*p, 3, line.color.filled())),
        )?;
    }
    if text {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
    }
    Ok(())
}
