//! What a wire carries, from the report's per-edge traffic (`Report::edges`): req/s in all and
//! per class, and what each of its edges is (a route's weight, a call's calls per request, a
//! retry's share of the drops). Shown when a wire is hovered and in the wire inspector; the
//! canvas sizes and animates wires by the same rates.

use super::super::{format, theme};
use crate::model::{Edge, EdgeKind, NodeId, Topology};
use crate::solver::report::{EdgeReport, Report};
use egui::{RichText, Ui};
use std::collections::HashMap;

/// The name the report gives an edge's kind.
fn kind_name(kind: &EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Route => "route",
        EdgeKind::Call(_) => "call",
        EdgeKind::Retry(_) => "retry",
    }
}

/// Every edge of the document from `from` to `to` with the report's figures for it. The n-th
/// such edge of the document is the n-th of the report where their kinds agree (the report
/// may be of the document before its last edit while a solve runs): otherwise `None`.
pub fn wire_edges<'a>(
    topology: &'a Topology,
    report: Option<&'a Report>,
    from: NodeId,
    to: NodeId,
) -> Vec<(&'a Edge, Option<&'a EdgeReport>)> {
    let reported: Vec<&EdgeReport> = report.map_or_else(Vec::new, |r| {
        r.edges
            .iter()
            .filter(|e| e.from == from && e.to == to)
            .collect()
    });
    topology
        .edges
        .iter()
        .filter(|e| e.from == from && e.to == to)
        .enumerate()
        .map(|(n, edge)| {
            let figures = reported
                .get(n)
                .copied()
                .filter(|figures| figures.kind == kind_name(&edge.kind));
            (edge, figures)
        })
        .collect()
}

/// Req/s along every wire (a pair of nodes), summed over its edges, as the report has them.
pub fn wire_rates(report: Option<&Report>) -> HashMap<(NodeId, NodeId), f64> {
    let mut rates = HashMap::new();
    for edge in report.map_or(&[][..], |r| &r.edges) {
        *rates.entry((edge.from, edge.to)).or_insert(0.0) += edge.rps;
    }
    rates
}

/// Lists what the wire from `from` to `to` carries: req/s in all, per class (in the plots'
/// class colours; classes it carries none of are left out), and each edge's kind with its
/// figures. Reads the document and the report only.
pub fn show(ui: &mut Ui, topology: &Topology, report: Option<&Report>, from: NodeId, to: NodeId) {
    let edges = wire_edges(topology, report, from, to);
    let known: Vec<&EdgeReport> = edges.iter().filter_map(|(_, figures)| *figures).collect();
    let Some(report) = report.filter(|_| !known.is_empty()) else {
        for (edge, _) in &edges {
            ui.label(edge_kind(topology, report, edge, None));
        }
        ui.label(
            RichText::new("No traffic figures until the design solves.").color(theme::muted_text()),
        );
        return;
    };
    let total: f64 = known.iter().map(|e| e.rps).sum();
    ui.label(RichText::new(format!("carries {} in all", format::rate(total))).strong());
    for (index, class) in report.classes.iter().enumerate() {
        let rate: f64 = known.iter().filter_map(|e| e.class_rps.get(index)).sum();
        if format::rate_is_zero(rate) {
            continue;
        }
        ui.label(
            RichText::new(format!("■ {}: {}", class.name, format::rate(rate)))
                .color(theme::class_color(index)),
        );
    }
    for (edge, figures) in &edges {
        ui.label(edge_kind(topology, Some(report), edge, *figures));
    }
}

