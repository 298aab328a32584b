//! The inspector: edits the selected node, the fields several selected nodes share, or the
//! selected wire. Every widget takes the model's whole valid range and never rewrites a value
//! the user did not change (no clamping on display).

use super::{panels::region_picker, theme, StaircaseApp};
use crate::model::catalog::Catalog;
use crate::model::checked::{
    MAX_CAPACITY, MAX_CONCURRENCY, MAX_INSTANCES, MAX_MONEY, MAX_QUEUE_LIMIT, MAX_STORAGE_GB,
    MIN_CAPACITY,
};
use crate::model::{
    ClassKind, Edge, EdgeKind, LbPolicy, Node, NodeId, NodeKind, Pricing, ServiceFamily,
    StorageTier,
};
use egui::{DragValue, RichText, Ui};
use std::ops::RangeInclusive;

/// A number field over `range`; a value outside it is shown as it is, never clamped.
fn number(ui: &mut Ui, value: &mut f64, range: RangeInclusive<f64>) -> egui::Response {
    let speed = (value.abs() * 0.01).max(0.001);
    ui.add(
        DragValue::new(value)
            .range(range)
            .speed(speed)
            .clamp_existing_to_range(false),
    )
}

/// A whole-number field over `range` (speed grows with the value, so 10,000 is reachable).
fn whole(ui: &mut Ui, value: &mut u32, range: RangeInclusive<u32>) -> egui::Response {
    let speed = (f64::from(*value) * 0.02).max(0.05);
    ui.add(
        DragValue::new(value)
            .range(range)
            .speed(speed)
            .clamp_existing_to_range(false),
    )
}

/// A share from 0 to 1, as a slider that never clamps what it shows.
fn share(ui: &mut Ui, value: &mut f64) -> egui::Response {
    ui.add(egui::Slider::new(value, 0.0..=1.0).clamping(egui::SliderClamping::Edits))
}

/// Whether a node kind queues (has instances, capacity, price); a Client only sends.
fn queues(kind: &NodeKind) -> bool {
    !matches!(kind, NodeKind::Client)
}

/// Edits the selection: one node, several nodes, or a wire.
pub fn inspector(app: &mut StaircaseApp, ui: &mut Ui) {
    ui.heading("Inspector");
    if let Some((from, to)) = app.selection.wire {
        wire_inspector(app, ui, from, to);
        return;
    }
    match app.selection.nodes.len() {
        0 => {
            ui.label("Click a node or a wire to edit it.");
            ui.label(
                RichText::new(
                    "Shift+click adds to the selection, Shift+drag selects an area, Ctrl+A \
                     selects all; Delete, Ctrl+C, Ctrl+V and Ctrl+D act on it.",
                )
                .small()
                .color(theme::muted_text()),
            );
        }
        1 => node_inspector(app, ui),
        _ => many_inspector(app, ui),
    }
}

fn node_inspector(app: &mut StaircaseApp, ui: &mut Ui) {
    let Some(id) = app.selection.single() else {
        return;
    };
    let regions = region_names(app);
    let Some(node) = app.topology.nodes.iter_mut().find(|n| n.id == id) else {
        return;
    };
    egui::Grid::new("inspector-grid")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Name");
            ui.text_edit_singleline(&mut node.name);
            ui.end_row();
            ui.label("Kind");
            ui.label(node.kind.label());
            ui.end_row();
            kind_fields(ui, &mut node.kind);
            if queues(&node.kind) {
                server_fields(ui, node);
                price_fields(ui, node);
                availability_fields(ui, node);
            }
            ui.label("Base latency");
            number(ui, &mut node.base_latency_ms, 0.0..=1e6).on_hover_text(
                "Fixed time added to every request here (network, disk, a third-party API).",
            );
            ui.end_row();
            ui.label("Latency cv");
            number(ui, &mut node.latency_cv, 0.0..=10.0).on_hover_text(
                "Variability of the base latency: 0 a constant delay; above 0 a random delay \
                 (gamma) with the base latency as its mean and this coefficient of variation.",
            );
            ui.end_row();
            if !regions.is_empty() {
                ui.label("Region");
                region_picker(ui, "node-region", &mut node.region, &regions);
                ui.end_row();
            }
        });
    if !queues(&node.kind) {
        ui.label(
            RichText::new("A client only sends traffic: its rate and mix are set in Workload.")
                .small()
                .color(theme::muted_text()),
        );
    }
    outgoing_wires(app, ui, id);
}

