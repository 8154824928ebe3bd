//! Reading an execution history: the events of `.rsqlflow/executions/<name>.history.json`
//! (`{"events": [...]}`), of `aws stepfunctions get-execution-history --output json` (the same
//! shape; several pages simply concatenated are read one after the other), or a bare array.
//!
//! Reading is lenient where AWS's and recorded histories differ, and never panics: a timestamp
//! may be an RFC 3339 string or epoch seconds (the AWS CLI prints ISO 8601, or the service's
//! epoch seconds with `cli_timestamp_format = wire`: aws-cli's
//! tests/functional/test_timeformat.py) or missing (the conformance corpus normalises them); an id that is not a number takes the event's position;
//! `input`/`output` may be JSON text (AWS) or JSON values (recorded corpora).

use serde_json::{Map, Value};

use crate::Error;

/// The most events read: far above any execution's history (issue 16 plans for 25,000).
pub const MAX_EVENTS: usize = 1_000_000;

/// One history event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: u64,
    pub previous: u64,
    /// Milliseconds since the epoch.
    pub at: Option<i64>,
    /// `TaskStateEntered`, `ExecutionFailed`, ...
    pub kind: String,
    /// The event's `...EventDetails` object (empty if it has none).
    pub details: Map<String, Value>,
}

impl Event {
    /// A string field of the details.
    pub fn detail(&self, key: &str) -> Option<&str> {
        self.details.get(key).and_then(Value::as_str)
    }
}

/// Reads the events of one or more concatenated history documents.
pub fn parse(text: &str) -> Result<Vec<Event>, Error> {
    let mut out = Vec::new();
    let stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    for (page, doc) in stream.enumerate() {
        let doc = doc.map_err(|e| Error::History(format!("document {}: {e}", page + 1)))?;
        let list = match &doc {
            Value::Array(a) => a.as_slice(),
            Value::Object(o) => match o.get("events") {
                Some(Value::Array(a)) => a.as_slice(),
                _ => {
                    return Err(Error::History(format!(
                        "document {}: no \"events\" array",
                        page + 1
                    )));
                }
            },
            _ => {
                return Err(Error::History(format!(
                    "document {}: neither an object nor an array",
                    page + 1
                )));
            }
        };
        for v in list {
            if out.len() >= MAX_EVENTS {
                return Err(Error::History(format!("more than {MAX_EVENTS} events")));
            }
            let position = out.len() as u64 + 1;
            out.push(event(v, position)?);
        }
    }
    if out.is_empty() {
        return Err(Error::History("no events".into()));
    }
    Ok(out)
}

/// A Distributed Map's child execution with its own history (AWS keeps its events out of the
/// parent's: "Distributed mode", Step Functions Developer Guide).
#[derive(Debug, Clone)]
pub struct Child {
    pub name: String,
    pub execution_arn: String,
    pub map_run_arn: String,
    /// DescribeExecution's status (`SUCCEEDED`, `FAILED`, ...).
    pub status: String,
    pub events: Vec<Event>,
}

/// The most child executions read (a Distributed Map runs up to 10,000 at once; a run may
/// have many more over time).
pub const MAX_CHILDREN: usize = 100_000;

/// Reads the child executions a local run keeps as `<name>.children.json`: an array of
/// `{"mapRunArn", "executionArn", "name", "status", "events"}` (the events as in a history,
/// an array or `{"events": [...]}`).
pub fn parse_children(text: &str) -> Result<Vec<Child>, Error> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| Error::History(format!("child executions: {e}")))?;
    let list = doc
        .as_array()
        .ok_or_else(|| Error::History("child executions: not an array".into()))?;
    if list.len() > MAX_CHILDREN {
        return Err(Error::History(format!(
            "more than {MAX_CHILDREN} child executions"
        )));
    }
    let mut total = 0usize;
    let mut out = Vec::with_capacity(list.len());
    for (i, c) in list.iter().enumerate() {
        if !c.is_object() {
            return Err(Error::History(format!(
                "child execution {} is not an object",
                i + 1
            )));
        }
        let field = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let events = match c.get("events") {
            Some(Value::Array(a)) => a.as_slice(),
            Some(Value::Object(o)) => match o.get("events") {
                Some(Value::Array(a)) => a.as_slice(),
                _ => &[],
            },
            _ => &[],
        };
        total += events.len();
        if total > MAX_EVENTS {
            return Err(Error::History(format!(
                "child executions: more than {MAX_EVENTS} events"
            )));
        }
        let events = events
            .iter()
            .enumerate()
            .map(|(k, v)| event(v, k as u64 + 1))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::History(format!("child execution {}: {e}", i + 1)))?;
        out.push(Child {
            name: field("name"),
            execution_arn: field("executionArn"),
            map_run_arn: field("mapRunArn"),
            status: field("status"),
            events,
        });
    }
    Ok(out)
}

/// Reads one event; `position` (1-based) stands in for an id that is not a number.
pub fn event(v: &Value, position: u64) -> Result<Event, Error> {
    let o = v
        .as_object()
        .ok_or_else(|| Error::History(format!("event {position} is not an object")))?;
    let kind = o
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::History(format!("event {position} has no type")))?
        .to_string();
    let id = o.get("id").and_then(Value::as_u64).unwrap_or(position);
    let previous = o
        .get("previousEventId")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let at = o.get("timestamp").and_then(timestamp);
    let details = o
        .iter()
        .find(|(k, _)| k.ends_with("EventDetails"))
        .and_then(|(_, d)| d.as_object().cloned())
        .unwrap_or_default();
    Ok(Event {
        id,
        previous,
        at,
        kind,
        details,
    })
}

/// Milliseconds since the epoch from an RFC 3339 string or epoch seconds.
pub fn timestamp(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            let s = n.as_f64()?;
            (s.is_finite() && s.abs() < 1e13).then(|| (s * 1000.0).round() as i64)
        }
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis()),
        _ => None,
    }
}

/// The execution's input: the first `ExecutionStarted` event's.
pub fn execution_input(events: &[Event]) -> Option<Value> {
    let e = events.iter().find(|e| e.kind == "ExecutionStarted")?;
    payload(e.details.get("input"))
}

/// A payload as a JSON value: AWS gives JSON text, recorded corpora the value itself.
pub fn payload(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::String(s) => {
            Some(serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())))
        }
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_aws_and_concatenated_pages() {
        let local = r#"{"events":[{"timestamp":"2026-01-02T03:04:05.678Z","type":"ExecutionStarted","id":1,"previousEventId":0,"executionStartedEventDetails":{"input":"{}"}}]}"#;
        let e = parse(local).unwrap();
        assert_eq!(e[0].at, Some(1_767_323_045_678));
        assert_eq!(e[0].detail("input"), Some("{}"));
        let aws = r#"{"events":[{"timestamp":1767323045.5,"type":"ExecutionStarted","id":1,"previousEventId":0}],"nextToken":"x"}
{"events":[{"timestamp":"2026-01-02T04:04:05.000000+01:00","type":"ExecutionSucceeded","id":2,"previousEventId":1}]}"#;
        let e = parse(aws).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].at, Some(1_767_323_045_500));
        assert_eq!(e[1].at, Some(1_767_323_045_000));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in [
            "",
            "3",
            "{}",
            "[1]",
            "[{}]",
            "{\"events\":[{\"type\":1}]}",
            "{\"events\"",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let odd = r#"[{"type":"X","id":[0],"timestamp":"timestamp"}]"#;
        let e = parse(odd).unwrap();
        assert_eq!((e[0].id, e[0].at), (1, None));
    }
}
