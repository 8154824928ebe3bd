//! The local stack's routing table: start-workflow's `RSQLFLOW_ROUTES` as template.yaml sets
//! it, with parameters at their defaults, the stack named [`STACK`] and each state machine
//! resource standing for its local definition file. `rsqlflow trigger` and `rsqlflow watch`
//! route events with it, so a file that starts a workflow in AWS starts the same one locally.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::local::pipeline::{ACCOUNT, REGION, state_machine_name};
use crate::routes::{self, Route, RouteTrigger, RoutesError, ScheduleMatch};
use crate::settings::vars;
use crate::template::Template;

/// The local stack's name (`${AWS::StackName}`): the local resources are `rsqlflow-...`.
pub const STACK: &str = "rsqlflow";

/// Why the template's routes cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LocalRoutesError {
    #[error("{template}: {at}: {message}")]
    Template {
        template: PathBuf,
        at: String,
        message: String,
    },
    #[error("{template}: {at}: {source}")]
    Routes {
        template: PathBuf,
        at: String,
        source: RoutesError,
    },
    #[error(
        "{template}: {at}: route {route} starts {arn}, which is not a state machine of the template"
    )]
    Unknown {
        template: PathBuf,
        at: String,
        route: String,
        arn: String,
    },
}

/// Routes and the definition file each one's state machine runs.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalRoutes {
    pub routes: Vec<Route>,
    /// State machine ARN -> definition file.
    pub definitions: BTreeMap<String, PathBuf>,
}

/// A local state machine's ARN, from its definition file (as `rsqlflow run` names it).
pub fn state_machine_arn(definition: &Path) -> String {
    format!(
        "arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{}",
        state_machine_name(definition)
    )
}

/// The ARN of a local EventBridge Scheduler schedule.
pub fn schedule_arn(name: &str) -> String {
    format!("arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{name}")
}

impl LocalRoutes {
    /// One workflow: keys under `prefix` ending with `suffix` (route `s3`) and every schedule
    /// (route `schedule`) start `definition`.
    pub fn single(definition: &Path, prefix: &str, suffix: &str) -> LocalRoutes {
        let arn = state_machine_arn(definition);
        LocalRoutes {
            routes: routes::single(&arn, prefix, suffix),
            definitions: [(arn, definition.to_path_buf())].into(),
        }
    }

    /// The definition a route runs.
    pub fn definition(&self, state_machine_arn: &str) -> Option<&Path> {
        self.definitions
            .get(state_machine_arn)
            .map(PathBuf::as_path)
    }

    /// The routes that take schedules.
    pub fn schedules(&self) -> impl Iterator<Item = &Route> {
        self.routes
            .iter()
            .filter(|r| matches!(r.trigger, RouteTrigger::Schedule(_)))
    }

    /// The scheduled event the schedule of `route` sends at `time`.
    pub fn scheduled_event(route: &Route, time: &str) -> Value {
        match &route.trigger {
            RouteTrigger::Schedule(ScheduleMatch::Named(n)) => {
                crate::events::scheduled_by(time, &schedule_arn(n))
            }
            _ => crate::events::scheduled(time),
        }
    }