/// Instances, concurrency, capacity, queue limit and service variability.
fn server_fields(ui: &mut Ui, node: &mut Node) {
    ui.label("Instances");
    whole(ui, &mut node.instances, 1..=MAX_INSTANCES as u32)
        .on_hover_text("Identical instances (per shard for a shard group), 1 to 100,000.");
    ui.end_row();
    ui.label("Concurrency");
    whole(ui, &mut node.concurrency, 1..=MAX_CONCURRENCY as u32)
        .on_hover_text("Requests one instance works on at once (threads, cores).");
    ui.end_row();
    ui.label("Capacity");
    let mut limited = node.capacity_rps.is_some();
    ui.horizontal(|ui| {
        if ui.checkbox(&mut limited, "capacity limit").changed() {
            node.capacity_rps = if limited { Some(100.0) } else { None };
            if !limited {
                // Per-class capacities need the node to queue at all.
                node.class_capacity_rps.clear();
            }
        }
        if let Some(capacity) = node.capacity_rps.as_mut() {
            number(ui, capacity, MIN_CAPACITY..=MAX_CAPACITY);
            ui.label("req/s per instance");
        } else {
            ui.label("no queueing (pure delay)");
        }
    });
    ui.end_row();
    ui.label("Queue limit");
    let mut bounded = node.queue_limit.is_some();
    ui.horizontal(|ui| {
        if ui.checkbox(&mut bounded, "bounded").changed() {
            node.queue_limit = if bounded { Some(100) } else { None };
        }
        if let Some(limit) = node.queue_limit.as_mut() {
            whole(ui, limit, 0..=MAX_QUEUE_LIMIT as u32);
            ui.label("waiting");
        } else {
            ui.label("unlimited");
        }
    })
    .response
    .on_hover_text("A full queue drops new requests (M/M/c/K).");
    ui.end_row();
    ui.label("Service cv");
    number(ui, &mut node.service_cv, 0.0..=10.0).on_hover_text(
        "Coefficient of variation of the service time: 1 exponential, 0 constant \
         (Allen-Cunneen scales the wait by (1 + cv²)/2).",
    );
    ui.end_row();
    ui.label("Service family");
    egui::ComboBox::from_id_salt("service-family")
        .selected_text(node.service_family.label())
        .show_ui(ui, |ui| {
            for family in ServiceFamily::ALL {
                ui.selectable_value(&mut node.service_family, family, family.label());
            }
        })
        .response
        .on_hover_text(
            "Shape of the service time around its mean and cv: gamma (exponential at cv 1), \
             or lognormal (a heavier tail at the same cv).",
        );
    ui.end_row();
    if node.kind == NodeKind::Service && node.capacity_rps.is_some() {
        class_capacity_fields(ui, node);
    }
}

/// A Service node's own capacity per request class (the others use the node's capacity).
fn class_capacity_fields(ui: &mut Ui, node: &mut Node) {
    let fallback = node.capacity_rps.unwrap_or(100.0);
    for class in ClassKind::ALL {
        ui.label(format!("Capacity, {}", class.label()));
        ui.horizontal(|ui| {
            let mut own = node.class_capacity_rps.contains_key(&class);
            if ui
                .checkbox(&mut own, "own rate")
                .on_hover_text(
                    "Give this class its own capacity per instance (a mixed queue, as a \
                     database's reads and writes); unticked, it uses the node's capacity.",
                )
                .changed()
            {
                if own {
                    node.class_capacity_rps.insert(class, fallback);
                } else {
                    node.class_capacity_rps.remove(&class);
                }
            }
            match node.class_capacity_rps.get_mut(&class) {
                Some(capacity) => {
                    number(ui, capacity, MIN_CAPACITY..=MAX_CAPACITY);
                    ui.label("req/s per instance");
                }
                None => {
                    ui.label("as the node");
                }
            }
        });
        ui.end_row();
    }
}

