//! The SAM template (template.yaml) as the local run and the deployment tests read it:
//! parameters, conditions and resources, with CloudFormation's short-form tags (`!Ref`,
//! `!GetAtt`, `!Sub`, ...) turned into their JSON long forms so properties read as plain JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// Why a template could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid YAML: {message}")]
    Yaml { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Shape { path: PathBuf, message: String },
}

/// One resource of the template.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// `AWS::S3::Bucket`, `AWS::Serverless::Function`, ...
    pub kind: String,
    pub condition: Option<String>,
    pub properties: Value,
    pub metadata: Value,
}

/// A state machine resource: where its definition lives and what fills its placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    pub logical_id: String,
    /// `DefinitionUri`, relative to the template's directory.
    pub definition_uri: Option<String>,
    /// `DefinitionSubstitutions`: placeholder name -> value (intrinsics in long form).
    pub substitutions: BTreeMap<String, Value>,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    pub path: PathBuf,
    /// `Globals`: properties every resource of a kind shares (`Function`, ...).
    pub globals: Value,
    pub parameters: BTreeMap<String, Value>,
    pub conditions: BTreeMap<String, Value>,
    pub resources: BTreeMap<String, Resource>,
    pub outputs: BTreeMap<String, Value>,
}

/// CloudFormation's pseudo parameters, valid targets of `Ref` and `${...}`.
pub const PSEUDO_PARAMETERS: [&str; 8] = [
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// serde_yaml refuses documents nested deeper than 128 levels, but only after scanning deep
/// flow collections in quadratic time (40,000 nested `[` take 12 s); deeper brackets are
/// refused here first, in one pass.
const MAX_FLOW_DEPTH: usize = 128;

/// The line where flow brackets (`[`, `{` where YAML starts a flow collection) nest deeper
/// than `max`, skipping quoted scalars and comments.
fn flow_nesting_beyond(text: &str, max: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut line = 1usize;
    // The last significant character on this line (None at its start).
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                prev = None;
                continue;
            }
            ' ' | '\t' | '\r' => continue,
            '#' => {
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
                continue;
            }
            '\'' | '"' if matches!(prev, None | Some(':' | '-' | '[' | '{' | ',' | '?')) => {
                // A quoted scalar: skip to its end ('' and \" escape the quote).
                while let Some(q) = chars.next() {
                    if q == '\n' {
                        line += 1;
                    } else if q == '\\' && c == '"' {
                        chars.next();
                    } else if q == c {
                        if c == '\'' && chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            '[' | '{' if matches!(prev, None | Some(':' | '-' | '[' | '{' | ',' | '?')) => {
                depth += 1;
                if depth > max {
                    return Some(line);
                }
            }
            ']' | '}' if depth > 0 => depth -= 1,
            _ => {}
        }
        prev = Some(c);
    }
    None
}

impl Template {
    /// Reads and parses a template file.
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Template::parse(&text, path)
    }

    /// Parses template text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Template, TemplateError> {
        if let Some(line) = flow_nesting_beyond(text, MAX_FLOW_DEPTH) {
            return Err(TemplateError::Yaml {
                path: path.to_path_buf(),
                message: format!(
                    "brackets nested more than {MAX_FLOW_DEPTH} levels deep at line {line}"
                ),
            });
        }
        let yaml: serde_yaml::Value =
            serde_yaml::from_str(text).map_err(|e| TemplateError::Yaml {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let doc = to_json(yaml);
        let shape = |message: String| TemplateError::Shape {
            path: path.to_path_buf(),
            message,
        };
        let section = |name: &str| -> Result<BTreeMap<String, Value>, TemplateError> {
            match &doc[name] {
                Value::Null => Ok(BTreeMap::new()),
                Value::Object(m) => Ok(m.clone().into_iter().collect()),
                _ => Err(shape(format!("{name} must be a mapping"))),
            }
        };
        let mut resources = BTreeMap::new();
        for (id, r) in section("Resources")? {
            let kind = r["Type"]
                .as_str()
                .ok_or_else(|| shape(format!("Resources/{id}/Type is missing")))?
                .to_string();
            resources.insert(
                id,
                Resource {
                    kind,
                    condition: r["Condition"].as_str().map(String::from),
                    properties: r.get("Properties").cloned().unwrap_or(json!({})),
                    metadata: r.get("Metadata").cloned().unwrap_or(json!({})),
                },
            );
        }
        if resources.is_empty() {
            return Err(shape("the template has no Resources".into()));
        }
        Ok(Template {
            path: path.to_path_buf(),
            globals: doc.get("Globals").cloned().unwrap_or(json!({})),
            parameters: section("Parameters")?,
            conditions: section("Conditions")?,
            resources,
            outputs: section("Outputs")?,
        })
    }

    /// Resources of one type.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Resource)> {
        self.resources
            .iter()
            .filter(move |(_, r)| r.kind == kind)
            .map(|(id, r)| (id.as_str(), r))
    }

    /// The state machines (`AWS::Serverless::StateMachine` and `AWS::StepFunctions::StateMachine`).
    pub fn state_machines(&self) -> Vec<StateMachine> {
        self.resources
            .iter()
            .filter(|(_, r)| {
                r.kind == "AWS::Serverless::StateMachine"
                    || r.kind == "AWS::StepFunctions::StateMachine"
            })
            .map(|(id, r)| {
                let p = &r.properties;
                let uri = p["DefinitionUri"]
                    .as_str()
                    .or(p["DefinitionS3Location"].as_str())
                    .map(String::from);
                StateMachine {
                    logical_id: id.clone(),
                    definition_uri: uri,
                    substitutions: p["DefinitionSubstitutions"]
                        .as_object()
                        .map(|m| m.clone().into_iter().collect())
                        .unwrap_or_default(),
                }
            })
            .collect()
    }

    /// The state machine whose `DefinitionUri` is `definition` (compared as paths from the
    /// template's directory).
    pub fn state_machine_for(&self, definition: &Path) -> Option<StateMachine> {
        let base = self.path.parent().unwrap_or(Path::new("."));
        let want = normalize(definition);
        self.state_machines().into_iter().find(|sm| {
            sm.definition_uri
                .as_deref()
                .is_some_and(|u| normalize(&base.join(u)) == want)
        })
    }

    /// Every `Ref`, `Fn::GetAtt` and `${Name}` of `Fn::Sub` in resources, conditions and
    /// outputs, as (where, target) pairs: `where` is a path such as `Resources/Key/Properties`.
    pub fn references(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (id, r) in &self.resources {
            collect_refs(
                &r.properties,
                &format!("Resources/{id}/Properties"),
                &mut out,
            );
        }
        for (id, c) in &self.conditions {
            collect_refs(c, &format!("Conditions/{id}"), &mut out);
        }
        for (id, o) in &self.outputs {
            collect_refs(o, &format!("Outputs/{id}"), &mut out);
        }
        out
    }

    /// Whether `name` is something a reference may point at: a parameter, a resource or a
    /// pseudo parameter.
    pub fn defines(&self, name: &str) -> bool {
        self.parameters.contains_key(name)
            || self.resources.contains_key(name)
            || PSEUDO_PARAMETERS.contains(&name)
    }
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// YAML (with CloudFormation tags) to JSON in CloudFormation's long form.
fn to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64().unwrap_or_default())
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_yaml::to_string(&other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                out.insert(key, to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = to_json(t.value);
            match name {
                "Ref" => json!({ "Ref": value }),
                "Condition" => json!({ "Condition": value }),
                "GetAtt" => match value {
                    Value::String(s) => {
                        let (res, attr) = s.split_once('.').unwrap_or((s.as_str(), ""));
                        json!({ "Fn::GetAtt": [res, attr] })
                    }
                    other => json!({ "Fn::GetAtt": other }),
                },
                other => {
                    let mut m = Map::new();
                    m.insert(format!("Fn::{other}"), value);
                    Value::Object(m)
                }
            }
        }
    }
}

