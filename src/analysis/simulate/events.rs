//! The discrete-event engine: one replication of the compiled network, with a binary-heap
//! event list, FCFS queues with c servers and K − c waiting places, connection limits (a
//! request holds a connection from entering a queue to the end of its service; beyond the
//! limit it waits for one, and that wait is counted at the pool holder it came through), and
//! the routing, calls, retries and delays of [`crate::solver::network`].

use super::sampling::{exponential, unit, Family, Sampler};
use crate::model::ServiceFamily;
use crate::solver::network::{NetNode, Network, Split};
use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// No parent: a request that started at a client (or runs detached behind a queue).
const NONE: u32 = u32::MAX;

/// The window and randomness of one replication.
#[derive(Clone, Copy, Debug)]
pub struct RunConfig {
    /// Simulated seconds discarded before measuring.
    pub warmup: f64,
    /// Simulated time at which the replication ends.
    pub end: f64,
    pub seed: u64,
    pub family: Family,
}

/// Figures of one node in one replication (rates per second, latencies in seconds).
#[derive(Clone, Debug, Default)]
pub struct NodeFigures {
    pub arrival: f64,
    pub throughput: f64,
    pub dropped: f64,
    pub utilization: f64,
    pub queue_len: f64,
    pub in_system: f64,
    pub latency: [f64; 4],
    /// Mean wait for a database connection per request served here (a pool holder), seconds.
    pub connection_wait: f64,
}

/// Figures of one class in one replication.
#[derive(Clone, Debug, Default)]
pub struct ClassFigures {
    pub offered: f64,
    pub served: f64,
    pub latency: [f64; 4],
}

/// What one replication measured.
#[derive(Clone, Debug, Default)]
pub struct RunFigures {
    pub nodes: Vec<NodeFigures>,
    pub classes: Vec<ClassFigures>,
    /// Node visits simulated (warm-up included), for the speed figure.
    pub visits: u64,
}

#[derive(Clone, Copy, Debug)]
enum EventKind {
    /// The next request of an arrival stream enters at its client.
    External(u32),
    /// A request arrives at its node.
    Arrive(u32),
    /// A request's service ends at its queue.
    ServiceDone(u32),
    /// A request's fixed delay at its node ends.
    OwnDone(u32),
}

#[derive(Clone, Copy, Debug)]
struct Event {
    time: f64,
    seq: u64,
    kind: EventKind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    /// Reversed, so the binary heap pops the earliest event first (ties in insertion order).
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .total_cmp(&self.time)
            .then(other.seq.cmp(&self.seq))
    }
}

/// One request's visit state (a call makes a child; a route moves the same job on).
#[derive(Clone, Copy, Debug)]
struct Job {
    class: u32,
    node: u32,
    parent: u32,
    queue: u32,
    /// When the request entered at its client (end to end), or when it was detached.
    start: f64,
    node_arrival: f64,
    /// Next out edge to look at for calls, and calls left on the previous one.
    next_edge: u32,
    calls_left: u32,
    failed: bool,
    /// Started at a client: its end-to-end time is measured.
    top: bool,
    /// Already acknowledged at this queue node: the copy that carries the work on.
    acknowledged: bool,
    /// The node this request was routed here from (`NONE` at its first node or for a call).
    came_from: u32,
    /// A visit to a pool holder whose response time is not recorded yet (`NONE`: none): it
    /// includes the waits for a database connection made on the holder's behalf.
    held: HeldVisit,
}

/// A visit to a node holding a connection pool, recorded once its waits for a connection
/// are known (the model shows those waits at the holder, not at the database).
#[derive(Clone, Copy, Debug)]
struct HeldVisit {
    node: u32,
    arrival: f64,
    /// Own service and delay at the holder, seconds.
    own: f64,
    /// Waits for a connection so far, seconds.
    waited: f64,
}