/// Instance type, pricing and the managed fee.
fn price_fields(ui: &mut Ui, node: &mut Node) {
    let catalog = Catalog::builtin();
    ui.label("Instance type");
    instance_type_picker(ui, "instance-type", &mut node.instance_type, catalog);
    ui.end_row();
    ui.label("Pricing");
    pricing_picker(ui, "pricing", &mut node.pricing);
    ui.end_row();
    ui.label("Managed fee");
    ui.horizontal(|ui| {
        ui.label("$");
        number(ui, &mut node.monthly_fee_usd, 0.0..=MAX_MONEY);
        ui.label("/month");
    });
    ui.end_row();
    ui.label("Transfer");
    ui.horizontal(|ui| {
        ui.label("$");
        number(ui, &mut node.usd_per_gb, 0.0..=MAX_MONEY);
        ui.label("/GB sent");
    })
    .response
    .on_hover_text("CDN delivery or inter-region egress, billed on the workloads' response sizes.");
    ui.end_row();
    ui.label("Stored");
    ui.horizontal(|ui| {
        number(ui, &mut node.storage_gb, 0.0..=MAX_STORAGE_GB);
        ui.label("GB");
        egui::ComboBox::from_id_salt("storage-tier")
            .selected_text(node.storage_tier.label())
            .show_ui(ui, |ui| {
                for tier in StorageTier::ALL {
                    ui.selectable_value(&mut node.storage_tier, tier, tier.label());
                }
            });
    });
    ui.end_row();
}

/// How often one instance is up: the catalog's default for the kind, a fraction, or MTBF and
/// MTTR (hours). The full model ranges; nothing is clamped on display.
fn availability_fields(ui: &mut Ui, node: &mut Node) {
    use crate::model::{checked, Uptime};
    let default = Catalog::builtin().availability.instance(&node.kind);
    ui.label("Availability");
    ui.vertical(|ui| {
        let mut mode = match node.availability {
            None => 0,
            Some(Uptime::Fraction(_)) => 1,
            Some(Uptime::Repair { .. }) => 2,
        };
        let before = mode;
        ui.horizontal(|ui| {
            ui.radio_value(&mut mode, 0, "default")
                .on_hover_text(format!(
                    "The catalog's figure for a {}: {}% of the time up.",
                    node.kind.label(),
                    default * 100.0
                ));
            ui.radio_value(&mut mode, 1, "%");
            ui.radio_value(&mut mode, 2, "MTBF/MTTR");
        });
        if mode != before {
            node.availability = match mode {
                1 => Some(Uptime::Fraction(default)),
                2 => Some(Uptime::Repair {
                    mtbf_h: 8_760.0,
                    mttr_h: 8_760.0 * (1.0 - default) / default,
                }),
                _ => None,
            };
        }
        match &mut node.availability {
            Some(Uptime::Fraction(up)) => {
                let mut percent = *up * 100.0;
                if ui
                    .add(
                        DragValue::new(&mut percent)
                            .range(0.0..=100.0)
                            .speed(0.001)
                            .max_decimals(5)
                            .suffix(" %")
                            .clamp_existing_to_range(false),
                    )
                    .on_hover_text("Fraction of time one instance is up.")
                    .changed()
                {
                    *up = percent / 100.0;
                }
            }
            Some(Uptime::Repair { mtbf_h, mttr_h }) => {
                ui.horizontal(|ui| {
                    ui.label("MTBF");
                    number(ui, mtbf_h, checked::MIN_MTBF_H..=checked::MAX_HOURS)
                        .on_hover_text("Mean time between failures, hours.");
                    ui.label("MTTR");
                    number(ui, mttr_h, 0.0..=checked::MAX_HOURS)
                        .on_hover_text("Mean time to repair, hours. Up MTBF/(MTBF + MTTR).");
                });
            }
            None => {}
        }
    });
    ui.end_row();
}

fn instance_type_picker(ui: &mut Ui, id: &str, value: &mut String, catalog: &Catalog) {
    egui::ComboBox::from_id_salt(id)
        .selected_text(if value.is_empty() {
            "none".to_string()
        } else {
            value.clone()
        })
        .show_ui(ui, |ui| {
            ui.selectable_value(value, String::new(), "none");
            for instance in &catalog.instance_types {
                let monthly = instance.on_demand_hourly * catalog.hours_per_month;
                ui.selectable_value(
                    value,
                    instance.name.clone(),
                    format!(
                        "{} ({} vCPU, {} GiB) ${monthly:.2}/mo",
                        instance.name, instance.vcpu, instance.memory_gib
                    ),
                );
            }
        });
}

