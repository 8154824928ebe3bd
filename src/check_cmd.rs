//! `rsqlflow check`: the command line over the `check` crate (paths, variables, format, exit
//! code), and the wiring of the framework into it: the template's facts (read with
//! `etl::template`) and the job spec's rules (`etl::spec::check_json`, the code submit-job
//! runs, and `etl::error::RETRY_ON`).

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use check::report::{self, Format};
use check::{Options, Project, Rule, Severity, TemplateFacts, TemplateMachine};
use etl::template::Template;
use serde_json::Value;

use crate::cli::{CheckArgs, CheckDeny, CheckFormat};

/// The framework's job spec rules, for the checker.
struct FrameworkJobs;

impl check::JobContract for FrameworkJobs {
    fn check_spec(&self, job: &Value) -> Result<(), String> {
        etl::spec::check_json(job).map(|_| ()).map_err(|e| e.cause)
    }

    fn retryable_errors(&self) -> &[&str] {
        &etl::error::RETRY_ON
    }
}

/// `rel` under the project directory, without a leading `./` when the project is `.`.
fn under(project: &Path, rel: &str) -> PathBuf {
    if project == Path::new(".") {
        PathBuf::from(rel)
    } else {
        project.join(rel)
    }
}

/// The logical id an intrinsic (`Fn::GetAtt` or `Ref`, long form) points at.
fn target_of(v: &Value) -> Option<&str> {
    if let Some(r) = v.get("Ref").and_then(Value::as_str) {
        return Some(r);
    }
    match v.get("Fn::GetAtt")? {
        Value::Array(parts) => parts.first().and_then(Value::as_str),
        Value::String(s) => s.split('.').next(),
        _ => None,
    }
}