impl HeldVisit {
    const NONE: HeldVisit = HeldVisit {
        node: NONE,
        arrival: 0.0,
        own: 0.0,
        waited: 0.0,
    };
}

/// One FCFS queue with `servers` servers.
#[derive(Clone, Debug)]
struct Queue {
    servers: u64,
    buffer: Option<u64>,
    busy: u64,
    waiting: VecDeque<u32>,
    /// Connections of this queue (servers plus waiting places that hold one), when a
    /// connection limit applies: a request beyond them waits in `connection_queue`.
    connections: Option<u64>,
    connection_queue: VecDeque<u32>,
    last: f64,
    busy_area: f64,
    wait_area: f64,
}

/// Per-node counters over the measured window.
struct NodeStats {
    arrivals: u64,
    done: u64,
    drops: u64,
    latency_sum: f64,
    latency: Histogram<u64>,
    /// Waits for a connection made on this node's behalf (a pool holder), seconds in all.
    held_waits: f64,
    /// Waits for a connection at this node that no pool holder made, seconds in all.
    unheld_waits: f64,
}

struct ClassStats {
    offered: u64,
    served: u64,
    latency_sum: f64,
    latency: Histogram<u64>,
}

/// Per node: where its queues start, and the cumulative shares of its groups.
struct NodeLayout {
    first_queue: usize,
    /// (cumulative share of the group, first queue of the group, queue count).
    groups: Vec<(f64, usize, u64)>,
    samplers: Vec<Sampler>,
    /// The node's delay (a constant unless its cv is above 0).
    delay: Sampler,
    /// Route edges per class (for cyclic splits) and the next turn.
    cyclic_routes: Vec<Vec<u32>>,
    route_turn: Vec<usize>,
    instance_turn: usize,
}

fn histogram() -> Histogram<u64> {
    // Nanoseconds, three significant digits, growing as needed.
    Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits are valid"))
}

fn record(histogram: &mut Histogram<u64>, seconds: f64) {
    let nanos = (seconds.max(0.0) * 1e9).round() as u64;
    // Auto-resizing histograms accept any u64.
    let _ = histogram.record(nanos);
}

fn summary(histogram: &Histogram<u64>, sum: f64, count: u64) -> [f64; 4] {
    if count == 0 {
        return [0.0; 4];
    }
    let at = |q: f64| histogram.value_at_quantile(q) as f64 / 1e9;
    [sum / count as f64, at(0.50), at(0.95), at(0.99)]
}

/// Requests entering at one client as one renewal stream.
#[derive(Clone, Debug)]
struct ArrivalStream {
    /// Requests per second.
    rate: f64,
    /// The time between arrivals (`None`: exponential, Poisson).
    sampler: Option<Sampler>,
    /// The classes its requests belong to, each with the cumulative share of the rate up to
    /// and including it.
    classes: Vec<(u32, f64)>,
}

/// The arrival streams of `network`. A workload's `arrival_cv` is the cv of the time between
/// its requests, whatever their class, so a workload that is not Poisson is one gamma stream
/// whose requests are reads, writes or jobs at random by their shares. Each Poisson class
/// is a stream of its own (the same process as one Poisson stream split at random).
fn arrival_streams(network: &Network) -> Vec<ArrivalStream> {
    let mut streams: Vec<ArrivalStream> = Vec::new();
    let mut stream_of_workload: Vec<(usize, usize)> = Vec::new();
    for (k, class) in network.classes.iter().enumerate() {
        if class.rate <= 0.0 {
            continue;
        }
        if class.arrival_cv == 1.0 {
            streams.push(ArrivalStream {
                rate: class.rate,
                sampler: None,
                classes: vec![(k as u32, 1.0)],
            });
            continue;
        }
        let known = stream_of_workload
            .iter()
            .find(|(workload, _)| *workload == class.workload);
        let Some(&(_, stream)) = known else {
            stream_of_workload.push((class.workload, streams.len()));
            streams.push(ArrivalStream {
                rate: class.rate,
                sampler: None,
                classes: vec![(k as u32, class.rate)],
            });
            continue;
        };
        streams[stream].rate += class.rate;
        streams[stream].classes.push((k as u32, class.rate));
    }
    for (_, stream) in stream_of_workload {
        let stream = &mut streams[stream];
        let cv = network.classes[stream.classes[0].0 as usize].arrival_cv;
        stream.sampler = Some(Sampler::new(1.0 / stream.rate, cv, Family::Gamma));
        let mut cumulative = 0.0;
        for (_, share) in &mut stream.classes {
            cumulative += *share / stream.rate;
            *share = cumulative;
        }
    }
    streams
}

