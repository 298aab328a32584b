//! Two designs side by side: what changed between a baseline and a current design, from their
//! models and their solved reports (cost, latency, availability, bottleneck, node by node).

use crate::model::units::{grouped, shown_value};
use crate::model::{Node, Topology};
use crate::solver::report::{NodeReport, Report};
use serde::Serialize;
use std::fmt::Write as _;

/// A figure before and after.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Change {
    pub before: f64,
    pub after: f64,
    /// after − before.
    pub change: f64,
}

impl Change {
    pub fn new(before: f64, after: f64) -> Change {
        Change {
            before,
            after,
            change: after - before,
        }
    }

    /// A change that exists only when both sides have the figure.
    fn both(before: Option<f64>, after: Option<f64>) -> Option<Change> {
        Some(Change::new(before?, after?))
    }
}

/// One request class in both designs (matched by name).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassChange {
    pub name: String,
    /// `None` when the class exists on one side only.
    pub mean_ms: Option<Change>,
    pub p99_ms: Option<Change>,
    pub availability: Option<Change>,
    pub downtime_min_per_month: Option<Change>,
    pub served_rps: Option<Change>,
    /// "only in the baseline" / "only in the current design" / empty.
    pub presence: String,
}

/// How a node differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum NodeState {
    Added,
    Removed,
    Changed,
    Same,
}

/// One node in both designs: matched by id when the kind is the same, else by name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeChange {
    pub state: NodeState,
    /// The node's name in the current design (the baseline's when removed).
    pub name: String,
    pub before_id: Option<u32>,
    pub after_id: Option<u32>,
    /// Model fields that differ, e.g. `instances: 1 → 3`.
    pub fields: Vec<String>,
    pub utilization: Option<Change>,
    pub p99_ms: Option<Change>,
    pub monthly_cost_usd: Option<Change>,
    pub tier_availability: Option<Change>,
}

/// Everything that differs between a baseline and a current design.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub baseline: String,
    pub current: String,
    pub monthly_cost_usd: Change,
    pub availability: Change,
    pub downtime_min_per_month: Change,
    pub offered_rps: Change,
    pub served_rps: Change,
    /// Highest p99 of any class.
    pub worst_p99_ms: Change,
    pub headroom: Option<Change>,
    pub bottleneck_before: Option<String>,
    pub bottleneck_after: Option<String>,
    pub classes: Vec<ClassChange>,
    /// Nodes that differ (added, removed or changed), then unchanged ones.
    pub nodes: Vec<NodeChange>,
}

impl Comparison {
    /// Whether the bottleneck is a different node.
    pub fn bottleneck_moved(&self) -> bool {
        self.bottleneck_before != self.bottleneck_after
    }
}

/// Compares a baseline design and its report with a current design and its report.
pub fn compare(baseline: (&Topology, &Report), current: (&Topology, &Report)) -> Comparison {
    let (before_model, before) = baseline;
    let (after_model, after) = current;
    let classes = class_changes(before, after);
    Comparison {
        baseline: before_model.name.clone(),
        current: after_model.name.clone(),
        monthly_cost_usd: Change::new(before.monthly_cost_usd, after.monthly_cost_usd),
        availability: Change::new(before.availability, after.availability),
        downtime_min_per_month: Change::new(
            before.downtime_min_per_month,
            after.downtime_min_per_month,
        ),
        offered_rps: Change::new(before.offered_rps, after.offered_rps),
        served_rps: Change::new(before.served_rps, after.served_rps),
        worst_p99_ms: Change::new(before.worst_p99_ms(), after.worst_p99_ms()),
        headroom: Change::both(before.headroom, after.headroom),
        bottleneck_before: before.bottleneck.as_ref().map(|b| b.name.clone()),
        bottleneck_after: after.bottleneck.as_ref().map(|b| b.name.clone()),
        classes,
        nodes: node_changes(before_model, before, after_model, after),
    }
}