/// The `${Name}` references of a `Fn::Sub` string (`${!Literal}` and `${A.B}` handled).
pub fn sub_names(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            out.push(name.split('.').next().unwrap_or(name).to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

/// The references inside one value (a property, an event pattern), as [`Template::references`]
/// reports them, with `at` as the path prefix.
pub fn references_in(v: &Value, at: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect_refs(v, at, &mut out);
    out
}

fn collect_refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(target)) = m.get("Ref") {
                out.push((at.to_string(), target.clone()));
            }
            if let Some(Value::Array(parts)) = m.get("Fn::GetAtt")
                && let Some(Value::String(target)) = parts.first()
            {
                out.push((at.to_string(), target.clone()));
            }
            match m.get("Fn::Sub") {
                Some(Value::String(s)) => {
                    out.extend(sub_names(s).into_iter().map(|n| (at.to_string(), n)))
                }
                Some(Value::Array(parts)) => {
                    // [string, {Var: value}]: the variables are defined locally.
                    let locals: Vec<&String> = parts
                        .get(1)
                        .and_then(|v| v.as_object())
                        .map(|m| m.keys().collect())
                        .unwrap_or_default();
                    if let Some(Value::String(s)) = parts.first() {
                        out.extend(
                            sub_names(s)
                                .into_iter()
                                .filter(|n| !locals.contains(&n))
                                .map(|n| (at.to_string(), n)),
                        );
                    }
                    if let Some(vars) = parts.get(1) {
                        collect_refs(vars, at, out);
                    }
                }
                _ => {}
            }
            for (k, v) in m {
                if k != "Fn::Sub" {
                    collect_refs(v, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"
Parameters:
  Email: { Type: String, Default: "" }
Conditions:
  HasEmail: !Not [!Equals [!Ref Email, ""]]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Resource: !Sub "${Bucket.Arn}/*"
              Action: s3:GetObject
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: sm/flow.asl.json
      DefinitionSubstitutions:
        FnArn: !GetAtt Fn.Arn
        Name: !Sub ["${A}-x", { A: !Ref Email }]
"#;

    #[test]
    fn tags_become_long_forms_and_references_are_found() {
        let t = Template::parse(T, Path::new("dir/template.yaml")).unwrap();
        let sm = &t.state_machines()[0];
        assert_eq!(
            sm.substitutions["FnArn"],
            json!({"Fn::GetAtt": ["Fn", "Arn"]})
        );
        assert_eq!(
            t.conditions["HasEmail"],
            json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "Email"}, ""]}]})
        );
        let targets: Vec<String> = t.references().into_iter().map(|(_, n)| n).collect();
        assert!(targets.contains(&"Bucket".to_string()), "{targets:?}");
        assert!(targets.contains(&"Fn".to_string()));
        assert!(targets.contains(&"Email".to_string()));
        assert!(
            !targets.contains(&"A".to_string()),
            "Sub's own variables are local"
        );
        assert!(
            t.state_machine_for(Path::new("dir/./sm/flow.asl.json"))
                .is_some()
        );
        assert!(t.state_machine_for(Path::new("sm/flow.asl.json")).is_none());
    }

    #[test]
    fn bad_templates_name_the_problem() {
        let e = Template::parse("Resources: [1]", Path::new("t.yaml")).unwrap_err();
        assert!(e.to_string().contains("Resources must be a mapping"), "{e}");
        let e = Template::parse("Resources:\n  X: {}\n", Path::new("t.yaml")).unwrap_err();
        assert!(e.to_string().contains("Resources/X/Type is missing"), "{e}");
        let e = Template::parse("a: [", Path::new("t.yaml")).unwrap_err();
        assert!(e.to_string().starts_with("t.yaml: not valid YAML"), "{e}");
    }

    #[test]
    fn deep_templates_are_refused_without_overflowing_the_stack() {
        // serde_yaml stops at 128 levels of nesting; every walk over the value afterwards is
        // therefore bounded too. 100,000 levels, on a test thread's 2 MiB stack.
        assert_eq!(
            flow_nesting_beyond("a: [b, {c: 'x[[[', d: \"]\\\"{{\"}] # [[[[", 1),
            Some(1)
        );
        assert_eq!(flow_nesting_beyond("a: [b, {c: 'x[[['}]", 2), None);
        assert_eq!(flow_nesting_beyond("a: foo[1] and {x}\nb: [1]", 1), None);
        for text in [
            format!("Resources: {}{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!(
                "Resources:\n  X: {}1{}",
                "{a: ".repeat(100_000),
                "}".repeat(100_000)
            ),
            format!("Resources: {}", "- ".repeat(100_000)),
        ] {
            let e = Template::parse(&text, Path::new("deep.yaml")).unwrap_err();
            assert!(e.to_string().starts_with("deep.yaml"), "{e}");
        }
    }

    #[test]
    fn sub_names_skip_literals() {
        assert_eq!(
            sub_names("arn:${AWS::Partition}:s3:::${B.Arn}/${!Literal}"),
            vec!["AWS::Partition".to_string(), "B".to_string()]
        );
    }
}
