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
        if scc.len() < 2 {
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

/// Whether `from` waits, directly or not, for `to` in a graph without cycles.
pub fn waits_for(g: &DiGraph<usize, Edge>, from: usize, to: usize) -> bool {
    let mut stack = vec![NodeIndex::new(from)];
    let mut seen = HashSet::new();
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        for m in g.neighbors(n) {
            if g[m] == to {
                return true;
            }
            stack.push(m);
        }
    }
    false
}