fn class_changes(before: &Report, after: &Report) -> Vec<ClassChange> {
    let mut names: Vec<&str> = before
        .classes
        .iter()
        .chain(&after.classes)
        .map(|c| c.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let (b, a) = (before.class(name), after.class(name));
            let pick = |f: fn(&crate::solver::report::ClassReport) -> f64| {
                Change::both(b.map(f), a.map(f))
            };
            ClassChange {
                name: name.to_string(),
                mean_ms: pick(|c| c.latency_ms.mean),
                p99_ms: pick(|c| c.latency_ms.p99),
                availability: pick(|c| c.availability),
                downtime_min_per_month: pick(|c| c.downtime_min_per_month),
                served_rps: pick(|c| c.served_rps),
                presence: match (b, a) {
                    (Some(_), None) => "only in the baseline".into(),
                    (None, Some(_)) => "only in the current design".into(),
                    _ => String::new(),
                },
            }
        })
        .collect()
}

/// Pairs nodes: same id and kind first, then same name; the rest are added or removed.
fn pair_nodes<'a>(
    before: &'a Topology,
    after: &'a Topology,
) -> Vec<(Option<&'a Node>, Option<&'a Node>)> {
    let mut used_before = vec![false; before.nodes.len()];
    let mut pairs = Vec::new();
    let mut unpaired_after = Vec::new();
    for node in &after.nodes {
        let by_id = before
            .nodes
            .iter()
            .position(|b| b.id == node.id && b.kind.label() == node.kind.label());
        match by_id {
            Some(i) if !used_before[i] => {
                used_before[i] = true;
                pairs.push((Some(&before.nodes[i]), Some(node)));
            }
            _ => unpaired_after.push(node),
        }
    }
    for node in unpaired_after {
        let by_name =
            (0..before.nodes.len()).find(|&i| !used_before[i] && before.nodes[i].name == node.name);
        match by_name {
            Some(i) => {
                used_before[i] = true;
                pairs.push((Some(&before.nodes[i]), Some(node)));
            }
            None => pairs.push((None, Some(node))),
        }
    }
    // A kind that is left exactly once on each side is the same tier renamed (App server →
    // App servers).
    let (paired, unpaired): (Vec<_>, Vec<_>) = std::mem::take(&mut pairs)
        .into_iter()
        .partition(|(b, _)| b.is_some());
    pairs = paired;
    let unpaired: Vec<&Node> = unpaired.into_iter().filter_map(|(_, a)| a).collect();
    for node in &unpaired {
        let label = node.kind.label();
        let left_before: Vec<usize> = (0..before.nodes.len())
            .filter(|&i| !used_before[i] && before.nodes[i].kind.label() == label)
            .collect();
        let left_after = unpaired.iter().filter(|n| n.kind.label() == label).count();
        match (left_before.as_slice(), left_after) {
            ([i], 1) => {
                used_before[*i] = true;
                pairs.push((Some(&before.nodes[*i]), Some(*node)));
            }
            _ => pairs.push((None, Some(*node))),
        }
    }
    for (i, node) in before.nodes.iter().enumerate() {
        if !used_before[i] {
            pairs.push((Some(node), None));
        }
    }
    pairs
}

/// Model fields that differ between two nodes, as `field: before → after` (id, name and
/// canvas position aside).
fn field_changes(before: &Node, after: &Node) -> Vec<String> {
    let (Ok(serde_json::Value::Object(b)), Ok(serde_json::Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| key.as_str() != "id")
        .filter_map(|key| {
            let (x, y) = (b.get(key), a.get(key));
            (x != y).then(|| {
                let show = |v: Option<&serde_json::Value>| match v {
                    None | Some(serde_json::Value::Null) => omitted(key).to_string(),
                    Some(serde_json::Value::String(text)) => format!("\"{text}\""),
                    Some(other) => other.to_string(),
                };
                format!("{key}: {} to {}", show(x), show(y))
            })
        })
        .collect()
}

/// What a field left out of a saved node means (its default).
fn omitted(field: &str) -> &'static str {
    match field {
        "instances" | "concurrency" | "service_cv" => "1",
        "base_latency_ms"
        | "latency_cv"
        | "monthly_fee_usd"
        | "usd_per_million_requests"
        | "usd_per_gb"
        | "storage_gb" => "0",
        "pricing" => "OnDemand",
        "service_family" => "Gamma",
        "class_capacity_rps" => "the node's capacity for every class",
        "storage_tier" => "Hot",
        "availability" => "the catalog's default",
        "capacity_rps" => "no limit",
        "queue_limit" => "unlimited",
        _ => "none",
    }
}

