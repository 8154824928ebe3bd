//! start-workflow's routing table: which workflow (state machine) each trigger starts. A route
//! is an S3 prefix and suffix, or a schedule; an event starts every workflow whose route
//! matches it, as EventBridge runs every rule that matches an event. The table is JSON
//! (`RSQLFLOW_ROUTES`, which template.yaml builds from its parameters and state machines):
//!
//! ```json
//! [{"name": "orders", "stateMachineArn": "arn:...:stateMachine:st-orders-incremental",
//!   "s3": {"prefix": "incoming/orders/", "suffix": ""}},
//!  {"name": "nightly", "stateMachineArn": "arn:...:stateMachine:st-nightly-summary",
//!   "schedule": "st-nightly-summary"}]
//! ```
//!
//! A route's name starts the names of the executions it starts (`orders-<file>-<hash>`,
//! `nightly-2026-11-01T02-00-00Z`), so two workflows started by one event never share a name.

use serde_json::Value;

use crate::events::Trigger;

/// The most routes one table holds.
pub const MAX_ROUTES: usize = 100;
/// The longest route name: it starts execution names, which are at most 80 characters.
pub const MAX_ROUTE_NAME: usize = 24;

/// Why a routing table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutesError {
    #[error("the routing table is not JSON: {0}")]
    Json(String),
    #[error("the routing table must be a JSON array of routes (at most {MAX_ROUTES})")]
    NotAList,
    #[error("route {index}: {message}")]
    Route { index: usize, message: String },
    #[error("route {index}: the name \"{name}\" is used by route {first} too")]
    Duplicate {
        index: usize,
        first: usize,
        name: String,
    },
}

/// Which scheduled events a schedule route takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleMatch {
    /// Every scheduled event (`"schedule": "*"`).
    Any,
    /// Events from the schedule (EventBridge Scheduler) or rule (EventBridge) of this name: the
    /// last part of the ARN in the event's `resources`.
    Named(String),
}

/// What a route reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTrigger {
    /// Objects created with a key that starts with `prefix` and ends with `suffix`.
    S3 {
        prefix: String,
        suffix: String,
    },
    Schedule(ScheduleMatch),
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// 1 to [`MAX_ROUTE_NAME`] lowercase letters, digits and `-`, starting with a letter.
    pub name: String,
    pub state_machine_arn: String,
    pub trigger: RouteTrigger,
}

impl Route {
    /// Whether the trigger starts this route's workflow.
    pub fn matches(&self, t: &Trigger) -> bool {
        match (&self.trigger, t) {
            (RouteTrigger::S3 { prefix, suffix }, Trigger::S3 { key, .. }) => {
                key.starts_with(prefix.as_str())
                    && key.ends_with(suffix.as_str())
                    && key.len() >= prefix.len() + suffix.len()
            }
            (RouteTrigger::Schedule(ScheduleMatch::Any), Trigger::Schedule { .. }) => true,
            (
                RouteTrigger::Schedule(ScheduleMatch::Named(n)),
                Trigger::Schedule { schedule, .. },
            ) => schedule.as_deref() == Some(n.as_str()),
            _ => false,
        }
    }

    /// What the route takes, in words (for "ignored" answers and `--help`).
    pub fn describe(&self) -> String {
        match &self.trigger {
            RouteTrigger::S3 { prefix, suffix } => {
                format!("{}: keys \"{prefix}*{suffix}\"", self.name)
            }
            RouteTrigger::Schedule(ScheduleMatch::Any) => format!("{}: any schedule", self.name),
            RouteTrigger::Schedule(ScheduleMatch::Named(n)) => {
                format!("{}: schedule {n}", self.name)
            }
        }
    }
}

/// Checks a route name.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_ROUTE_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the name \"{name}\" must be 1 to {MAX_ROUTE_NAME} lowercase letters, digits and -, \
             starting with a letter"
        ))
    }
}

