//! Exports: the latency-versus-load and cost-per-tier charts as PNG or SVG (plotters, with the
//! app's bundled font, no system font libraries), the per-node report and the load sweep
//! (throughput and percentiles against load) as CSV. Every file is
//! written to a temporary name and renamed into place.

mod text;

use crate::analysis::sweep::LoadSweep;
use crate::io::document::write_atomically;
use crate::solver::report::Report;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Chart size in pixels.
pub const CHART_SIZE: (u32, u32) = (1000, 600);

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "png" => Ok(Format::Png),
            "svg" => Ok(Format::Svg),
            "csv" => Ok(Format::Csv),
            other => Err(format!(
                "unknown format \"{other}\"; expected png, svg or csv"
            )),
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot draw {chart}: {message}")]
    Draw {
        chart: &'static str,
        message: String,
    },
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Write(#[from] crate::io::document::DocumentError),
    #[error("{path}: cannot create the folder: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
}

fn draw_error(chart: &'static str) -> impl Fn(String) -> ExportError {
    move |message| ExportError::Draw { chart, message }
}

/// An axis range plotters can divide into ticks: finite ends and a width that is not lost in
/// rounding (a non-finite or zero-width range makes its tick search loop without end).
fn axis_range(range: std::ops::Range<f64>) -> std::ops::Range<f64> {
    const LARGEST: f64 = 1e15;
    let start = if range.start.is_finite() {
        range.start.clamp(-LARGEST, LARGEST)
    } else {
        0.0
    };
    let end = if range.end.is_finite() {
        range.end.clamp(-LARGEST, LARGEST)
    } else {
        start + 1.0
    };
    let least_width = 1e-9 * start.abs().max(end.abs()).max(1e-3);
    if end - start >= least_width {
        start..end
    } else {
        start..start + least_width.max(1e-3)
    }
}

/// Makes the bundled font available to the plotting backends (once): the bitmap backend
/// draws with it, and the SVG backend measures text with it.
fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and known to parse; a failure would only mean no text.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// The colours of the charts' series (matching the app's p50 and p99 lines).
const P50: RGBColor = RGBColor(40, 110, 220);
/// One colour per request class, in charts and in the app's plots (its theme module builds
/// its plot palette from this list): Okabe–Ito hues first, told apart with red–green colour
/// blindness too.
pub const CLASS_RGB: [(u8, u8, u8); 10] = [
    (86, 180, 233),
    (230, 159, 0),
    (0, 158, 115),
    (204, 121, 167),
    (240, 228, 66),
    (213, 94, 0),
    (0, 114, 178),
    (170, 170, 170),
    (148, 103, 189),
    (140, 86, 75),
];

/// The chart colour of class number `index`.
fn class_color(index: usize) -> RGBColor {
    let (r, g, b) = CLASS_RGB[index % CLASS_RGB.len()];
    RGBColor(r, g, b)
}

/// How a percentile's line is drawn: p50 solid, p95 dashed, p99 dotted (charts and plots).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
}

/// A tick label in SI units for marks about `step` apart: "600k", "1.5M", "250", "0.25".
///
/// ```
/// assert_eq!(staircase::io::export::si_tick(600_000.0, 100_000.0), "600k");
/// assert_eq!(staircase::io::export::si_tick(1_500_000.0, 500_000.0), "1.5M");
/// assert_eq!(staircase::io::export::si_tick(1_000_000.0, 500_000.0), "1M");
/// assert_eq!(staircase::io::export::si_tick(500_000.0, 500_000.0), "500k");
/// assert_eq!(staircase::io::export::si_tick(0.25, 0.05), "0.25");
/// ```
pub fn si_tick(value: f64, step: f64) -> String {
    let step = if step.is_finite() && step > 0.0 {
        step
    } else {
        1.0
    };
    // The prefix follows the value's magnitude, the decimals the step ("500k", "1.5M").
    let (unit, suffix) = [(1e9, "G"), (1e6, "M"), (1e3, "k")]
        .into_iter()
        .find(|(unit, _)| value.abs() >= *unit && step >= unit / 1000.0)
        .unwrap_or((1.0, ""));
    let decimals = if step / unit < 1.0 {
        (-(step / unit).log10()).ceil().clamp(0.0, 6.0) as usize
    } else {
        0
    };
    let shown = value / unit;
    if shown.abs() < 0.5 * 10f64.powi(-(decimals as i32)) {
        return "0".to_owned();
    }
    let mut text = format!("{shown:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    format!("{text}{suffix}")
}

/// The step between the about ten ticks plotters puts on an axis spanning `span`.
fn tick_step(span: f64) -> f64 {
    let rough = (span / 10.0).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * magnitude)
}
const KNEE: RGBColor = RGBColor(200, 30, 30);
const BAR: RGBColor = RGBColor(70, 160, 100);