fn pricing_picker(ui: &mut Ui, id: &str, value: &mut Pricing) {
    egui::ComboBox::from_id_salt(id)
        .selected_text(format!("{value:?}"))
        .show_ui(ui, |ui| {
            for pricing in [Pricing::OnDemand, Pricing::Reserved, Pricing::Spot] {
                ui.selectable_value(value, pricing, format!("{pricing:?}"));
            }
        });
}

fn region_names(app: &StaircaseApp) -> Vec<String> {
    app.topology
        .regions
        .iter()
        .map(|r| r.name.clone())
        .collect()
}

/// The wires leaving node `id`; a click on one selects it.
fn outgoing_wires(app: &mut StaircaseApp, ui: &mut Ui, id: NodeId) {
    let targets: Vec<(NodeId, String)> = app
        .topology
        .edges
        .iter()
        .filter(|e| e.from == id)
        .map(|e| {
            let name = app
                .topology
                .node(e.to)
                .map_or_else(String::new, |n| n.name.clone());
            (e.to, format!("to {name} ({})", edge_label(&e.kind)))
        })
        .collect();
    if targets.is_empty() {
        return;
    }
    ui.separator();
    ui.label(RichText::new("Outgoing wires").strong());
    for (to, label) in targets {
        if ui
            .link(label)
            .on_hover_text("Select this wire to edit it.")
            .clicked()
        {
            app.selection.click(Some(super::Pick::Wire(id, to)), false);
        }
    }
}

fn edge_label(kind: &EdgeKind) -> String {
    match kind {
        EdgeKind::Route => "route".to_string(),
        EdgeKind::Call(n) => format!("call ×{n}"),
        EdgeKind::Retry(p) => format!("retry {:.0}%", p * 100.0),
    }
}

/// Shows what the wire(s) from `from` to `to` carry (the report's figures, as the canvas's
/// tooltip does) and edits them: kind, weight or count, and the classes carried.
fn wire_inspector(app: &mut StaircaseApp, ui: &mut Ui, from: NodeId, to: NodeId) {
    let name = |id: NodeId| {
        app.topology
            .node(id)
            .map_or_else(|| format!("node {id}"), |n| n.name.clone())
    };
    ui.label(RichText::new(format!("Wire from {} to {}", name(from), name(to))).strong());
    super::canvas::traffic::show(ui, &app.topology, app.report(), from, to);
    ui.separator();
    for (index, edge) in app
        .topology
        .edges
        .iter_mut()
        .enumerate()
        .filter(|(_, e)| e.from == from && e.to == to)
    {
        wire_grid(ui, index, edge);
        if edge.classes.is_empty() {
            ui.label(
                RichText::new("Carries the target's default classes.")
                    .small()
                    .color(theme::muted_text()),
            );
        }
    }
    if ui.button("Delete wire").clicked() {
        app.topology
            .edges
            .retain(|e| !(e.from == from && e.to == to));
        app.selection.clear();
    }
}

/// One wire's grid: its kind, its figures (weight and exit share, calls or retried share)
/// and the classes it carries.
fn wire_grid(ui: &mut Ui, index: usize, edge: &mut Edge) {
    egui::Grid::new(("wire-grid", index))
        .num_columns(2)
        .show(ui, |ui| {
            kind_row(ui, index, edge);
            figure_rows(ui, edge);
            classes_row(ui, edge);
        });
}

/// The wire's kind; a kind other than route takes away the exit share.
fn kind_row(ui: &mut Ui, index: usize, edge: &mut Edge) {
    ui.label("Kind");
    egui::ComboBox::from_id_salt(("edge-kind", index))
        .selected_text(edge_label(&edge.kind))
        .show_ui(ui, |ui| {
            let route = EdgeKind::Route;
            ui.selectable_value(&mut edge.kind, route, "route (share by weight)");
            if !matches!(edge.kind, EdgeKind::Call(_)) {
                ui.selectable_value(&mut edge.kind, EdgeKind::Call(1), "call (every request)");
            }
            if !matches!(edge.kind, EdgeKind::Retry(_)) {
                ui.selectable_value(&mut edge.kind, EdgeKind::Retry(0.5), "retry drops");
            }
        });
    if edge.kind != EdgeKind::Route && edge.exit_share != 0.0 {
        // Only a route lets traffic leave: the kind just changed away from it.
        edge.exit_share = 0.0;
    }
    ui.end_row();
}

