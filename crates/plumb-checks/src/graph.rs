//! The stage graph (from `after` and declaration order) and the job graph (from
//! `needs`), with cycle enumeration.

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use plumb_diagnostics::FileRange;
use plumb_semantics::PipelineModel;
use std::collections::HashSet;

/// An edge `from → to`: `from` waits for `to`.
#[derive(Clone, Debug)]
pub struct Edge {
    pub at: FileRange,
    /// For stages: the edge comes from declaration order, not from `after`.
    pub implicit: bool,
}

/// Stage `i` waits for the stages its edges point to.
pub fn stage_graph(p: &PipelineModel) -> DiGraph<usize, Edge> {
    let mut g = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..p.stages.len()).map(|i| g.add_node(i)).collect();
    for (i, s) in p.stages.iter().enumerate() {
        if s.explicit_after {
            for (target, at) in &s.after {
                g.add_edge(
                    nodes[i],
                    nodes[*target],
                    Edge {
                        at: *at,
                        implicit: false,
                    },
                );
            }
        } else if i > 0 {
            g.add_edge(
                nodes[i],
                nodes[i - 1],
                Edge {
                    at: s.name_at,
                    implicit: true,
                },
            );
        }
    }
    g
}

/// Job `i` waits for the jobs it needs (self-needs left out: PL2004 reports them).
pub fn job_graph(p: &PipelineModel) -> DiGraph<usize, Edge> {
    let mut g = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..p.jobs.len()).map(|i| g.add_node(i)).collect();
    for (i, j) in p.jobs.iter().enumerate() {
        for n in &j.needs {
            if let Some(t) = n.target.filter(|t| *t != i) {
                g.add_edge(
                    nodes[i],
                    nodes[t],
                    Edge {
                        at: n.at,
                        implicit: false,
                    },
                );
            }
        }
    }
    g
}

/// At most this many cycles are reported per strongly connected component.
pub const MAX_CYCLES_PER_COMPONENT: usize = 16;

/// Every elementary cycle (up to a limit per component), each as the list of its
/// edges in order, starting at the node declared first, in a fixed order.
pub fn cycles(g: &DiGraph<usize, Edge>) -> Vec<Vec<(usize, usize, Edge)>> {
    let mut all = Vec::new();
    for scc in tarjan_scc(g) {
        if let [only] = scc.as_slice() {
            // `stage a after a`: a cycle of one edge
            if let Some(e) = g.find_edge(*only, *only) {
                all.push(vec![(g[*only], g[*only], g[e].clone())]);
            }
            continue;
        }
        let members: HashSet<NodeIndex> = scc.iter().copied().collect();
        let mut order: Vec<NodeIndex> = scc.clone();
        order.sort_by_key(|n| g[*n]);
        let mut found = Vec::new();
        // cycles through `start` that only use members declared after it: each
        // elementary cycle is found once, from its first-declared node
        for (k, &start) in order.iter().enumerate() {
            let allowed: HashSet<NodeIndex> = order[k..]
                .iter()
                .copied()
                .filter(|n| members.contains(n))
                .collect();
            let mut path = vec![start];
            let mut edges = Vec::new();
            search(g, start, start, &allowed, &mut path, &mut edges, &mut found);
            if found.len() >= MAX_CYCLES_PER_COMPONENT {
                break;
            }
        }
        found.truncate(MAX_CYCLES_PER_COMPONENT);
        all.extend(found);
    }
    all.sort_by(|a, b| {
        let key = |c: &Vec<(usize, usize, Edge)>| c.iter().map(|e| e.0).collect::<Vec<_>>();
        key(a).cmp(&key(b))
    });
    all
}

fn search(
    g: &DiGraph<usize, Edge>,
    start: NodeIndex,
    at: NodeIndex,
    allowed: &HashSet<NodeIndex>,
    path: &mut Vec<NodeIndex>,
    edges: &mut Vec<(usize, usize, Edge)>,
    found: &mut Vec<Vec<(usize, usize, Edge)>>,
) {
    if found.len() >= MAX_CYCLES_PER_COMPONENT {
        return;
    }
    let mut next: Vec<_> = g
        .edges(at)
        .map(|e| (e.target(), e.weight().clone()))
        .collect();
    next.sort_by_key(|(n, _)| g[*n]);
    for (n, w) in next {
        if !allowed.contains(&n) {
            continue;
        }
        if n == start {
            let mut cycle = edges.clone();
            cycle.push((g[at], g[n], w));
            found.push(cycle);
        } else if !path.contains(&n) {
            path.push(n);
            edges.push((g[at], g[n], w));
            search(g, start, n, allowed, path, edges, found);
            edges.pop();
            path.pop();
        }
    }
}

/// Which nodes each node of a graph without cycles waits for, directly or not: asked
/// once per `needs` entry, so a pipeline of many stages and jobs must not walk the
/// graph for each (5,000 jobs in 500 stages: 5 million steps).
pub struct Reach {
    words: usize,
    bits: Vec<u64>,
}

impl Reach {
    pub fn new(g: &DiGraph<usize, Edge>) -> Reach {
        let n = g.node_count();
        let words = n.div_ceil(64);
        let mut reach = Reach {
            words,
            bits: vec![0; n * words],
        };
        // a node's set is complete once its successors' are: depth-first, post-order
        let mut done = vec![false; n];
        // entered but not done: on a cycle (the callers check there is none) a node is
        // expanded once, never again
        let mut entered = vec![false; n];
        for start in 0..n {
            let mut stack = vec![(start, false)];
            while let Some((node, expanded)) = stack.pop() {
                if done[node] || (!expanded && entered[node]) {
                    continue;
                }
                if !expanded {
                    entered[node] = true;
                    stack.push((node, true));
                    for m in g.neighbors(NodeIndex::new(node)) {
                        if !done[m.index()] {
                            stack.push((m.index(), false));
                        }
                    }
                    continue;
                }
                for m in g.neighbors(NodeIndex::new(node)) {
                    let m = m.index();
                    reach.bits[node * words + m / 64] |= 1 << (m % 64);
                    for w in 0..words {
                        let from_m = reach.bits[m * words + w];
                        reach.bits[node * words + w] |= from_m;
                    }
                }
                done[node] = true;
            }
        }
        reach
    }

    /// Whether node `from` waits, directly or not, for node `to`.
    pub fn waits_for(&self, from: usize, to: usize) -> bool {
        self.bits
            .get(from * self.words + to / 64)
            .is_some_and(|w| w & (1 << (to % 64)) != 0)
    }
}
