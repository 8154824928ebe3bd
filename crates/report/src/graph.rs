//! The state machine as a graph, as the Step Functions console draws it: one box per state, a
//! Parallel state as a box holding its branches side by side, a Map state as a box holding its
//! item processor, Choice edges labelled with their rule, Catch edges marked (drawn dashed).
//!
//! Only the structure is computed here; the coordinates are computed by dagre in the page
//! (see `html.rs`). Node ids are scoped by the path of Parallel/Map states that holds them, so
//! that equal names in different branches stay apart; `state` is the name history events use.

use serde::Serialize;

use asl::model::{Kind, Machine, State, Transition, Via};

use crate::Error;

/// How deeply Parallel and Map states may nest before the graph is refused.
pub const MAX_DEPTH: usize = 32;

/// Nodes, edges and the clusters (Parallel, branch, Map) that hold nodes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub clusters: Vec<Cluster>,
}

/// A box: a state, or the start, end or a join point of a Parallel/Map.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub id: String,
    pub label: String,
    /// The state type (`Task`, ...), or `Start`, `End`, `Join`.
    pub kind: String,
    /// The state's name, for the states' statuses.
    pub state: Option<String>,
    pub parent: Option<String>,
}

/// A transition.
#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: Option<String>,
    /// `next`, `choice`, `default` or `catch`.
    pub style: &'static str,
}

/// A box around nodes: a Parallel or Map state, or one branch.
#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    pub id: String,
    pub label: String,
    /// `Parallel`, `Branch` or `Map`.
    pub kind: &'static str,
    pub state: Option<String>,
    pub parent: Option<String>,
}

/// The graph of a state machine.
pub fn build(root: &Machine) -> Result<Graph, Error> {
    let mut g = Graph::default();
    g.nodes.push(Node {
        id: "#start".into(),
        label: "Start".into(),
        kind: "Start".into(),
        state: None,
        parent: None,
    });
    g.nodes.push(Node {
        id: "#end".into(),
        label: "End".into(),
        kind: "End".into(),
        state: None,
        parent: None,
    });
    let (entry, terminals) = machine(&mut g, root, "", None, 0)?;
    g.edges.push(edge("#start".into(), entry, None, "next"));
    for t in terminals {
        g.edges.push(edge(t, "#end".into(), None, "next"));
    }
    Ok(g)
}

fn edge(from: String, to: String, label: Option<String>, style: &'static str) -> Edge {
    Edge {
        from,
        to,
        label,
        style,
    }
}

fn id(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_string()
    } else {
        format!("{scope}/{name}")
    }
}

/// Adds a machine's states; returns the id of its entry node and the nodes that end it.
fn machine(
    g: &mut Graph,
    m: &Machine,
    scope: &str,
    parent: Option<&str>,
    depth: usize,
) -> Result<(String, Vec<String>), Error> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep(MAX_DEPTH));
    }
    let mut exits = std::collections::HashMap::new();
    let mut terminals = Vec::new();
    for (name, state) in &m.states {
        let exit = state_nodes(g, state, scope, parent, depth)?;
        let ends = matches!(state.next, Transition::End)
            || matches!(state.kind, Kind::Succeed | Kind::Fail { .. });
        if ends {
            terminals.push(exit.clone());
        }
        exits.insert(name.clone(), exit);
    }
    for (name, state) in &m.states {
        let from = exits.get(name).cloned().unwrap_or_else(|| id(scope, name));
        for (to, via) in state.successors() {
            let (label, style) = match via {
                Via::Next => (None, "next"),
                Via::Choice(i) => (Some(format!("rule {}", i + 1)), "choice"),
                Via::Default => (Some("Default".to_string()), "default"),
                Via::Catch(i) => (Some(catch_label(state, i)), "catch"),
            };
            g.edges
                .push(edge(from.clone(), id(scope, to), label, style));
        }
    }
    Ok((id(scope, &m.start_at), terminals))
}

fn catch_label(state: &State, i: usize) -> String {
    state
        .kind
        .common()
        .and_then(|c| c.catch.get(i))
        .map(|c| format!("Catch {}", c.error_equals.join(", ")))
        .unwrap_or_else(|| "Catch".into())
}

/// Adds a state's node (and, for Parallel and Map, its cluster and inner states); returns the
/// node its transitions leave from.
fn state_nodes(
    g: &mut Graph,
    state: &State,
    scope: &str,
    parent: Option<&str>,
    depth: usize,
) -> Result<String, Error> {
    let nid = id(scope, &state.name);
    let kind = state.kind.type_name();
    let inner: Vec<&Machine> = match &state.kind {
        Kind::Parallel(p) => p.branches.iter().collect(),
        Kind::Map(m) => vec![&m.processor],
        _ => Vec::new(),
    };
    if inner.is_empty() {
        g.nodes.push(Node {
            id: nid.clone(),
            label: state.name.clone(),
            kind: kind.into(),
            state: Some(state.name.clone()),
            parent: parent.map(str::to_string),
        });
        return Ok(nid);
    }
    let cid = format!("{nid}#box");
    g.clusters.push(Cluster {
        id: cid.clone(),
        label: state.name.clone(),
        kind: if kind == "Map" { "Map" } else { "Parallel" },
        state: Some(state.name.clone()),
        parent: parent.map(str::to_string),
    });
    g.nodes.push(Node {
        id: nid.clone(),
        label: state.name.clone(),
        kind: kind.into(),
        state: Some(state.name.clone()),
        parent: Some(cid.clone()),
    });
    let join = format!("{nid}#join");
    g.nodes.push(Node {
        id: join.clone(),
        label: String::new(),
        kind: "Join".into(),
        state: Some(state.name.clone()),
        parent: Some(cid.clone()),
    });
    let many = inner.len() > 1;
    for (i, m) in inner.into_iter().enumerate() {
        let (holder, bscope) = if many {
            let bid = format!("{nid}#b{}", i + 1);
            g.clusters.push(Cluster {
                id: bid.clone(),
                label: format!("Branch {}", i + 1),
                kind: "Branch",
                state: None,
                parent: Some(cid.clone()),
            });
            (bid, format!("{nid}#b{}", i + 1))
        } else {
            (cid.clone(), format!("{nid}#p"))
        };
        let (entry, terminals) = machine(g, m, &bscope, Some(&holder), depth + 1)?;
        g.edges.push(edge(nid.clone(), entry, None, "next"));
        for t in terminals {
            g.edges.push(edge(t, join.clone(), None, "next"));
        }
    }
    Ok(join)
}