fn node_changes(
    before_model: &Topology,
    before: &Report,
    after_model: &Topology,
    after: &Report,
) -> Vec<NodeChange> {
    let figures = |report: &Report, node: Option<&Node>| -> Option<NodeReport> {
        node.and_then(|n| report.node(n.id)).cloned()
    };
    let mut changes: Vec<NodeChange> = pair_nodes(before_model, after_model)
        .into_iter()
        .map(|(b, a)| {
            let (fb, fa) = (figures(before, b), figures(after, a));
            let pick =
                |f: fn(&NodeReport) -> f64| Change::both(fb.as_ref().map(f), fa.as_ref().map(f));
            let fields = match (b, a) {
                (Some(b), Some(a)) => field_changes(b, a),
                _ => Vec::new(),
            };
            let state = match (b, a) {
                (None, _) => NodeState::Added,
                (_, None) => NodeState::Removed,
                _ if fields.is_empty() => NodeState::Same,
                _ => NodeState::Changed,
            };
            NodeChange {
                state,
                name: a.or(b).map(|n| n.name.clone()).unwrap_or_default(),
                before_id: b.map(|n| n.id),
                after_id: a.map(|n| n.id),
                fields,
                utilization: pick(|n| n.utilization),
                p99_ms: pick(|n| n.latency_ms.p99),
                monthly_cost_usd: pick(|n| n.monthly_cost_usd),
                tier_availability: pick(|n| n.availability.tier),
            }
        })
        .collect();
    let rank = |state: NodeState| match state {
        NodeState::Changed => 0,
        NodeState::Added => 1,
        NodeState::Removed => 2,
        NodeState::Same => 3,
    };
    changes.sort_by_key(|c| (rank(c.state), c.after_id.or(c.before_id)));
    changes
}

/// A signed figure with its unit: "+$73.00", "−170.0 ms".
pub fn signed(value: f64, decimals: usize, prefix: &str, suffix: &str) -> String {
    let sign = if value > 0.0 {
        "+"
    } else if value < 0.0 {
        "−"
    } else {
        "±"
    };
    // Noise that rounds to nothing reads as no change.
    let sign = if shown_value(value, decimals) == 0.0 {
        "±"
    } else {
        sign
    };
    format!("{sign}{prefix}{}{suffix}", grouped(value.abs(), decimals))
}

/// The comparison as plain text for terminals.
pub fn to_text(comparison: &Comparison) -> String {
    let mut out = String::new();
    let c = comparison;
    let _ = writeln!(out, "baseline: {}\ncurrent:  {}\n", c.baseline, c.current);
    totals_text(c, &mut out);
    classes_text(c, &mut out);
    nodes_text(c, &mut out);
    out
}