/// A schedule's name as EventBridge Scheduler and EventBridge name them: 1-64 letters,
/// digits, `.`, `-` and `_` (AWS::Scheduler::Schedule `Name`; AWS::Events::Rule `Name`).
fn valid_schedule_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn route(index: usize, v: &Value) -> Result<Route, RoutesError> {
    let bad = |message: String| RoutesError::Route { index, message };
    let o = v
        .as_object()
        .ok_or_else(|| bad("a route is a JSON object".into()))?;
    for k in o.keys() {
        if !matches!(k.as_str(), "name" | "stateMachineArn" | "s3" | "schedule") {
            return Err(bad(format!(
                "unknown field \"{k}\" (a route has name, stateMachineArn, and s3 or schedule)"
            )));
        }
    }
    let name = o
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("\"name\" (a string) is missing".into()))?;
    validate_name(name).map_err(bad)?;
    let arn = o
        .get("stateMachineArn")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{name}: \"stateMachineArn\" (a string) is missing")))?;
    if !arn.starts_with("arn:") || !arn.contains(":states:") || !arn.contains(":stateMachine:") {
        return Err(bad(format!(
            "{name}: \"stateMachineArn\" is not a state machine ARN: {arn}"
        )));
    }
    let trigger = match (o.get("s3"), o.get("schedule")) {
        (Some(s3), None) => {
            let s3 = s3
                .as_object()
                .ok_or_else(|| bad(format!("{name}: \"s3\" is an object")))?;
            let field = |f: &str| -> Result<String, RoutesError> {
                match s3.get(f) {
                    None => Ok(String::new()),
                    Some(Value::String(s)) if s.len() <= 1024 => Ok(s.clone()),
                    Some(_) => Err(bad(format!(
                        "{name}: \"s3.{f}\" is a string of at most 1,024 characters"
                    ))),
                }
            };
            if let Some(k) = s3
                .keys()
                .find(|k| !matches!(k.as_str(), "prefix" | "suffix"))
            {
                return Err(bad(format!(
                    "{name}: unknown field \"s3.{k}\" (prefix and suffix)"
                )));
            }
            RouteTrigger::S3 {
                prefix: field("prefix")?,
                suffix: field("suffix")?,
            }
        }
        (None, Some(Value::String(s))) if s == "*" => RouteTrigger::Schedule(ScheduleMatch::Any),
        (None, Some(Value::String(s))) if valid_schedule_name(s) => {
            RouteTrigger::Schedule(ScheduleMatch::Named(s.clone()))
        }
        (None, Some(s)) => {
            return Err(bad(format!(
                "{name}: \"schedule\" is a schedule name (1-64 letters, digits, ., - and _) or \
                 \"*\", not {s}"
            )));
        }
        (Some(_), Some(_)) => {
            return Err(bad(format!(
                "{name}: either \"s3\" or \"schedule\", not both"
            )));
        }
        (None, None) => {
            return Err(bad(format!("{name}: \"s3\" or \"schedule\" is missing")));
        }
    };
    Ok(Route {
        name: name.to_string(),
        state_machine_arn: arn.to_string(),
        trigger,
    })
}

/// Reads a routing table.
pub fn parse(text: &str) -> Result<Vec<Route>, RoutesError> {
    let v: Value = serde_json::from_str(text).map_err(|e| RoutesError::Json(e.to_string()))?;
    let list = v.as_array().ok_or(RoutesError::NotAList)?;
    if list.len() > MAX_ROUTES {
        return Err(RoutesError::NotAList);
    }
    let mut routes: Vec<Route> = Vec::with_capacity(list.len());
    for (index, r) in list.iter().enumerate() {
        let r = route(index, r)?;
        if let Some(first) = routes.iter().position(|x| x.name == r.name) {
            return Err(RoutesError::Duplicate {
                index,
                first,
                name: r.name,
            });
        }
        routes.push(r);
    }
    Ok(routes)
}

/// The table of a stack with one workflow: objects under `prefix` ending with `suffix` (route
/// `s3`) and every schedule (route `schedule`) start `state_machine_arn`.
pub fn single(state_machine_arn: &str, prefix: &str, suffix: &str) -> Vec<Route> {
    vec![
        Route {
            name: "s3".into(),
            state_machine_arn: state_machine_arn.into(),
            trigger: RouteTrigger::S3 {
                prefix: prefix.into(),
                suffix: suffix.into(),
            },
        },
        Route {
            name: "schedule".into(),
            state_machine_arn: state_machine_arn.into(),
            trigger: RouteTrigger::Schedule(ScheduleMatch::Any),
        },
    ]
}