/// The figures of the wire's kind: a route's weight and exit share, a call's count, a
/// retry's share.
fn figure_rows(ui: &mut Ui, edge: &mut Edge) {
    match &mut edge.kind {
        EdgeKind::Route => {
            ui.label("Weight");
            number(ui, &mut edge.weight, 1e-9..=1e6)
                .on_hover_text("Share among the route wires that carry the same class.");
            ui.end_row();
            ui.label("Exit share");
            share(ui, &mut edge.exit_share).on_hover_text(
                "Of the requests this wire would carry, the share that finishes at \
                 its source instead (leaves the network there).",
            );
        }
        EdgeKind::Call(count) => {
            ui.label("Calls");
            whole(ui, count, 1..=1000)
                .on_hover_text("Every request calls the target this many times in sequence.");
        }
        EdgeKind::Retry(fraction) => {
            ui.label("Retried");
            share(ui, fraction).on_hover_text("Share of the dropped requests sent again.");
        }
    }
    ui.end_row();
}

/// The classes the wire carries, one checkbox each.
fn classes_row(ui: &mut Ui, edge: &mut Edge) {
    ui.label("Classes");
    ui.horizontal(|ui| {
        for class in ClassKind::ALL {
            let mut carried = edge.classes.contains(&class);
            if ui.checkbox(&mut carried, class.label()).changed() {
                if carried {
                    edge.classes.push(class);
                    edge.classes.sort();
                } else {
                    edge.classes.retain(|c| *c != class);
                }
            }
        }
    })
    .response
    .on_hover_text("Request classes this wire carries; none ticked means the target's default.");
    ui.end_row();
}

/// Edits the fields the selected nodes share; a field whose values differ says so, and an
/// edit sets it on every selected node.
fn many_inspector(app: &mut StaircaseApp, ui: &mut Ui) {
    let ids = app.selection.nodes.clone();
    let mut nodes: Vec<&mut Node> = app
        .topology
        .nodes
        .iter_mut()
        .filter(|n| ids.contains(&n.id) && queues(&n.kind))
        .collect();
    ui.label(RichText::new(format!("{} nodes selected", ids.len())).strong());
    if nodes.is_empty() {
        ui.label("Clients have no shared fields to edit.");
        return;
    }
    if nodes.len() < ids.len() {
        ui.label(
            RichText::new("Clients are left out: they have no servers.")
                .small()
                .color(theme::muted_text()),
        );
    }
    egui::Grid::new("many-grid").num_columns(3).show(ui, |ui| {
        shared_whole(
            ui,
            "Instances",
            &mut nodes,
            |n| &mut n.instances,
            1..=MAX_INSTANCES as u32,
        );
        shared_whole(
            ui,
            "Concurrency",
            &mut nodes,
            |n| &mut n.concurrency,
            1..=MAX_CONCURRENCY as u32,
        );
        if nodes.iter().all(|n| n.capacity_rps.is_some()) {
            shared_number(
                ui,
                "Capacity req/s",
                &mut nodes,
                |n| n.capacity_rps.as_mut(),
                MIN_CAPACITY..=MAX_CAPACITY,
            );
        }
        shared_number(
            ui,
            "Base latency ms",
            &mut nodes,
            |n| Some(&mut n.base_latency_ms),
            0.0..=1e6,
        );
        shared_number(
            ui,
            "Latency cv",
            &mut nodes,
            |n| Some(&mut n.latency_cv),
            0.0..=10.0,
        );
        shared_number(
            ui,
            "Service cv",
            &mut nodes,
            |n| Some(&mut n.service_cv),
            0.0..=10.0,
        );
        ui.label("Pricing");
        let mut pricing = nodes[0].pricing;
        let before = pricing;
        pricing_picker(ui, "many-pricing", &mut pricing);
        mixed_note(ui, nodes.iter().any(|n| n.pricing != before));
        if pricing != before {
            nodes.iter_mut().for_each(|n| n.pricing = pricing);
        }
        ui.end_row();
    });
}