/// A chart with f64 axes on both sides.
type LineChart<'a, DB> = ChartContext<
    'a,
    DB,
    plotters::coord::cartesian::Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// The frame shared by the line charts: white background, title, labelled axes and grid.
fn line_chart<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    (x_desc, y_desc): (&str, &str),
) -> Result<LineChart<'a, DB>, String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (x_step, y_step) = (tick_step(x.end - x.start), tick_step(y.end - y.start));
    let mut builder = ChartBuilder::on(root);
    if !title.is_empty() {
        builder.caption(title, ("sans-serif", 26));
    }
    let mut chart = builder
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(axis_range(x), axis_range(y))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| si_tick(*v, x_step))
        .y_label_formatter(&|v| si_tick(*v, y_step))
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// Draws `series` as a line labelled `label`, with a matching swatch in the legend.
fn draw_labelled_line<'a, DB: DrawingBackend + 'a>(
    chart: &mut LineChart<'a, DB>,
    series: Vec<(f64, f64)>,
    style: ShapeStyle,
    label: impl Into<String>,
) -> Result<(), String> {
    // A point the chart cannot place is left out rather than handed to the backend.
    let series = series
        .into_iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    chart
        .draw_series(LineSeries::new(series, style))
        .map_err(|e| e.to_string())?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    Ok(())
}

/// Draws `series` in `color` as a solid, dashed or dotted line labelled `label`, with a
/// matching sample in the legend.
fn draw_dashed_line<'a, DB: DrawingBackend + 'a>(
    chart: &mut LineChart<'a, DB>,
    series: Vec<(f64, f64)>,
    color: RGBColor,
    dash: Dash,
    label: impl Into<String>,
) -> Result<(), String> {
    let style = color.stroke_width(2);
    match dash {
        Dash::Solid => draw_labelled_line(chart, series, style, label)?,
        Dash::Dashed => {
            chart
                .draw_series(DashedLineSeries::new(series, 10, 6, style))
                .map_err(|e| e.to_string())?
                .label(label)
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (8, 0)], style)
                        + PathElement::new(vec![(13, 0), (20, 0)], style)
                });
        }
        Dash::Dotted => {
            chart
                .draw_series(DottedLineSeries::new(series, 0, 7, move |c| {
                    Circle::new(c, 2, color.filled())
                }))
                .map_err(|e| e.to_string())?
                .label(label)
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + Circle::new((2, 0), 2, color.filled())
                        + Circle::new((10, 0), 2, color.filled())
                        + Circle::new((18, 0), 2, color.filled())
                });
        }
    }
    Ok(())
}

/// Width of the legend column right of the latency chart, pixels.
const LEGEND_WIDTH: i32 = 270;

/// A legend in its own column: a sample of each line (solid, dashed, dotted) and its label.
fn draw_side_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(String, RGBColor, Dash)],
) -> Result<(), String> {
    let height = area.dim_in_pixel().1 as i32;
    let row = ((height - 80) / entries.len().max(1) as i32).clamp(12, 22);
    let font = ("sans-serif", (row - 6).clamp(10, 15)).into_font();
    for (index, (label, color, dash)) in entries.iter().enumerate() {
        let y = 60 + index as i32 * row;
        let style = color.stroke_width(2);
        let drawn = match dash {
            Dash::Solid => area.draw(&PathElement::new(vec![(6, y), (30, y)], style)),
            Dash::Dashed => area
                .draw(&PathElement::new(vec![(6, y), (14, y)], style))
                .and_then(|_| area.draw(&PathElement::new(vec![(20, y), (30, y)], style))),
            Dash::Dotted => [8, 18, 28]
                .into_iter()
                .try_for_each(|x| area.draw(&Circle::new((x, y), 2, color.filled()))),
        };
        drawn.map_err(|e| e.to_string())?;
        area.draw(&Text::new(
            label.clone(),
            (38, y),
            TextStyle::from(font.clone()).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Left,
                plotters::style::text_anchor::VPos::Center,
            )),
        ))
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The legend of a line chart, top left.
fn draw_legend<'a, DB: DrawingBackend + 'a>(chart: &mut LineChart<'a, DB>) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(|e| e.to_string())
}

