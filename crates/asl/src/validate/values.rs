//! Compiling field values (JSONPath): reference and other paths, InputPath/OutputPath/
//! ResultPath, payload templates with `.$` fields and intrinsic functions, Assign, and
//! numbers given literally (seconds within AWS's range) or by a `…Path`.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::intrinsic::{self, looks_like_call};
use crate::model::*;
use crate::path::Path;

use super::jsonata::Reads;
use super::{MAX_SECONDS, Validator};

impl Validator {
    /// A path at `loc`; `reference`: it must be a reference path (one node).
    pub(super) fn path(&mut self, text: &str, loc: &str, reference: bool) -> Option<Path> {
        match Path::parse(text) {
            Ok(p) => {
                if reference && !p.is_reference() {
                    self.problem(
                        loc,
                        format!("'{text}' is not a reference path (one node, no wildcards, filters or slices)"),
                    );
                }
                Some(p)
            }
            Err(e) => {
                self.problem(loc, e.to_string());
                None
            }
        }
    }

    /// InputPath, OutputPath or ResultPath (`key`): absent, null or a path; `any_path`:
    /// not limited to reference paths.
    pub(super) fn path_field(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        loc: &str,
        any_path: bool,
    ) -> PathField {
        match obj.get(key) {
            None => PathField::Default,
            Some(Value::Null) => PathField::Null,
            Some(Value::String(s)) => {
                let floc = format!("{loc}/{key}");
                match self.path(s, &floc, !any_path) {
                    Some(p) => PathField::Path(p),
                    None => PathField::Default,
                }
            }
            Some(_) => {
                self.problem(
                    &format!("{loc}/{key}"),
                    format!("{key} must be a string or null"),
                );
                PathField::Default
            }
        }
    }

    /// ResultPath: a reference path into the input (`$.`), or null.
    pub(super) fn result_path(&mut self, obj: &Map<String, Value>, loc: &str) -> PathField {
        let f = self.path_field(obj, "ResultPath", loc, false);
        if let PathField::Path(p) = &f
            && p.root != crate::path::Root::Input
        {
            self.problem(
                &format!("{loc}/ResultPath"),
                "ResultPath must start with '$.' (not the context object or a variable)",
            );
        }
        f
    }

    /// Compiles a payload template: keys ending in `.$` hold a path or an intrinsic call.
    pub(super) fn template(&mut self, v: &Value, loc: &str) -> Template {
        match v {
            Value::Object(o) => {
                let mut out = Vec::new();
                let mut seen = HashSet::new();
                for (k, x) in o {
                    let floc = format!("{loc}/{k}");
                    if let Some(base) = k.strip_suffix(".$") {
                        if !seen.insert(base.to_string()) {
                            self.problem(&floc, format!("field '{base}' is given twice"));
                        }
                        let Some(s) = x.as_str() else {
                            self.problem(
                                &floc,
                                format!("the value of '{k}' must be a string holding a path or an intrinsic function"),
                            );
                            continue;
                        };
                        if let Some(t) = self.dynamic(s, &floc) {
                            out.push((base.to_string(), t));
                        }
                    } else {
                        if !seen.insert(k.clone()) {
                            self.problem(&floc, format!("field '{k}' is given twice"));
                        }
                        out.push((k.clone(), self.template(x, &floc)));
                    }
                }
                Template::Object(out)
            }
            Value::Array(a) => Template::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| self.template(x, &format!("{loc}/{i}")))
                    .collect(),
            ),
            other => Template::Literal(other.clone()),
        }
    }

    /// The value of a `.$` field: a path or an intrinsic function call.
    fn dynamic(&mut self, s: &str, loc: &str) -> Option<Template> {
        if looks_like_call(s) {
            match intrinsic::parse(s) {
                Ok(c) => Some(Template::Call(c)),
                Err(e) => {
                    self.problem(loc, e.to_string());
                    None
                }
            }
        } else if s.starts_with('$') {
            self.path(s, loc, false).map(Template::Path)
        } else {
            self.problem(
                loc,
                format!(
                    "'{s}' is neither a JSONPath (starting with '$') nor an intrinsic function"
                ),
            );
            None
        }
    }

    /// An Assign field: its keys must be valid variable names; its values a JSONPath
    /// template or a JSONata payload (reading the `$states` members `reads` allows).
    pub(super) fn assign(
        &mut self,
        v: &Value,
        loc: &str,
        lang: QueryLanguage,
        reads: Reads,
    ) -> Option<Builder> {
        if let Some(o) = v.as_object() {
            for k in o.keys() {
                let name = match lang {
                    QueryLanguage::JsonPath => k.strip_suffix(".$").unwrap_or(k),
                    QueryLanguage::Jsonata => k,
                };
                let valid = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_alphanumeric() || c == '_')
                    && name.chars().count() <= 80;
                if !valid {
                    self.problem(
                        &format!("{loc}/{k}"),
                        format!("'{name}' is not a valid variable name"),
                    );
                } else if name == "states" {
                    self.problem(&format!("{loc}/{k}"), "'states' is a reserved name");
                }
            }
        } else {
            self.problem(loc, "Assign must be an object");
        }
        match lang {
            QueryLanguage::JsonPath => Some(Builder::Template(self.template(v, loc))),
            QueryLanguage::Jsonata => self.payload(v, loc, reads).map(Builder::Jsonata),
        }
    }

    /// A number of seconds: an integer from `min` to 99999999, the range AWS's own schema
    /// gives top-level and Task TimeoutSeconds, HeartbeatSeconds, Wait Seconds and Retry
    /// IntervalSeconds ("seconds" in
    /// https://github.com/aws/amazon-states-language-service/blob/main/src/json-schema/partial/common.json;
    /// Wait Seconds "from 0 up to 99999999" in
    /// https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-wait-state.html).
    pub(super) fn seconds(&mut self, v: &Value, loc: &str, min: u64) -> Option<u64> {
        match v.as_u64() {
            Some(n) if (min..=MAX_SECONDS).contains(&n) => Some(n),
            _ => {
                self.problem(
                    loc,
                    format!("must be an integer from {min} to {MAX_SECONDS}, got {v}"),
                );
                None
            }
        }
    }

    /// A number given as `key` (seconds when `positive`, else any non-negative integer)
    /// or by `keyPath`; in JSONata, `key` may hold an expression instead.
    pub(super) fn number(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        loc: &str,
        positive: bool,
        lang: QueryLanguage,
    ) -> Option<Number> {
        if lang == QueryLanguage::Jsonata {
            let v = obj.get(key)?;
            return self.jsonata_number(v, &format!("{loc}/{key}"), positive as u64, positive);
        }
        let pkey = format!("{key}Path");
        match (obj.get(key), obj.get(&pkey)) {
            (Some(_), Some(_)) => {
                self.problem(loc, format!("'{key}' and '{pkey}' cannot both be given"));
                None
            }
            (Some(v), None) => {
                let floc = format!("{loc}/{key}");
                if positive {
                    self.seconds(v, &floc, 1).map(Number::Fixed)
                } else {
                    match v.as_u64() {
                        Some(n) => Some(Number::Fixed(n)),
                        None => {
                            self.problem(&floc, format!("must be a non-negative integer, got {v}"));
                            None
                        }
                    }
                }
            }
            (None, Some(Value::String(s))) => self
                .path(s, &format!("{loc}/{pkey}"), true)
                .map(Number::Path),
            (None, Some(_)) => {
                self.problem(&format!("{loc}/{pkey}"), "must be a path string");
                None
            }
            (None, None) => None,
        }
    }
}