    /// The routes of start-workflow in `template` (the function whose build binary is
    /// `start-workflow`), or `None` when it has no such function or sets no `RSQLFLOW_ROUTES`.
    pub fn from_template(t: &Template) -> Result<Option<LocalRoutes>, LocalRoutesError> {
        let Some((id, f)) = t
            .of_kind("AWS::Serverless::Function")
            .find(|(_, r)| r.metadata["BuildProperties"]["Binary"] == "start-workflow")
        else {
            return Ok(None);
        };
        let at = format!(
            "Resources/{id}/Properties/Environment/Variables/{}",
            vars::ROUTES
        );
        let Some(v) = f.properties["Environment"]["Variables"].get(vars::ROUTES) else {
            return Ok(None);
        };
        let err = |message: String| LocalRoutesError::Template {
            template: t.path.clone(),
            at: at.clone(),
            message,
        };
        let text = match v {
            Value::String(s) => s.as_str(),
            Value::Object(o) => match o.get("Fn::Sub") {
                Some(Value::String(s)) => s.as_str(),
                _ => {
                    return Err(err(
                        "the local run reads a string or a !Sub of a string here".into(),
                    ));
                }
            },
            _ => return Err(err("not a string".into())),
        };
        let base = t.path.parent().unwrap_or(Path::new("."));
        let mut definitions = BTreeMap::new();
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| err("an unclosed ${ in the !Sub".into()))?;
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            let value = match name {
                "AWS::StackName" => STACK.to_string(),
                "AWS::Region" => REGION.to_string(),
                "AWS::AccountId" => ACCOUNT.to_string(),
                "AWS::Partition" => "aws".to_string(),
                _ => {
                    if let Some(p) = t.parameters.get(name) {
                        match &p["Default"] {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            _ => {
                                return Err(err(format!(
                                    "parameter {name} has no default for the local run"
                                )));
                            }
                        }
                    } else if let Some(sm) = t
                        .state_machines()
                        .into_iter()
                        .find(|sm| sm.logical_id == name)
                    {
                        let uri = sm.definition_uri.ok_or_else(|| {
                            err(format!("state machine {name} has no DefinitionUri"))
                        })?;
                        let path = base.join(uri);
                        let arn = state_machine_arn(&path);
                        definitions.insert(arn.clone(), path);
                        arn
                    } else {
                        return Err(err(format!(
                            "${{{name}}} is neither a parameter nor a state machine of the template"
                        )));
                    }
                }
            };
            out.push_str(&value);
        }
        out.push_str(rest);
        let routes = routes::parse(&out).map_err(|source| LocalRoutesError::Routes {
            template: t.path.clone(),
            at: at.clone(),
            source,
        })?;
        for r in &routes {
            if !definitions.contains_key(&r.state_machine_arn) {
                return Err(LocalRoutesError::Unknown {
                    template: t.path.clone(),
                    at: at.clone(),
                    route: r.name.clone(),
                    arn: r.state_machine_arn.clone(),
                });
            }
        }
        Ok(Some(LocalRoutes {
            routes,
            definitions,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(routes: &str) -> Template {
        let text = format!(
            r#"
Parameters:
  OrdersPrefix: {{ Type: String, Default: incoming/orders/ }}
  NoDefault: {{ Type: String }}
Resources:
  Orders:
    Type: AWS::Serverless::StateMachine
    Properties: {{ DefinitionUri: state-machines/orders-incremental.asl.json }}
  Start:
    Type: AWS::Serverless::Function
    Metadata: {{ BuildProperties: {{ Binary: start-workflow }} }}
    Properties:
      Environment:
        Variables:
          RSQLFLOW_ROUTES: !Sub '{routes}'
"#
        );
        Template::parse(&text, Path::new("/stack/template.yaml")).unwrap()
    }

    #[test]
    fn routes_come_from_the_template_with_local_names() {
        let t = template(
            r#"[{"name": "orders", "stateMachineArn": "${Orders}", "s3": {"prefix": "${OrdersPrefix}"}},
                {"name": "nightly", "stateMachineArn": "${Orders}", "schedule": "${AWS::StackName}-nightly"}]"#,
        );
        let r = LocalRoutes::from_template(&t).unwrap().unwrap();
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:orders-incremental";
        assert_eq!(r.routes[0].state_machine_arn, arn);
        assert_eq!(
            r.routes[0].trigger,
            RouteTrigger::S3 {
                prefix: "incoming/orders/".into(),
                suffix: String::new()
            }
        );
        assert_eq!(
            r.routes[1].trigger,
            RouteTrigger::Schedule(ScheduleMatch::Named("rsqlflow-nightly".into()))
        );
        assert_eq!(
            r.definition(arn),
            Some(Path::new(
                "/stack/state-machines/orders-incremental.asl.json"
            ))
        );
        let ev = LocalRoutes::scheduled_event(&r.routes[1], "2026-11-01T00:00:00Z");
        let trig = crate::events::trigger(&ev).unwrap();
        assert!(r.routes[1].matches(&trig) && !r.routes[0].matches(&trig));
    }

    #[test]
    fn what_the_local_run_cannot_fill_is_named() {
        for (routes, says) in [
            (
                r#"[{"name": "o", "stateMachineArn": "${Nope}", "s3": {}}]"#,
                "${Nope} is neither",
            ),
            (
                r#"[{"name": "o", "stateMachineArn": "${Orders}", "s3": {"prefix": "${NoDefault}"}}]"#,
                "NoDefault has no default",
            ),
            (
                r#"[{"name": "o", "stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:x", "s3": {}}]"#,
                "not a state machine of the template",
            ),
            (r#"[{"name": "O"}]"#, "route 0"),
        ] {
            let e = LocalRoutes::from_template(&template(routes))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{routes}: {e}");
            assert!(e.contains("Resources/Start/Properties/Environment/Variables/RSQLFLOW_ROUTES"));
        }
    }
}
