//! Exported charts and tables: PNGs decode at the chart size, SVGs parse as XML with titled,
//! labelled axes, CSV rows match the report; the CLI writes them all.

mod common;

use staircase::analysis::sweep::{load_multipliers, load_sweep};
use staircase::io::export::{self, Format, CHART_SIZE, CSV_HEADER};
use staircase::io::presets;
use staircase::{solve, Params};

fn stage_four() -> (staircase::Report, staircase::analysis::sweep::LoadSweep) {
    let topology = presets::find("stage-4-load-balancer")
        .unwrap()
        .load()
        .unwrap();
    let report = solve(&topology, &Params::default()).unwrap();
    let sweep = load_sweep(
        &topology,
        &Params::default(),
        &load_multipliers(report.headroom, 12),
    )
    .unwrap();
    (report, sweep)
}

/// The trimmed text of every <text> element of an SVG, which must parse as XML.
fn svg_texts(svg: &str) -> Vec<String> {
    let document = roxmltree::Document::parse(svg).expect("valid SVG/XML");
    document
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect()
}

#[test]
fn png_charts_decode_at_the_chart_size() {
    let (report, sweep) = stage_four();
    for bytes in [
        export::latency_png(&sweep, "latency").unwrap(),
        export::cost_png(&report, "cost").unwrap(),
    ] {
        let image = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).unwrap();
        assert_eq!((image.width(), image.height()), CHART_SIZE);
        // Not a blank canvas: the plot drew something besides the white background.
        let rgb = image.to_rgb8();
        let coloured = rgb.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        assert!(coloured > 10_000, "{coloured} drawn pixels");
    }
}

#[test]
fn svg_charts_parse_with_titles_and_axis_labels() {
    let (report, sweep) = stage_four();
    let latency = export::latency_svg(&sweep, "Stage 4: latency vs load").unwrap();
    let texts = svg_texts(&latency);
    for expected in [
        "Stage 4: latency vs load",
        "response time (ms)",
        "load multiplier (x design load)",
    ] {
        assert!(
            texts.iter().any(|t| t == expected),
            "missing {expected}: {texts:?}"
        );
    }
    assert!(texts.iter().any(|t| t.starts_with("knee")));
    assert!(texts.iter().any(|t| t == "users/read p99"));
    let cost = export::cost_svg(&report, "cost per tier").unwrap();
    let texts = svg_texts(&cost);
    for tier in &report.tiers {
        assert!(texts.contains(&tier.tier), "tier {} labelled", tier.tier);
        let label = format!("${:.0}", tier.monthly_cost_usd);
        assert!(texts.contains(&label), "{label} shown");
    }
}

#[test]
fn csv_rows_match_the_report() {
    let (report, _) = stage_four();
    let text = export::nodes_csv(&report).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(headers, CSV_HEADER);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), report.nodes.len());
    for (row, node) in rows.iter().zip(&report.nodes) {
        assert_eq!(row[0].parse::<u32>().unwrap(), node.id);
        assert_eq!(&row[1], node.name);
        assert_eq!(row[6].parse::<f64>().unwrap(), node.arrival_rps);
        assert_eq!(row[9].parse::<f64>().unwrap(), node.utilization);
        assert_eq!(row[12].parse::<f64>().unwrap(), node.connection_wait_ms);
        assert_eq!(row[16].parse::<f64>().unwrap(), node.latency_ms.p99);
        assert_eq!(row[17].parse::<f64>().unwrap(), node.monthly_cost_usd);
        assert_eq!(row[18].parse::<f64>().unwrap(), node.availability.instance);
        assert_eq!(row[19].parse::<u32>().unwrap(), node.availability.needed);
        assert_eq!(row[20].parse::<f64>().unwrap(), node.availability.tier);
    }
    let text = export::classes_csv(&report).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), report.classes.len());
    for (row, class) in rows.iter().zip(&report.classes) {
        assert_eq!(&row[0], class.name);
        assert_eq!(row[4].parse::<f64>().unwrap(), class.availability);
        assert_eq!(row[5].parse::<f64>().unwrap(), class.downtime_min_per_month);
        assert_eq!(&row[7], class.downtime_by_part[0].name);
    }
}