/// The totals' lines (before → after and the change) and where the bottleneck went.
fn totals_text(c: &Comparison, out: &mut String) {
    let line = |out: &mut String,
                label: &str,
                change: &Change,
                show: &dyn Fn(f64) -> String,
                delta: String| {
        let _ = writeln!(
            out,
            "{label:<22} {:>16} → {:<16} {delta}",
            show(change.before),
            show(change.after)
        );
    };
    let money = |v: f64| format!("${}", grouped(v, 2));
    let percent = |v: f64| format!("{:.4}%", v * 100.0);
    let ms = |v: f64| format!("{} ms", grouped(v, 2));
    let minutes = |v: f64| format!("{v:.1} min");
    let rps = |v: f64| format!("{}/s", grouped(v, 1));
    line(
        out,
        "monthly cost",
        &c.monthly_cost_usd,
        &money,
        signed(c.monthly_cost_usd.change, 2, "$", "/month"),
    );
    line(
        out,
        "worst p99",
        &c.worst_p99_ms,
        &ms,
        signed(c.worst_p99_ms.change, 2, "", " ms"),
    );
    line(
        out,
        "availability",
        &c.availability,
        &percent,
        signed(c.availability.change * 100.0, 4, "", " points"),
    );
    line(
        out,
        "downtime a month",
        &c.downtime_min_per_month,
        &minutes,
        signed(c.downtime_min_per_month.change, 1, "", " min"),
    );
    line(
        out,
        "served",
        &c.served_rps,
        &rps,
        signed(c.served_rps.change, 1, "", " req/s"),
    );
    if let Some(headroom) = &c.headroom {
        line(
            out,
            "headroom",
            headroom,
            &|v| format!("x{v:.3}"),
            signed(headroom.change, 3, "x", ""),
        );
    }
    let none = || "none".to_string();
    if c.bottleneck_moved() {
        let _ = writeln!(
            out,
            "bottleneck moved from {} to {}",
            c.bottleneck_before.clone().unwrap_or_else(none),
            c.bottleneck_after.clone().unwrap_or_else(none)
        );
    } else {
        let _ = writeln!(
            out,
            "bottleneck still {}",
            c.bottleneck_after.clone().unwrap_or_else(none)
        );
    }
}

/// One line a class: its p99, mean and availability changes, or that it came or went.
fn classes_text(c: &Comparison, out: &mut String) {
    let _ = writeln!(out, "\nclasses");
    for class in &c.classes {
        if !class.presence.is_empty() {
            let _ = writeln!(out, "  {}: {}", class.name, class.presence);
            continue;
        }
        let mut parts = Vec::new();
        if let Some(p99) = &class.p99_ms {
            parts.push(format!(
                "p99 {:.2} → {:.2} ms ({})",
                p99.before,
                p99.after,
                signed(p99.change, 2, "", " ms")
            ));
        }
        if let Some(mean) = &class.mean_ms {
            parts.push(format!("mean {}", signed(mean.change, 2, "", " ms")));
        }
        if let Some(up) = &class.availability {
            parts.push(format!(
                "availability {}",
                signed(up.change * 100.0, 4, "", " points")
            ));
        }
        let _ = writeln!(out, "  {}: {}", class.name, parts.join(", "));
    }
}

/// One line a node that was added, removed or changed, then how many are unchanged.
fn nodes_text(c: &Comparison, out: &mut String) {
    let _ = writeln!(out, "\nnodes");
    for node in c.nodes.iter().filter(|n| n.state != NodeState::Same) {
        let mark = match node.state {
            NodeState::Added => "+ added",
            NodeState::Removed => "- removed",
            _ => "~ changed",
        };
        let mut parts = node.fields.clone();
        if let Some(u) = &node.utilization {
            parts.push(format!(
                "utilization {:.1}% → {:.1}%",
                u.before * 100.0,
                u.after * 100.0
            ));
        }
        if let Some(cost) = &node.monthly_cost_usd {
            if cost.change != 0.0 {
                parts.push(format!("cost {}", signed(cost.change, 2, "$", "/month")));
            }
        }
        let _ = writeln!(
            out,
            "  {mark} {}{}{}",
            node.name,
            if parts.is_empty() { "" } else { ": " },
            parts.join("; ")
        );
    }
    let same = c
        .nodes
        .iter()
        .filter(|n| n.state == NodeState::Same)
        .count();
    let _ = writeln!(out, "  ({same} nodes unchanged)");
}