/// Draws latency (p50, p95, p99 per class) against load multiplier, with the knee marked.
fn draw_latency<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    sweep: &LoadSweep,
    title: &str,
) -> Result<(), String> {
    let max_load = sweep
        .points
        .iter()
        .map(|p| p.load)
        .fold(0.0, f64::max)
        .max(sweep.knee.unwrap_or(0.0) * 1.05)
        .max(1e-3);
    let max_ms = sweep
        .points
        .iter()
        .flat_map(|p| p.classes.iter().map(|c| c.p99_ms))
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.1;
    // Seconds once the slowest percentile passes two seconds, else milliseconds.
    let (unit_ms, y_desc) = if max_ms >= 2000.0 {
        (1000.0, "response time (s)")
    } else {
        (1.0, "response time (ms)")
    };
    let top = max_ms / unit_ms;
    // The legend goes right of the plot, never over the curves.
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    // The title spans the whole chart, centred; plot and legend share the rest.
    let below_title = root
        .titled(title, ("sans-serif", 26))
        .map_err(|e| e.to_string())?;
    let (plot_area, legend_area) =
        below_title.split_horizontally(CHART_SIZE.0 as i32 - LEGEND_WIDTH);
    let mut entries = Vec::new();
    let mut chart = line_chart(
        &plot_area,
        "",
        0.0..max_load,
        0.0..top,
        ("load multiplier (x design load)", y_desc),
    )?;
    let class_count = sweep.points.first().map_or(0, |p| p.classes.len());
    for index in 0..class_count {
        let name = sweep.points[0].classes[index].name.clone();
        for (label, dash, pick) in [
            (
                "p50",
                Dash::Solid,
                (|c: &crate::analysis::sweep::ClassPoint| c.p50_ms) as fn(&_) -> f64,
            ),
            ("p95", Dash::Dashed, |c| c.p95_ms),
            ("p99", Dash::Dotted, |c| c.p99_ms),
        ] {
            let series: Vec<(f64, f64)> = sweep
                .points
                .iter()
                .filter_map(|p| p.classes.get(index).map(|c| (p.load, pick(c) / unit_ms)))
                .collect();
            let label = format!("{name} {label}");
            entries.push((label.clone(), class_color(index), dash));
            draw_dashed_line(&mut chart, series, class_color(index), dash, label)?;
        }
    }
    if let Some(knee) = sweep.knee {
        draw_labelled_line(
            &mut chart,
            vec![(knee, 0.0), (knee, top)],
            KNEE.stroke_width(2),
            format!("knee: bottleneck at utilization 1 (x{knee:.2})"),
        )?;
    }
    if let Some(knee) = sweep.knee {
        entries.push((
            format!("knee: utilization 1 at x{knee:.2}"),
            KNEE,
            Dash::Solid,
        ));
    }
    draw_side_legend(&legend_area, &entries)?;
    root.present().map_err(|e| e.to_string())
}