/// The simulator state of one replication.
pub struct Engine<'a> {
    network: &'a Network,
    config: RunConfig,
    rng: SmallRng,
    events: BinaryHeap<Event>,
    seq: u64,
    jobs: Vec<Job>,
    free: Vec<u32>,
    queues: Vec<Queue>,
    layout: Vec<NodeLayout>,
    /// Where requests enter: one stream per Poisson class, one per bursty or smooth
    /// workload (its classes drawn request by request).
    streams: Vec<ArrivalStream>,
    /// Per node: whether it holds connections to some database (poolers, app servers).
    holds_pool: Vec<bool>,
    node_stats: Vec<NodeStats>,
    class_stats: Vec<ClassStats>,
    visits: u64,
}

impl<'a> Engine<'a> {
    pub fn new(network: &'a Network, config: RunConfig) -> Engine<'a> {
        let mut queues = Vec::new();
        let layout = network
            .nodes
            .iter()
            .map(|node| layout_node(node, network.classes.len(), config.family, &mut queues))
            .collect();
        let mut holds_pool = vec![false; network.nodes.len()];
        for node in network
            .nodes
            .iter()
            .filter(|n| n.connection_slots.is_some())
        {
            for &holder in &node.pool_holders {
                holds_pool[holder] = true;
            }
        }
        let streams = arrival_streams(network);
        Engine {
            network,
            config,
            holds_pool,
            streams,
            rng: SmallRng::seed_from_u64(config.seed),
            events: BinaryHeap::new(),
            seq: 0,
            jobs: Vec::new(),
            free: Vec::new(),
            queues,
            layout,
            node_stats: network
                .nodes
                .iter()
                .map(|_| NodeStats {
                    arrivals: 0,
                    done: 0,
                    drops: 0,
                    latency_sum: 0.0,
                    latency: histogram(),
                    held_waits: 0.0,
                    unheld_waits: 0.0,
                })
                .collect(),
            class_stats: network
                .classes
                .iter()
                .map(|_| ClassStats {
                    offered: 0,
                    served: 0,
                    latency_sum: 0.0,
                    latency: histogram(),
                })
                .collect(),
            visits: 0,
        }
    }

    fn schedule(&mut self, time: f64, kind: EventKind) {
        self.seq += 1;
        self.events.push(Event {
            time,
            seq: self.seq,
            kind,
        });
    }

    fn measured(&self, time: f64) -> bool {
        time >= self.config.warmup && time < self.config.end
    }

    /// Runs the replication to its end, calling `keep_going` now and then with the share of
    /// simulated time done; it stops early (returning `None`) when that says false.
    pub fn run(mut self, keep_going: &mut dyn FnMut(f64) -> bool) -> Option<RunFigures> {
        for stream in 0..self.streams.len() {
            let first = self.interarrival_time(stream);
            self.schedule(first, EventKind::External(stream as u32));
        }
        let mut count: u64 = 0;
        while let Some(event) = self.events.pop() {
            if event.time >= self.config.end {
                break;
            }
            count += 1;
            if count.is_multiple_of(1 << 20) && !keep_going(event.time / self.config.end) {
                return None;
            }
            let t = event.time;
            match event.kind {
                EventKind::External(k) => self.external(k, t),
                EventKind::Arrive(job) => self.arrive(job, t),
                EventKind::ServiceDone(job) => self.service_done(job, t),
                EventKind::OwnDone(job) => self.own_done(job, t),
            }
        }
        Some(self.figures())
    }

    fn new_job(&mut self, job: Job) -> u32 {
        match self.free.pop() {
            Some(id) => {
                self.jobs[id as usize] = job;
                id
            }
            None => {
                self.jobs.push(job);
                (self.jobs.len() - 1) as u32
            }
        }
    }

    fn external(&mut self, stream: u32, t: f64) {
        let k = self.class_of_next_request(stream as usize);
        let client = self.network.classes[k as usize].client as u32;
        if self.measured(t) {
            self.class_stats[k as usize].offered += 1;
        }
        let id = self.new_job(Job {
            class: k,
            node: client,
            parent: NONE,
            queue: 0,
            start: t,
            node_arrival: t,
            next_edge: 0,
            calls_left: 0,
            failed: false,
            top: true,
            acknowledged: false,
            came_from: NONE,
            held: HeldVisit::NONE,
        });
        self.arrive(id, t);
        let next = t + self.interarrival_time(stream as usize);
        self.schedule(next, EventKind::External(stream));
    }

    /// The class of a stream's next request: its only class, else one drawn by the classes'
    /// shares of the stream's rate.
    fn class_of_next_request(&mut self, stream: usize) -> u32 {
        let classes = &self.streams[stream].classes;
        if let [(only, _)] = classes.as_slice() {
            return *only;
        }
        let u = unit(&mut self.rng);
        classes
            .iter()
            .find(|(_, cumulative)| u < *cumulative)
            .or(classes.last())
            .map_or(0, |(class, _)| *class)
    }

    /// The time to a stream's next arrival: exponential (Poisson) at arrival cv 1, else gamma
    /// with that cv (constant at 0).
    fn interarrival_time(&mut self, stream: usize) -> f64 {
        let stream = &self.streams[stream];
        match &stream.sampler {
            Some(sampler) => sampler.sample(&mut self.rng),
            None => exponential(&mut self.rng, stream.rate),
        }
    }

    /// Advances a queue's time-weighted areas to `t` (only the measured window counts).
    fn touch(&mut self, q: usize, t: f64) {
        let (warmup, end) = (self.config.warmup, self.config.end);
        let queue = &mut self.queues[q];
        let from = queue.last.max(warmup);
        let to = t.min(end);
        if to > from {
            queue.busy_area += queue.busy as f64 * (to - from);
            queue.wait_area += queue.waiting.len() as f64 * (to - from);
        }
        queue.last = t;
    }

    fn pick_queue(&mut self, v: usize) -> usize {
        let layout = &mut self.layout[v];
        if self.network.nodes[v].instance_split == Split::Cyclic {
            let (_, first, count) = layout.groups[0];
            let turn = layout.instance_turn;
            layout.instance_turn = (turn + 1) % count as usize;
            return first + turn;
        }
        let u = unit(&mut self.rng);
        let layout = &self.layout[v];
        let (_, first, count) = layout
            .groups
            .iter()
            .find(|(cumulative, _, _)| u < *cumulative)
            .or(layout.groups.last())
            .copied()
            .unwrap_or((1.0, layout.first_queue, 1));
        if count <= 1 {
            first
        } else {
            first + (unit(&mut self.rng) * count as f64) as usize % count as usize
        }
    }

    fn arrive(&mut self, id: u32, t: f64) {
        self.visits += 1;
        let job = &mut self.jobs[id as usize];
        job.node_arrival = t;
        job.acknowledged = false;
        let v = job.node as usize;
        if self.measured(t) {
            self.node_stats[v].arrivals += 1;
        }
        let node = &self.network.nodes[v];
        if node.service.is_none() {
            self.after_service(id, t);
            return;
        }
        let q = self.pick_queue(v);
        self.jobs[id as usize].queue = q as u32;
        self.touch(q, t);
        let queue = &mut self.queues[q];
        // Requests holding a connection: in service and waiting inside the node.
        let holding = queue.busy + queue.waiting.len() as u64;
        let connection_free = queue.connections.is_none_or(|c| holding < c);
        let queued = (queue.waiting.len() + queue.connection_queue.len()) as u64;
        if queue.busy < queue.servers {
            queue.busy += 1;
            self.start_service(id, t);
            self.connection_taken(id, t);
        } else if queue.buffer.is_some_and(|b| queued >= b) {
            if self.measured(t) {
                self.node_stats[v].drops += 1;
            }
            self.dropped(id, t);
        } else if connection_free {
            queue.waiting.push_back(id);
            self.connection_taken(id, t);
        } else {
            queue.connection_queue.push_back(id);
        }
    }

    /// Request `id` got a connection at its (connection-limited) node at `t`: its wait for
    /// it is counted at the pool holder it waited for (the pooler or app server it came
    /// through), where the model shows it, or else at this node.
    fn connection_taken(&mut self, id: u32, t: f64) {
        let job = self.jobs[id as usize];
        if self.queues[job.queue as usize].connections.is_none() {
            return;
        }
        let v = job.node as usize;
        let waited = t - job.node_arrival;
        let holders = &self.network.nodes[v].pool_holders;
        let holding = |j: &Job| j.held.node == j.node && holders.contains(&(j.node as usize));
        // Routed here straight from a holder (a pooler): the visit there waits for this.
        let routed = job.came_from != NONE
            && job.held.node == job.came_from
            && holders.contains(&(job.came_from as usize));
        let holder = if routed {
            Some(id)
        } else if job.parent != NONE && holding(&self.jobs[job.parent as usize]) {
            // Called by a holder (an app server), directly or through a cache.
            Some(job.parent)
        } else {
            None
        };
        let measured = self.measured(t);
        match holder {
            Some(h) => {
                let held = &mut self.jobs[h as usize].held;
                held.waited += waited;
                if measured {
                    self.node_stats[held.node as usize].held_waits += waited;
                }
                // This node's response time starts with the connection.
                self.jobs[id as usize].node_arrival = t;
                if h == id {
                    self.finish_held(id, t);
                }
            }
            None => {
                if measured {
                    self.node_stats[v].unheld_waits += waited;
                }
            }
        }
    }

    /// Records the pending visit of `id` to a pool holder (own time plus its waits for a
    /// connection), if any.
    fn finish_held(&mut self, id: u32, t: f64) {
        let held = std::mem::replace(&mut self.jobs[id as usize].held, HeldVisit::NONE);
        if held.node == NONE || !(self.measured(held.arrival) && t < self.config.end) {
            return;
        }
        let stats = &mut self.node_stats[held.node as usize];
        let total = held.own + held.waited;
        stats.latency_sum += total;
        record(&mut stats.latency, total);
    }

    fn start_service(&mut self, id: u32, t: f64) {
        let job = self.jobs[id as usize];
        let sampler = &self.layout[job.node as usize].samplers[job.class as usize];
        let service = sampler.sample(&mut self.rng);
        self.schedule(t + service, EventKind::ServiceDone(id));
    }

    fn service_done(&mut self, id: u32, t: f64) {
        let q = self.jobs[id as usize].queue as usize;
        self.touch(q, t);
        match self.queues[q].waiting.pop_front() {
            Some(next) => self.start_service(next, t),
            None => self.queues[q].busy -= 1,
        }
        // The request gave its connection back: the longest waiting for one takes it.
        if let Some(next) = self.queues[q].connection_queue.pop_front() {
            let queue = &mut self.queues[q];
            if queue.busy < queue.servers {
                queue.busy += 1;
                self.start_service(next, t);
            } else {
                queue.waiting.push_back(next);
            }
            self.connection_taken(next, t);
        }
        self.after_service(id, t);
    }

    fn after_service(&mut self, id: u32, t: f64) {
        let delay = &self.layout[self.jobs[id as usize].node as usize].delay;
        let base = delay.sample(&mut self.rng);
        if base > 0.0 {
            self.schedule(t + base, EventKind::OwnDone(id));
        } else {
            self.own_done(id, t);
        }
    }

    fn own_done(&mut self, id: u32, t: f64) {
        let job = self.jobs[id as usize];
        let v = job.node as usize;
        // A pool holder's visit is recorded once its waits for a connection are known.
        let holds_pool = self.holds_pool[v];
        if self.measured(job.node_arrival) && t < self.config.end {
            let stats = &mut self.node_stats[v];
            stats.done += 1;
            if !holds_pool {
                stats.latency_sum += t - job.node_arrival;
                record(&mut stats.latency, t - job.node_arrival);
            }
        }
        let job = &mut self.jobs[id as usize];
        job.next_edge = 0;
        job.calls_left = 0;
        let visit = HeldVisit {
            node: v as u32,
            arrival: job.node_arrival,
            own: t - job.node_arrival,
            waited: 0.0,
        };
        let carrier = if self.network.nodes[v].detaches {
            // The queue acknowledges the caller now; a detached copy carries the work on.
            let mut copy = *job;
            copy.parent = NONE;
            copy.top = false;
            copy.failed = false;
            copy.acknowledged = true;
            copy.start = t;
            copy.held = HeldVisit::NONE;
            let copy = self.new_job(copy);
            self.complete(id, t);
            copy
        } else {
            id
        };
        if holds_pool {
            self.jobs[carrier as usize].held = visit;
        }
        self.proceed(carrier, t);
    }

    /// After its own service and delay: the request makes its calls one after another, then
    /// finishes here or moves on along a route.
    fn proceed(&mut self, id: u32, t: f64) {
        let job = self.jobs[id as usize];
        let (v, k) = (job.node as usize, job.class as usize);
        let node: &NetNode = &self.network.nodes[v];
        if job.calls_left > 0 {
            let edge = &node.edges[job.next_edge as usize - 1];
            let (to, rtt) = (edge.to as u32, edge.rtt[k]);
            self.jobs[id as usize].calls_left -= 1;
            let child = self.new_job(Job {
                node: to,
                parent: id,
                failed: false,
                top: false,
                next_edge: 0,
                calls_left: 0,
                came_from: NONE,
                held: HeldVisit::NONE,
                ..job
            });
            self.schedule(t + rtt, EventKind::Arrive(child));
            return;
        }
        let next_call = (job.next_edge as usize..node.edges.len())
            .find(|&e| node.edges[e].call && node.edges[e].factors[k] > 0.0);
        if let Some(e) = next_call {
            let job = &mut self.jobs[id as usize];
            job.next_edge = e as u32 + 1;
            job.calls_left = node.edges[e].count;
            self.proceed(id, t);
            return;
        }
        self.route(id, t);
    }

    fn route(&mut self, id: u32, t: f64) {
        let job = self.jobs[id as usize];
        let (v, k) = (job.node as usize, job.class as usize);
        let node = &self.network.nodes[v];
        let u = unit(&mut self.rng);
        if node.route_split == Split::Random && u < node.finish[k] {
            self.complete(id, t);
            return;
        }
        let chosen = match node.route_split {
            Split::Cyclic => {
                let layout = &mut self.layout[v];
                let routes = &layout.cyclic_routes[k];
                if routes.is_empty() {
                    if u < node.finish[k] {
                        self.complete(id, t);
                        return;
                    }
                    None
                } else {
                    let turn = layout.route_turn[k];
                    layout.route_turn[k] = (turn + 1) % routes.len();
                    let e = routes[turn] as usize;
                    // The wire whose turn it is lets its exit share finish here.
                    if u < cyclic_exit_share(node.edges[e].factors[k], routes.len()) {
                        self.complete(id, t);
                        return;
                    }
                    Some(e)
                }
            }
            Split::Random => {
                let mut cumulative = node.finish[k];
                let mut found = None;
                let mut last = None;
                for (e, edge) in node.edges.iter().enumerate() {
                    if edge.call || edge.retry || edge.factors[k] <= 0.0 {
                        continue;
                    }
                    cumulative += edge.factors[k];
                    last = Some(e);
                    if u < cumulative {
                        found = Some(e);
                        break;
                    }
                }
                // Rounding can leave the last share a hair short of 1.
                found.or(last)
            }
        };
        match chosen {
            Some(e) => {
                let edge = &node.edges[e];
                let (to, rtt) = (edge.to as u32, edge.rtt[k]);
                // A holder's visit routed on to a database it holds connections to ends
                // when the connection is taken there; any other ends here.
                let target = &self.network.nodes[to as usize];
                let waits_there = job.held.node == v as u32
                    && target.connection_slots.is_some()
                    && target.pool_holders.contains(&v);
                if !waits_there {
                    self.finish_held(id, t);
                }
                let job = &mut self.jobs[id as usize];
                job.node = to;
                job.came_from = v as u32;
                self.schedule(t + rtt, EventKind::Arrive(id));
            }
            None => {
                // Nowhere to go (a client with no route): the request fails.
                self.jobs[id as usize].failed = true;
                self.complete(id, t);
            }
        }
    }

    /// A request refused by a full queue: each retry edge sends it again with its share
    /// (the first one taken carries the request on, further ones send copies); else it fails.
    fn dropped(&mut self, id: u32, t: f64) {
        self.finish_held(id, t);
        let job = self.jobs[id as usize];
        let (v, k) = (job.node as usize, job.class as usize);
        let mut carried = false;
        for e in 0..self.network.nodes[v].edges.len() {
            let edge = &self.network.nodes[v].edges[e];
            if !edge.retry || edge.factors[k] <= 0.0 {
                continue;
            }
            let (to, rtt, share) = (edge.to as u32, edge.rtt[k], edge.factors[k]);
            if unit(&mut self.rng) >= share {
                continue;
            }
            let target = if carried {
                self.new_job(Job {
                    parent: NONE,
                    top: false,
                    ..job
                })
            } else {
                carried = true;
                id
            };
            self.jobs[target as usize].node = to;
            self.schedule(t + rtt, EventKind::Arrive(target));
        }
        if !carried {
            self.jobs[id as usize].failed = true;
            self.complete(id, t);
        }
    }

    /// The request's visit chain answered (or failed): its caller carries on.
    fn complete(&mut self, id: u32, t: f64) {
        self.finish_held(id, t);
        let job = self.jobs[id as usize];
        self.free.push(id);
        if job.parent != NONE {
            if job.failed {
                self.jobs[job.parent as usize].failed = true;
            }
            self.proceed(job.parent, t);
            return;
        }
        if job.top && !job.failed && self.measured(t) {
            let stats = &mut self.class_stats[job.class as usize];
            stats.served += 1;
            if job.start >= self.config.warmup {
                stats.latency_sum += t - job.start;
                record(&mut stats.latency, t - job.start);
            }
        }
    }

    fn figures(mut self) -> RunFigures {
        let end = self.config.end;
        for q in 0..self.queues.len() {
            self.touch(q, end);
        }
        let window = (end - self.config.warmup).max(f64::MIN_POSITIVE);
        let nodes = self
            .network
            .nodes
            .iter()
            .enumerate()
            .map(|(v, node)| {
                let stats = &self.node_stats[v];
                let layout = &self.layout[v];
                let mut utilization: f64 = 0.0;
                let (mut waiting, mut busy) = (0.0, 0.0);
                for (group, &(_, first, count)) in node.groups.iter().zip(&layout.groups) {
                    let queues = &self.queues[first..first + count as usize];
                    let group_busy: f64 = queues.iter().map(|q| q.busy_area).sum();
                    busy += group_busy;
                    waiting += queues.iter().map(|q| q.wait_area).sum::<f64>();
                    let capacity = window * (group.servers.max(1) * count) as f64;
                    utilization = utilization.max(group_busy / capacity);
                }
                let throughput = stats.done as f64 / window;
                // Requests waiting for a connection (Little's law: waits in all / window),
                // at the holder they waited for, or here when none.
                let connection_waiting = (stats.held_waits + stats.unheld_waits) / window;
                NodeFigures {
                    arrival: stats.arrivals as f64 / window,
                    throughput,
                    dropped: stats.drops as f64 / window,
                    utilization,
                    queue_len: waiting / window + connection_waiting,
                    in_system: (waiting + busy) / window
                        + throughput * node.base
                        + connection_waiting,
                    latency: summary(&stats.latency, stats.latency_sum, stats.latency.len()),
                    connection_wait: if stats.done > 0 {
                        stats.held_waits / stats.done as f64
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        let classes = self
            .class_stats
            .iter()
            .map(|stats| {
                let counted = stats.latency.len();
                ClassFigures {
                    offered: stats.offered as f64 / window,
                    served: stats.served as f64 / window,
                    latency: summary(&stats.latency, stats.latency_sum, counted),
                }
            })
            .collect();
        RunFigures {
            nodes,
            classes,
            visits: self.visits,
        }
    }
}

/// The exit share of a round-robin route that carries `factor` of the balancer's requests
/// when it has a turn in every `routes`: a round robin gives each of its routes 1/`routes` of
/// the turns (it has no hits), and the route keeps factor·routes of them, so the rest of its
/// turns finish at the balancer. Rounding below 1e-12 counts as no exit.
fn cyclic_exit_share(factor: f64, routes: usize) -> f64 {
    let exit = 1.0 - factor * routes as f64;
    if exit > 1e-12 {
        exit.min(1.0)
    } else {
        0.0
    }
}

/// The queues, group shares, samplers and round-robin turns of one node.
fn layout_node(
    node: &NetNode,
    class_count: usize,
    family: Family,
    queues: &mut Vec<Queue>,
) -> NodeLayout {
    let first_queue = queues.len();
    let mut groups = Vec::new();
    let total: f64 = node.groups.iter().map(|g| g.share * g.count as f64).sum();
    let mut cumulative = 0.0;
    if node.service.is_some() {
        for group in &node.groups {
            cumulative += group.share * group.count as f64 / total.max(f64::MIN_POSITIVE);
            groups.push((cumulative, queues.len(), group.count));
            for _ in 0..group.count {
                let servers = group.servers.max(1);
                queues.push(Queue {
                    servers,
                    buffer: node.buffer,
                    busy: 0,
                    waiting: VecDeque::new(),
                    connections: node.connection_slots.map(|slots| servers + slots),
                    connection_queue: VecDeque::new(),
                    last: 0.0,
                    busy_area: 0.0,
                    wait_area: 0.0,
                });
            }
        }
    }
    let samplers = match &node.service {
        Some(service) => service
            .iter()
            .map(|&mean| match node.service_family {
                // A node that names the lognormal family gets it at any cv above 0.
                ServiceFamily::Lognormal => Sampler::lognormal(mean, node.service_cv),
                ServiceFamily::Gamma => Sampler::new(mean, node.service_cv, family),
            })
            .collect(),
        None => Vec::new(),
    };
    let cyclic_routes = (0..class_count)
        .map(|k| {
            node.edges
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.call && !e.retry && e.factors[k] > 0.0)
                .map(|(e, _)| e as u32)
                .collect()
        })
        .collect();
    NodeLayout {
        first_queue,
        groups,
        samplers,
        delay: Sampler::new(node.base, node.base_cv, Family::Gamma),
        cyclic_routes,
        route_turn: vec![0; class_count],
        instance_turn: 0,
    }
}