#[test]
fn cli_export_writes_every_format() {
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("charts");
    let preset = common::preset_path("stage-3-cache.ron");
    let export = |format: &str| {
        common::staircase(&[
            "export",
            &preset,
            "--out",
            out.to_str().unwrap(),
            "--format",
            format,
        ])
    };
    let (code, _, stderr) = export("png,svg,csv");
    assert_eq!(code, 0, "{stderr}");
    for name in [
        "latency.png",
        "cost.png",
        "latency.svg",
        "cost.svg",
        "nodes.csv",
        "classes.csv",
    ] {
        let path = out.join(format!("stage-3-cache-{name}"));
        assert!(path.metadata().unwrap().len() > 100, "{}", path.display());
    }
    // A bad format is refused with exit code 2.
    let (code, _, stderr) = export("gif");
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown format \"gif\""));
    assert!("png".parse::<Format>().is_ok());
}

#[test]
fn sweep_csv_has_the_throughput_curve() {
    let (_, sweep) = stage_four();
    let text = export::sweep_csv(&sweep).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "load");
    assert_eq!(&headers[2], "served_rps");
    assert!(headers.iter().any(|h| h == "users/read p99_ms"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), sweep.points.len());
    for (row, point) in rows.iter().zip(&sweep.points) {
        assert_eq!(row[0].parse::<f64>().unwrap(), point.load);
        assert_eq!(row[2].parse::<f64>().unwrap(), point.served_rps);
    }
    // Below the knee, throughput follows the offered load: 5,787 req/s per unit of load.
    let last = sweep.points.last().unwrap();
    assert!((last.served_rps - 5_787.037 * last.load).abs() < 0.01 * last.served_rps);
}

#[test]
fn timeline_chart_exports() {
    let topology = presets::find("stage-3-cache").unwrap().load().unwrap();
    let scenario = staircase::analysis::timeline::Scenario {
        duration_s: 3600.0,
        step_s: 300.0,
        ..Default::default()
    };
    let timeline = staircase::analysis::timeline::run(&topology, &scenario).unwrap();
    let svg = export::timeline_svg(&timeline, "a day").unwrap();
    let texts = svg_texts(&svg);
    for expected in [
        "a day",
        "time (hours)",
        "requests per second",
        "offered",
        "served",
        "dropped",
    ] {
        assert!(texts.iter().any(|t| t == expected), "missing {expected}");
    }
    let png = export::timeline_png(&timeline, "a day").unwrap();
    let image = image::load_from_memory(&png).unwrap();
    assert_eq!((image.width(), image.height()), CHART_SIZE);
}

#[test]
fn a_timeline_as_csv_has_a_row_per_step_with_its_backlog() {
    use staircase::analysis::generate::station;
    use staircase::analysis::timeline::{run, Scenario};
    use staircase::io::export::timeline_csv;
    use staircase::model::NodeKind;
    // M/M/4 at 25/s per server (capacity 100/s); 130/s for 60 s, then 70/s: the backlog
    // reaches (130 − 100) × 60 = 1,800 at 60 s.
    let topology = station(100.0, NodeKind::Service, 4, 25.0);
    let scenario = Scenario {
        profile: vec![(0.0, 1.3), (60.0, 0.7)],
        duration_s: 180.0,
        step_s: 1.0,
        diurnal: false,
        ..Scenario::default()
    };
    let timeline = run(&topology, &scenario).unwrap();
    let csv = timeline_csv(&timeline).unwrap();
    assert_eq!(csv.lines().count(), timeline.steps.len() + 1);
    let at_60 = csv.lines().nth(61).unwrap();
    assert!(at_60.starts_with("60,0.7,70,70,0,1800"), "{at_60}");
}
