//! The state machine as a graph, as the Step Functions console draws it: one box per state, a
//! Parallel state as a box holding its branches side by side, a Map state as a box holding its
//! item processor, Choice edges labelled with their rule, Catch edges marked (drawn dashed).
//!
//! Only the structure is computed here; the coordinates are computed by dagre in the page
//! (see `html.rs`). Node ids are scoped by the path of Parallel/Map states that holds them, so
//! that equal names in different branches stay apart; `state` is the name history events use.

use serde::Serialize;
use serde_json::Value;

use asl::model::{Kind, Machine, State, Transition, Via};

use crate::Error;

/// How deeply Parallel and Map states may nest before the graph is refused (asl's own limit,
/// 128 levels of JSON, allows about 31; no drawing of 24 nested boxes is readable).
pub const MAX_DEPTH: usize = 24;

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

/// The graph of a state machine; `raw` is the definition as JSON, for the Choice rules' labels.
pub fn build(root: &Machine, raw: Option<&Value>) -> Result<Graph, Error> {
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
    let (entry, terminals) = machine(&mut g, root, raw, "", None, 0)?;
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
    raw: Option<&Value>,
    scope: &str,
    parent: Option<&str>,
    depth: usize,
) -> Result<(String, Vec<String>), Error> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep(MAX_DEPTH));
    }
    let mut exits = std::collections::HashMap::new();
    let mut terminals = Vec::new();
    let raw_states = raw.and_then(|r| r.get("States"));
    for (name, state) in &m.states {
        let raw_state = raw_states.and_then(|r| r.get(name));
        let exit = state_nodes(g, state, raw_state, scope, parent, depth)?;
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
                Via::Choice(i) => {
                    let rule = raw_states
                        .and_then(|r| r.get(name))
                        .and_then(|r| r.get("Choices"))
                        .and_then(|c| c.get(i));
                    (
                        Some(
                            rule.map(choice_label)
                                .unwrap_or_else(|| format!("rule {}", i + 1)),
                        ),
                        "choice",
                    )
                }
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
    raw: Option<&Value>,
    scope: &str,
    parent: Option<&str>,
    depth: usize,
) -> Result<String, Error> {
    let nid = id(scope, &state.name);
    let kind = state.kind.type_name();
    let inner: Vec<(&Machine, Option<&Value>)> = match &state.kind {
        Kind::Parallel(p) => p
            .branches
            .iter()
            .enumerate()
            .map(|(i, b)| {
                (
                    b,
                    raw.and_then(|r| r.get("Branches")).and_then(|b| b.get(i)),
                )
            })
            .collect(),
        Kind::Map(m) => vec![(
            &m.processor,
            raw.and_then(|r| r.get("ItemProcessor").or_else(|| r.get("Iterator"))),
        )],
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
    for (i, (m, raw_m)) in inner.into_iter().enumerate() {
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
        let (entry, terminals) = machine(g, m, raw_m, &bscope, Some(&holder), depth + 1)?;
        g.edges.push(edge(nid.clone(), entry, None, "next"));
        for t in terminals {
            g.edges.push(edge(t, join.clone(), None, "next"));
        }
    }
    Ok(join)
}

/// The longest Choice edge label, in characters.
const MAX_LABEL: usize = 48;

/// A Choice rule as a short label: a JSONata `Condition` as written, a JSONPath comparison as
/// `$.x > 5` (the comparison operators of the Choice state:
/// <https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html>).
pub fn choice_label(rule: &Value) -> String {
    let text = rule_text(rule, 0);
    if text.chars().count() > MAX_LABEL {
        let mut t: String = text.chars().take(MAX_LABEL - 1).collect();
        t.push('…');
        t
    } else {
        text
    }
}

fn rule_text(rule: &Value, depth: usize) -> String {
    if depth > 4 {
        return "…".into();
    }
    if let Some(c) = rule.get("Condition") {
        return match c {
            Value::String(s) => s
                .trim()
                .trim_start_matches("{%")
                .trim_end_matches("%}")
                .trim()
                .to_string(),
            other => other.to_string(),
        };
    }
    for (op, join) in [("And", " and "), ("Or", " or ")] {
        if let Some(Value::Array(parts)) = rule.get(op) {
            let inner: Vec<String> = parts.iter().map(|p| rule_text(p, depth + 1)).collect();
            return format!("({})", inner.join(join));
        }
    }
    if let Some(n) = rule.get("Not") {
        return format!("not {}", rule_text(n, depth + 1));
    }
    let var = rule.get("Variable").and_then(Value::as_str).unwrap_or("?");
    let Some((op, value)) = rule.as_object().and_then(|o| {
        o.iter().find(|(k, _)| {
            !matches!(
                k.as_str(),
                "Variable" | "Next" | "Assign" | "Output" | "Comment"
            )
        })
    }) else {
        return var.to_string();
    };
    let (name, by_path) = match op.strip_suffix("Path") {
        Some(n) if n != "Is" => (n, true),
        _ => (op.as_str(), false),
    };
    let sym = [
        ("GreaterThanEquals", ">="),
        ("LessThanEquals", "<="),
        ("GreaterThan", ">"),
        ("LessThan", "<"),
        ("Equals", "=="),
        ("Matches", "matches"),
    ]
    .iter()
    .find(|(suffix, _)| name.ends_with(suffix))
    .map(|(_, s)| *s);
    let shown = match value {
        Value::String(s) if by_path => s.clone(),
        other => other.to_string(),
    };
    match sym {
        Some(s) => format!("{var} {s} {shown}"),
        None => format!("{var} {name} {shown}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn choice_labels() {
        let l = |v: Value| choice_label(&v);
        assert_eq!(
            l(json!({"Variable": "$.n", "NumericGreaterThan": 1990, "Next": "A"})),
            "$.n > 1990"
        );
        assert_eq!(
            l(json!({"Variable": "$.a", "StringEqualsPath": "$.b", "Next": "A"})),
            "$.a == $.b"
        );
        assert_eq!(
            l(json!({"Variable": "$.a", "IsPresent": true, "Next": "A"})),
            "$.a IsPresent true"
        );
        assert_eq!(
            l(json!({"And": [{"Variable": "$.a", "BooleanEquals": true},
                             {"Not": {"Variable": "$.b", "NumericLessThanEquals": 3}}], "Next": "A"})),
            "($.a == true and not $.b <= 3)"
        );
        assert_eq!(
            l(json!({"Condition": "{% $states.input.n > 3 %}", "Next": "A"})),
            "$states.input.n > 3"
        );
        assert!(l(json!({"Condition": "x".repeat(200)})).chars().count() <= MAX_LABEL);
        assert_eq!(l(json!(3)), "?");
    }

    #[test]
    fn nesting_is_limited() {
        let mut def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
        for i in 0..26 {
            let name = format!("P{i}");
            def = json!({"StartAt": name, "States": {name.clone(): {"Type": "Parallel", "End": true, "Branches": [def]}}});
        }
        let m = asl::validate(&def).expect("AWS's own nesting limit is not checked here");
        assert!(matches!(build(&m.root, Some(&def)), Err(Error::TooDeep(_))));
    }
}