/// Draws the monthly cost of each tier as bars.
fn draw_cost<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    report: &Report,
    title: &str,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let tiers = &report.tiers;
    let max_cost = tiers
        .iter()
        .map(|t| t.monthly_cost_usd)
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.15;
    let names: Vec<String> = tiers.iter().map(|t| t.tier.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(
            -0.5..(tiers.len() as f64 - 0.5).max(0.5),
            axis_range(0.0..max_cost),
        )
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(tiers.len().max(1))
        .x_label_formatter(&|x| {
            let index = x.round();
            if (x - index).abs() < 1e-6 && index >= 0.0 {
                names.get(index as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc("tier")
        .y_desc("monthly cost (USD)")
        .y_label_formatter(&|v| format!("${}", si_tick(*v, tick_step(max_cost))))
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(tiers.iter().enumerate().map(|(i, tier)| {
            let x = i as f64;
            Rectangle::new(
                [(x - 0.35, 0.0), (x + 0.35, tier.monthly_cost_usd)],
                BAR.filled(),
            )
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(tiers.iter().enumerate().map(|(i, tier)| {
            Text::new(
                format!("${:.0}", tier.monthly_cost_usd),
                (i as f64, tier.monthly_cost_usd + max_cost * 0.02),
                TextStyle::from(("sans-serif", 16).into_font()).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Bottom,
                    ),
                ),
            )
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Draws offered, served and dropped req/s and the backlog-adjusted p99 over a timeline.
fn draw_timeline<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    timeline: &crate::analysis::timeline::Timeline,
    title: &str,
) -> Result<(), String> {
    let hours = |t: f64| t / 3600.0;
    let end = timeline
        .steps
        .last()
        .map_or(1.0, |s| hours(s.t_s))
        .max(1e-3);
    let top = timeline
        .steps
        .iter()
        .map(|s| s.offered_rps.max(s.served_rps))
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.1;
    let mut chart = line_chart(
        &root,
        title,
        0.0..end,
        0.0..top,
        ("time (hours)", "requests per second"),
    )?;
    for (label, color, pick) in [
        (
            "offered",
            P50,
            (|s: &crate::analysis::timeline::Step| s.offered_rps) as fn(&_) -> f64,
        ),
        ("served", BAR, |s| s.served_rps),
        ("dropped", KNEE, |s| s.dropped_rps),
    ] {
        let series: Vec<(f64, f64)> = timeline
            .steps
            .iter()
            .map(|s| (hours(s.t_s), pick(s)))
            .collect();
        draw_labelled_line(&mut chart, series, color.stroke_width(2), label)?;
    }
    draw_legend(&mut chart)?;
    root.present().map_err(|e| e.to_string())
}

/// The timeline chart as SVG text.
pub fn timeline_svg(
    timeline: &crate::analysis::timeline::Timeline,
    title: &str,
) -> Result<String, ExportError> {
    register_font();
    let mut text = String::new();
    draw_timeline(
        SVGBackend::with_string(&mut text, CHART_SIZE).into_drawing_area(),
        timeline,
        title,
    )
    .map_err(draw_error("the timeline chart"))?;
    Ok(text)
}

/// The timeline chart as PNG bytes.
pub fn timeline_png(
    timeline: &crate::analysis::timeline::Timeline,
    title: &str,
) -> Result<Vec<u8>, ExportError> {
    png_bytes("the timeline chart", |area| {
        draw_timeline(area, timeline, title)
    })
}

/// Writes the timeline chart (PNG and SVG) and its CSV into `folder`; returns the paths.
pub fn export_timeline(
    timeline: &crate::analysis::timeline::Timeline,
    name: &str,
    folder: &Path,
    stem: &str,
) -> Result<Vec<PathBuf>, ExportError> {
    std::fs::create_dir_all(folder).map_err(|source| ExportError::Folder {
        path: folder.display().to_string(),
        source,
    })?;
    let title = format!("{name}: traffic over time");
    let files = [
        (
            format!("{stem}-timeline.png"),
            timeline_png(timeline, &title)?,
        ),
        (
            format!("{stem}-timeline.svg"),
            timeline_svg(timeline, &title)?.into_bytes(),
        ),
        (
            format!("{stem}-timeline.csv"),
            timeline_csv(timeline)?.into_bytes(),
        ),
    ];
    let mut written = Vec::new();
    for (file, bytes) in files {
        let path = folder.join(file);
        write_atomically(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// File stem and chart title name for exports of a document: the file's stem (or
/// "topology" when unsaved), and the topology's name (or that stem when it has none).
pub fn export_names(path: Option<&Path>, topology_name: &str) -> (String, String) {
    let stem = path.and_then(|p| p.file_stem()).map_or_else(
        || "topology".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let name = if topology_name.is_empty() {
        stem.clone()
    } else {
        topology_name.to_string()
    };
    (stem, name)
}

/// The latency-versus-load chart as SVG text.
pub fn latency_svg(sweep: &LoadSweep, title: &str) -> Result<String, ExportError> {
    register_font();
    let mut text = String::new();
    draw_latency(
        SVGBackend::with_string(&mut text, CHART_SIZE).into_drawing_area(),
        sweep,
        title,
    )
    .map_err(draw_error("the latency chart"))?;
    Ok(text)
}

/// The cost-per-tier chart as SVG text.
pub fn cost_svg(report: &Report, title: &str) -> Result<String, ExportError> {
    register_font();
    let mut text = String::new();
    draw_cost(
        SVGBackend::with_string(&mut text, CHART_SIZE).into_drawing_area(),
        report,
        title,
    )
    .map_err(draw_error("the cost chart"))?;
    Ok(text)
}

/// Renders with the bitmap backend (text drawn by [`text::EvenText`]) into an RGB buffer and
/// encodes it as PNG.
fn png_bytes(
    chart: &'static str,
    draw: impl FnOnce(DrawingArea<text::EvenText<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<Vec<u8>, ExportError> {
    register_font();
    let font =
        ab_glyph::FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).map_err(|e| {
            ExportError::Draw {
                chart,
                message: format!("the bundled font does not load: {e}"),
            }
        })?;
    let (width, height) = CHART_SIZE;
    let mut pixels = vec![0u8; (width * height * 3) as usize];
    let backend = text::EvenText::new(BitMapBackend::with_buffer(&mut pixels, CHART_SIZE), font);
    draw(backend.into_drawing_area()).map_err(draw_error(chart))?;
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&pixels, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| ExportError::Draw {
            chart,
            message: e.to_string(),
        })?;
    Ok(png)
}

use image::ImageEncoder;

/// The latency-versus-load chart as PNG bytes.
pub fn latency_png(sweep: &LoadSweep, title: &str) -> Result<Vec<u8>, ExportError> {
    png_bytes("the latency chart", |area| draw_latency(area, sweep, title))
}

/// The cost-per-tier chart as PNG bytes.
pub fn cost_png(report: &Report, title: &str) -> Result<Vec<u8>, ExportError> {
    png_bytes("the cost chart", |area| draw_cost(area, report, title))
}

/// A timeline as CSV: time, load, offered/served/dropped req/s, total backlog, live
/// instances of the autoscaled nodes, worst p99 and cost per hour.
pub fn timeline_csv(timeline: &crate::analysis::timeline::Timeline) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "t_s",
        "load",
        "offered_rps",
        "served_rps",
        "dropped_rps",
        "backlog",
        "instances",
        "worst_p99_ms",
        "cost_per_hour_usd",
    ])?;
    for step in &timeline.steps {
        writer.write_record([
            step.t_s.to_string(),
            step.load_multiplier.to_string(),
            step.offered_rps.to_string(),
            step.served_rps.to_string(),
            step.dropped_rps.to_string(),
            step.total_backlog().to_string(),
            step.instances
                .values()
                .map(|i| u64::from(*i))
                .sum::<u64>()
                .to_string(),
            step.worst_p99_ms
                .map_or_else(String::new, |p| p.to_string()),
            step.cost_per_hour_usd.to_string(),
        ])?;
    }
    csv_text(writer)
}

/// The text written into an in-memory CSV writer.
fn csv_text(writer: csv::Writer<Vec<u8>>) -> Result<String, csv::Error> {
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The CSV header of the per-node table.
pub const CSV_HEADER: [&str; 22] = [
    "id",
    "name",
    "kind",
    "tier",
    "instances",
    "servers",
    "arrival_rps",
    "throughput_rps",
    "dropped_rps",
    "utilization",
    "queue_len",
    "in_system",
    "connection_wait_ms",
    "mean_ms",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "monthly_cost_usd",
    "instance_availability",
    "instances_needed",
    "tier_availability",
    "region_availability",
];

/// The CSV header of the per-class availability table.
pub const CLASS_CSV_HEADER: [&str; 10] = [
    "class",
    "offered_rps",
    "mean_ms",
    "p99_ms",
    "availability",
    "downtime_min_per_month",
    "nines",
    "most_downtime",
    "most_downtime_min_per_month",
    "exact",
];

/// The per-node report as CSV text.
pub fn nodes_csv(report: &Report) -> Result<String, ExportError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_HEADER)?;
    for node in &report.nodes {
        writer.write_record([
            node.id.to_string(),
            node.name.clone(),
            node.kind.to_string(),
            node.tier.to_string(),
            node.instances.to_string(),
            node.servers.to_string(),
            node.arrival_rps.to_string(),
            node.throughput_rps.to_string(),
            node.dropped_rps.to_string(),
            node.utilization.to_string(),
            node.queue_len.to_string(),
            node.in_system.to_string(),
            node.connection_wait_ms.to_string(),
            node.latency_ms.mean.to_string(),
            node.latency_ms.p50.to_string(),
            node.latency_ms.p95.to_string(),
            node.latency_ms.p99.to_string(),
            node.monthly_cost_usd.to_string(),
            node.availability.instance.to_string(),
            node.availability.needed.to_string(),
            node.availability.tier.to_string(),
            node.availability.region.to_string(),
        ])?;
    }
    Ok(csv_text(writer)?)
}

/// Per class: latency, availability, downtime a month, nines and the part that costs the most
/// downtime, as CSV text.
pub fn classes_csv(report: &Report) -> Result<String, ExportError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CLASS_CSV_HEADER)?;
    for class in &report.classes {
        let worst = class.downtime_by_part.first();
        writer.write_record([
            class.name.clone(),
            class.offered_rps.to_string(),
            class.latency_ms.mean.to_string(),
            class.latency_ms.p99.to_string(),
            class.availability.to_string(),
            class.downtime_min_per_month.to_string(),
            class.nines.map_or_else(String::new, |n| n.to_string()),
            worst.map_or_else(String::new, |part| part.name.clone()),
            worst.map_or_else(String::new, |part| part.min_per_month.to_string()),
            class.availability_exact.to_string(),
        ])?;
    }
    Ok(csv_text(writer)?)
}

/// The load sweep as CSV: per load multiplier, offered, served and dropped req/s (the
/// throughput curve) and each class's p50/p95/p99.
pub fn sweep_csv(sweep: &LoadSweep) -> Result<String, ExportError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let names: Vec<String> = sweep
        .points
        .first()
        .map(|p| p.classes.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let mut header = vec![
        "load".to_string(),
        "offered_rps".to_string(),
        "served_rps".to_string(),
        "dropped_rps".to_string(),
    ];
    for name in &names {
        for level in ["p50_ms", "p95_ms", "p99_ms"] {
            header.push(format!("{name} {level}"));
        }
    }
    writer.write_record(&header)?;
    for point in &sweep.points {
        let mut row = vec![
            point.load.to_string(),
            point.offered_rps.to_string(),
            point.served_rps.to_string(),
            point.dropped_rps.to_string(),
        ];
        for class in &point.classes {
            row.extend([
                class.p50_ms.to_string(),
                class.p95_ms.to_string(),
                class.p99_ms.to_string(),
            ]);
        }
        writer.write_record(&row)?;
    }
    Ok(csv_text(writer)?)
}

/// Writes the charts and the CSV for `formats` into `folder`, named after `stem`; returns the
/// paths written.
pub fn export_all(
    report: &Report,
    sweep: &LoadSweep,
    name: &str,
    folder: &Path,
    stem: &str,
    formats: &[Format],
) -> Result<Vec<PathBuf>, ExportError> {
    std::fs::create_dir_all(folder).map_err(|source| ExportError::Folder {
        path: folder.display().to_string(),
        source,
    })?;
    let latency_title = format!("{name}: latency vs load");
    let cost_title = format!("{name}: monthly cost per tier");
    let mut written = Vec::new();
    let mut write = |file: String, bytes: &[u8]| -> Result<(), ExportError> {
        let path = folder.join(file);
        write_atomically(&path, bytes)?;
        written.push(path);
        Ok(())
    };
    for format in formats {
        match format {
            Format::Png => {
                write(
                    format!("{stem}-latency.png"),
                    &latency_png(sweep, &latency_title)?,
                )?;
                write(format!("{stem}-cost.png"), &cost_png(report, &cost_title)?)?;
            }
            Format::Svg => {
                write(
                    format!("{stem}-latency.svg"),
                    latency_svg(sweep, &latency_title)?.as_bytes(),
                )?;
                write(
                    format!("{stem}-cost.svg"),
                    cost_svg(report, &cost_title)?.as_bytes(),
                )?;
            }
            Format::Csv => {
                write(format!("{stem}-nodes.csv"), nodes_csv(report)?.as_bytes())?;
                write(
                    format!("{stem}-classes.csv"),
                    classes_csv(report)?.as_bytes(),
                )?;
                write(format!("{stem}-sweep.csv"), sweep_csv(sweep)?.as_bytes())?;
            }
        }
    }
    Ok(written)
}