/// One edge in words: its kind with its parameter, the classes it carries and, where the
/// report has them, its figures (for calls the requests making them, for retries the drops
/// they come from).
fn edge_kind(
    topology: &Topology,
    report: Option<&Report>,
    edge: &Edge,
    figures: Option<&EdgeReport>,
) -> String {
    let classes = if edge.classes.is_empty() {
        "the target's default classes".to_owned()
    } else {
        edge.classes
            .iter()
            .map(|c| c.label())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rate = figures.map(|f| f.rps);
    let kind = match (edge.kind, rate) {
        (EdgeKind::Route, _) => format!("route, weight {}", format::number(edge.weight)),
        (EdgeKind::Call(n), None) => format!("call, {n} calls per request"),
        (EdgeKind::Call(n), Some(rps)) => format!(
            "call, {n} calls per request ({} × {n})",
            format::rate(rps / f64::from(n.max(1)))
        ),
        (EdgeKind::Retry(share), _) => {
            let source = topology.node(edge.from).map_or("?", |n| n.name.as_str());
            let dropped = report
                .and_then(|r| r.node(edge.from))
                .map(|f| format!(" (of {} dropped)", format::rate(f.dropped_rps)))
                .unwrap_or_default();
            format!(
                "retry, sends again {} of what {source} drops{dropped}",
                format::percent(share, 0)
            )
        }
    };
    match rate {
        Some(rps) => format!("{kind}: {} of {classes}", format::rate(rps)),
        None => format!("{kind}: carries {classes}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::presets;

    #[test]
    fn wire_rates_sum_the_edges_of_each_pair_as_the_report_gives_them() {
        let topology = presets::find("stage-3-cache")
            .expect("preset")
            .load()
            .expect("loads");
        let report = crate::solver::solve(&topology, &Default::default()).expect("solves");
        let rates = wire_rates(Some(&report));
        // 7M requests a day at 3× peak: 243.06 req/s, 90% reads, each read calls Redis 4×.
        let peak = 7e6 / 86_400.0 * 3.0;
        assert!((rates[&(1, 2)] - peak).abs() < 1e-6);
        assert!((rates[&(2, 3)] - peak * 0.9 * 4.0).abs() < 1e-6);
        assert!((rates[&(2, 4)] - peak * 0.1).abs() < 1e-6);
        // Redis misses 10% of the calls: they go on to Postgres.
        assert!((rates[&(3, 4)] - peak * 0.9 * 4.0 * 0.1).abs() < 1e-6);
        let edges = wire_edges(&topology, Some(&report), 2, 3);
        assert_eq!(edges.len(), 1);
        assert_eq!(edges[0].1.map(|f| f.kind), Some("call"));
        assert!(wire_rates(None).is_empty());
    }

    #[test]
    fn a_report_of_another_document_gives_no_figures_to_edges_whose_kind_changed() {
        let mut topology = presets::find("stage-3-cache")
            .expect("preset")
            .load()
            .expect("loads");
        let report = crate::solver::solve(&topology, &Default::default()).expect("solves");
        for edge in topology
            .edges
            .iter_mut()
            .filter(|e| (e.from, e.to) == (2, 3))
        {
            edge.kind = EdgeKind::Route;
        }
        let edges = wire_edges(&topology, Some(&report), 2, 3);
        assert_eq!(edges.len(), 1);
        assert!(edges[0].1.is_none());
    }

    #[test]
    fn a_retry_tells_its_share_of_the_drops_beside_a_call_on_the_same_wire() {
        let mut topology = presets::find("stage-3-cache")
            .expect("preset")
            .load()
            .expect("loads");
        // The app server without waiting places turns requests away; half of them are sent
        // again to Postgres, on the wire that already carries the writes.
        let app = topology.nodes.iter_mut().find(|n| n.id == 2).expect("app");
        app.queue_limit = Some(0);
        topology
            .edges
            .push(Edge::of_kind(2, 4, EdgeKind::Retry(0.5)));
        topology.normalize();
        let report = crate::solver::solve(&topology, &Default::default()).expect("solves");
        let dropped = report.node(2).expect("app solved").dropped_rps;
        assert!(dropped > 1.0, "{dropped}");
        let edges = wire_edges(&topology, Some(&report), 2, 4);
        assert_eq!(edges.len(), 2);
        let (retry, figures) = edges
            .iter()
            .find(|(e, _)| matches!(e.kind, EdgeKind::Retry(_)))
            .expect("the retry edge");
        let figures = figures.expect("figures for the retry");
        assert!((figures.rps - 0.5 * dropped).abs() < 1e-9 * dropped.max(1.0));
        let text = edge_kind(&topology, Some(&report), retry, Some(figures));
        assert!(
            text.starts_with(&format!(
                "retry, sends again 50% of what App server drops (of {} dropped)",
                format::rate(dropped)
            )) && text.ends_with(&format!(
                ": {} of the target's default classes",
                format::rate(figures.rps)
            )),
            "{text}"
        );
        let sum: f64 = edges.iter().filter_map(|(_, f)| f.map(|f| f.rps)).sum();
        assert!((wire_rates(Some(&report))[&(2, 4)] - sum).abs() < 1e-9);
    }
}