/// What the checker needs from the template.
fn template_facts(t: &Template) -> TemplateFacts {
    let base = t.path.parent().unwrap_or(Path::new("."));
    let submit_job = |id: &str| {
        t.resources.get(id).is_some_and(|r| {
            r.properties["CodeUri"]
                .as_str()
                .is_some_and(|c| c.trim_end_matches('/').ends_with("submit-job"))
                || r.metadata["BuildProperties"]["Binary"].as_str() == Some("submit-job")
        })
    };
    let mut submit_job_placeholders = BTreeSet::new();
    let machines = t
        .state_machines()
        .into_iter()
        .map(|m| {
            for (name, value) in &m.substitutions {
                if target_of(value).is_some_and(submit_job) {
                    submit_job_placeholders.insert(name.clone());
                }
            }
            TemplateMachine {
                definition: m.definition_uri.as_ref().map(|u| {
                    if base == Path::new("") || base == Path::new(".") {
                        PathBuf::from(u)
                    } else {
                        base.join(u)
                    }
                }),
                definition_uri: m.definition_uri,
                substitutions: m.substitutions.into_keys().collect(),
                logical_id: m.logical_id,
            }
        })
        .collect();
    // The job definition's attempt timeout, at its parameter's default; only when every job
    // definition agrees (otherwise which one a job uses is not known here).
    let timeouts: BTreeSet<u64> = t
        .of_kind("AWS::Batch::JobDefinition")
        .filter_map(|(_, r)| {
            let v = &r.properties["Timeout"]["AttemptDurationSeconds"];
            let v = match v.get("Ref").and_then(Value::as_str) {
                Some(p) => t.parameters.get(p).map(|p| &p["Default"])?,
                None => v,
            };
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .collect();
    TemplateFacts {
        path: t.path.clone(),
        machines,
        submit_job_placeholders,
        default_job_timeout: (timeouts.len() == 1)
            .then(|| timeouts.into_iter().next())
            .flatten(),
    }
}

/// A real directory (not a symbolic link: the project's parts are not followed out of it).
fn real_dir(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}

/// The project around the files checked; errors are why the check cannot run.
fn project(args: &CheckArgs) -> Result<(Project<'static>, Vec<PathBuf>), String> {
    let dir = &args.project;
    if !dir.is_dir() {
        return Err(format!("--project {}: not a directory", dir.display()));
    }
    let template_path = under(dir, "template.yaml");
    if std::fs::symlink_metadata(&template_path).is_ok_and(|m| !m.is_file()) {
        return Err(format!(
            "{}: not a regular file (a symbolic link or a directory is not read)",
            template_path.display()
        ));
    }
    let template = if template_path.is_file() {
        let t = Template::load(&template_path).map_err(|e| e.to_string())?;
        Some(template_facts(&t))
    } else {
        None
    };
    let machines_dir = under(dir, "state-machines");
    let mut machines: Vec<PathBuf> = if real_dir(&machines_dir) {
        check::collect_kinds(std::slice::from_ref(&machines_dir))
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|(_, k)| *k == check::Kind::Machine)
            .map(|(p, _)| p)
            .collect()
    } else {
        Vec::new()
    };
    for m in template.iter().flat_map(|t| &t.machines) {
        if let Some(d) = &m.definition
            && check::file_inside(d, dir)
            && !machines.contains(d)
        {
            machines.push(d.clone());
        }
    }
    let scripts_root = match &args.scripts {
        Some(s) if !s.is_dir() => {
            return Err(format!("--scripts {}: not a directory", s.display()));
        }
        Some(s) => Some(s.clone()),
        None => Some(under(dir, "etl")).filter(|p| real_dir(p)),
    };
    let mut defaults = Vec::new();
    if real_dir(&machines_dir) {
        defaults.push(machines_dir);
    }
    if let Some(s) = &scripts_root {
        defaults.push(s.clone());
    }
    if template.is_some() {
        defaults.push(template_path);
    }
    Ok((
        Project {
            machines,
            scripts_root,
            template,
            contract: Some(&FrameworkJobs),
        },
        defaults,
    ))
}

/// Exit code when the check cannot run.
const CANNOT_RUN: i32 = 2;

/// Runs the check; returns the exit code: 0 clean, 1 findings that fail, 2 cannot run.
pub fn run(args: CheckArgs) -> i32 {
    if let Some(code) = &args.explain {
        if code == "list" {
            for r in Rule::ALL {
                println!("{:<24} {}", r.code(), r.summary());
            }
            return 0;
        }
        return match Rule::from_code(code) {
            Ok(rule) => {
                print!("{}", rule.explain());
                0
            }
            Err(e) => {
                eprintln!("rsqlflow check: {e}");
                CANNOT_RUN
            }
        };
    }
    let mut known_passed = Vec::new();
    for v in &args.vars {
        let name = v.split_once('=').map_or(v.as_str(), |(n, _)| n);
        if !rsql::vars::valid_name(name) {
            eprintln!(
                "rsqlflow check: -v {v}: not a variable name (letters, digits and underscores)"
            );
            return CANNOT_RUN;
        }
        known_passed.push(name.to_string());
    }
    let options = Options {
        known_passed,
        ..Options::default()
    };
    let (project, defaults) = match project(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rsqlflow check: {e}");
            return CANNOT_RUN;
        }
    };
    let targets = if args.paths.is_empty() {
        if defaults.is_empty() {
            eprintln!(
                "rsqlflow check: nothing to check: {} has no state-machines/, etl/ or template.yaml; name the files or directories to check",
                args.project.display()
            );
            return CANNOT_RUN;
        }
        defaults
    } else {
        args.paths.clone()
    };
    let outcome = match check::check_project(&targets, &project, &options) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("rsqlflow check: {e}");
            return CANNOT_RUN;
        }
    };
    let format = match args.format {
        CheckFormat::Text => Format::Text,
        CheckFormat::Json => Format::Json,
        CheckFormat::Github => Format::Github,
    };
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let written = report::write(
        &outcome,
        format,
        color,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    if let Err(e) = written {
        eprintln!("rsqlflow check: cannot write the report: {e}");
        return CANNOT_RUN;
    }
    let failing = outcome.count(Severity::Error)
        + match args.deny {
            Some(CheckDeny::Warnings) => outcome.count(Severity::Warning),
            None => 0,
        };
    i32::from(failing > 0)
}