/// The routes a trigger matches, in table order.
pub fn matching<'a>(routes: &'a [Route], t: &Trigger) -> Vec<&'a Route> {
    routes.iter().filter(|r| r.matches(t)).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:st-orders";

    fn s3(key: &str) -> Trigger {
        Trigger::S3 {
            bucket: "b".into(),
            key: key.into(),
            size: None,
            etag: None,
            sequencer: None,
        }
    }

    fn sched(name: Option<&str>) -> Trigger {
        Trigger::Schedule {
            time: "2026-11-01T02:00:00Z".into(),
            schedule: name.map(String::from),
        }
    }

    #[test]
    fn routes_match_their_prefix_suffix_or_schedule() {
        let t = parse(
            &json!([
                {"name": "orders", "stateMachineArn": ARN, "s3": {"prefix": "incoming/orders/", "suffix": ".gz"}},
                {"name": "tpch", "stateMachineArn": ARN, "s3": {"prefix": "incoming/"}},
                {"name": "nightly", "stateMachineArn": ARN, "schedule": "st-nightly"},
                {"name": "any", "stateMachineArn": ARN, "schedule": "*"}
            ])
            .to_string(),
        )
        .unwrap();
        let names = |tr: &Trigger| {
            matching(&t, tr)
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&s3("incoming/orders/o_1.tbl.gz")), ["orders", "tpch"]);
        assert_eq!(names(&s3("incoming/orders/o_1.tbl")), ["tpch"]);
        assert_eq!(names(&s3("other/x.gz")), Vec::<&str>::new());
        assert_eq!(names(&sched(Some("st-nightly"))), ["nightly", "any"]);
        assert_eq!(names(&sched(Some("other"))), ["any"]);
        assert_eq!(names(&sched(None)), ["any"]);
    }

    #[test]
    fn a_prefix_and_suffix_do_not_overlap() {
        let r = &single(ARN, "ab", "ba")[0];
        assert!(!r.matches(&s3("aba")));
        assert!(r.matches(&s3("abba")));
    }

    #[test]
    fn bad_tables_name_the_route_and_field() {
        for (table, says) in [
            (json!({}), "JSON array"),
            (json!([1]), "route 0: a route is a JSON object"),
            (json!([{"stateMachineArn": ARN, "s3": {}}]), "\"name\""),
            (
                json!([{"name": "Orders", "stateMachineArn": ARN, "s3": {}}]),
                "lowercase",
            ),
            (
                json!([{"name": "o", "stateMachineArn": "arn:aws:lambda:x", "s3": {}}]),
                "not a state machine ARN",
            ),
            (json!([{"name": "o", "stateMachineArn": ARN}]), "missing"),
            (
                json!([{"name": "o", "stateMachineArn": ARN, "s3": {}, "schedule": "*"}]),
                "not both",
            ),
            (
                json!([{"name": "o", "stateMachineArn": ARN, "s3": {"prefx": ""}}]),
                "s3.prefx",
            ),
            (
                json!([{"name": "o", "stateMachineArn": ARN, "schedule": "a b"}]),
                "schedule name",
            ),
            (
                json!([{"name": "o", "stateMachineArn": ARN, "schedule": "*"},
                       {"name": "o", "stateMachineArn": ARN, "schedule": "*"}]),
                "route 1: the name \"o\" is used by route 0",
            ),
        ] {
            let e = parse(&table.to_string()).unwrap_err().to_string();
            assert!(e.contains(says), "{table}: {e}");
        }
        assert!(matches!(parse("[").unwrap_err(), RoutesError::Json(_)));
    }

    proptest! {
        #[test]
        fn parsing_any_text_never_panics(s in ".{0,200}") {
            let _ = parse(&s);
        }

        #[test]
        fn a_prefix_route_takes_exactly_the_keys_under_it(
            prefix in "[a-z/]{0,8}", key in "[a-z/.]{0,16}"
        ) {
            let r = &single(ARN, &prefix, "")[0];
            prop_assert_eq!(r.matches(&s3(&key)), key.starts_with(&prefix));
        }
    }
}