fn mixed_note(ui: &mut Ui, mixed: bool) {
    if mixed {
        ui.label(RichText::new("mixed").small().color(theme::muted_text()))
            .on_hover_text("The selected nodes differ here; an edit sets all of them.");
    } else {
        ui.label("");
    }
}

fn shared_whole(
    ui: &mut Ui,
    label: &str,
    nodes: &mut [&mut Node],
    field: fn(&mut Node) -> &mut u32,
    range: RangeInclusive<u32>,
) {
    ui.label(label);
    let mut value = *field(nodes[0]);
    let first = value;
    let changed = whole(ui, &mut value, range).changed();
    mixed_note(ui, nodes.iter_mut().any(|n| *field(n) != first));
    if changed {
        nodes.iter_mut().for_each(|n| *field(n) = value);
    }
    ui.end_row();
}

fn shared_number(
    ui: &mut Ui,
    label: &str,
    nodes: &mut [&mut Node],
    field: fn(&mut Node) -> Option<&mut f64>,
    range: RangeInclusive<f64>,
) {
    let Some(mut value) = field(nodes[0]).map(|v| *v) else {
        return;
    };
    ui.label(label);
    let first = value;
    let changed = number(ui, &mut value, range).changed();
    mixed_note(
        ui,
        nodes
            .iter_mut()
            .any(|n| field(n).is_some_and(|v| *v != first)),
    );
    if changed {
        for node in nodes.iter_mut() {
            if let Some(v) = field(node) {
                *v = value;
            }
        }
    }
    ui.end_row();
}

fn kind_fields(ui: &mut Ui, kind: &mut NodeKind) {
    match kind {
        NodeKind::Cdn { hit_ratio } | NodeKind::Cache { hit_ratio } => {
            ui.label("Hit ratio");
            share(ui, hit_ratio)
                .on_hover_text("Share of reads answered here; misses go downstream.");
            ui.end_row();
        }
        NodeKind::Dns { geo } => {
            ui.label("GeoDNS");
            ui.checkbox(geo, "send users to their region");
            ui.end_row();
        }
        NodeKind::LoadBalancer { policy } => {
            ui.label("Policy");
            egui::ComboBox::from_id_salt("lb-policy")
                .selected_text(format!("{policy:?}"))
                .show_ui(ui, |ui| {
                    for option in [
                        LbPolicy::RoundRobin,
                        LbPolicy::LeastConnections,
                        LbPolicy::Weighted,
                        LbPolicy::IpHash,
                    ] {
                        ui.selectable_value(policy, option, format!("{option:?}"));
                    }
                })
                .response
                .on_hover_text(
                    "Least connections acts as one shared queue (M/M/c); the others give each \
                     instance its own queue.",
                );
            ui.end_row();
        }
        NodeKind::Database {
            read_capacity_rps,
            write_capacity_rps,
            max_connections,
        } => {
            ui.label("Reads/s per instance");
            number(ui, read_capacity_rps, MIN_CAPACITY..=MAX_CAPACITY);
            ui.end_row();
            ui.label("Writes/s per instance");
            number(ui, write_capacity_rps, MIN_CAPACITY..=MAX_CAPACITY);
            ui.end_row();
            ui.label("Max connections");
            whole(ui, max_connections, 1..=1_000_000);
            ui.end_row();
        }
        NodeKind::ShardGroup {
            shards,
            hot_shard_skew,
        } => {
            ui.label("Shards");
            if whole(ui, shards, 1..=100_000).changed() {
                *hot_shard_skew = hot_shard_skew.min(f64::from(*shards));
            }
            ui.end_row();
            ui.label("Hot-shard skew");
            number(ui, hot_shard_skew, 1.0..=f64::from(*shards).max(1.0))
                .on_hover_text("The hottest shard gets this many times the average share.");
            ui.end_row();
        }
        NodeKind::ConnectionPooler { pool_size } => {
            ui.label("Pool size");
            whole(ui, pool_size, 1..=1_000_000);
            ui.end_row();
        }
        _ => {}
    }
}
