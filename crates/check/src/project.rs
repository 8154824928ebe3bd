//! A project checked as a whole: its state machines, the scripts their jobs run, and the
//! template that deploys them. The state machines say which variables each script is given
//! (every job that runs it must pass a name for the script to use it); the scripts say which of
//! those the jobs pass in vain.
//!
//! The rules of a job spec are the framework's, not this crate's: they come in through
//! [`JobContract`], so that the checker runs the same code submit-job runs without knowing
//! anything of AWS.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::CheckError;
use crate::finding::{Finding, Severity};
use crate::machine::{self, JobUse};
use crate::rules::Rule;
use crate::script::Passed;
use crate::walk::{Kind, collect_kinds};
use crate::{Options, Outcome};

/// The framework's rules for the jobs a state machine submits.
pub trait JobContract {
    /// The spec's own rules, as submit-job checks them; the problem names the field
    /// (`job.timeoutSeconds: must be at least 60`).
    fn check_spec(&self, job: &Value) -> Result<(), String>;
    /// The errors a Task that submits a job should retry (typed infrastructure errors and the
    /// Lambda service's transient ones).
    fn retryable_errors(&self) -> &[&str];
}

/// One state machine of the template.
#[derive(Debug, Clone)]
pub struct TemplateMachine {
    /// Its logical id.
    pub logical_id: String,
    /// Its `DefinitionUri`, as written, and the file it names (from the template's directory).
    pub definition_uri: Option<String>,
    /// The file `definition_uri` names.
    pub definition: Option<PathBuf>,
    /// The names its `DefinitionSubstitutions` fill.
    pub substitutions: BTreeSet<String>,
}

/// What the template says that the checks need (read by the caller, which knows templates).
#[derive(Debug, Clone)]
pub struct TemplateFacts {
    /// The template file.
    pub path: PathBuf,
    /// Its state machines.
    pub machines: Vec<TemplateMachine>,
    /// Placeholders that stand for the submit-job function (`SubmitJobFunctionArn`).
    pub submit_job_placeholders: BTreeSet<String>,
    /// The job definition's attempt timeout at its default, for jobs that set none.
    pub default_job_timeout: Option<u64>,
}

/// The project around the files checked.
#[derive(Default)]
pub struct Project<'a> {
    /// Every state machine definition of the project: read for its jobs even when only a
    /// script is checked.
    pub machines: Vec<PathBuf>,
    /// The scripts bucket's contents (`etl/`): job `script` keys are paths under it.
    pub scripts_root: Option<PathBuf>,
    /// The template, when there is one.
    pub template: Option<TemplateFacts>,
    /// The job spec rules; without them specs and retries are not checked.
    pub contract: Option<&'a dyn JobContract>,
}

/// A path made comparable: canonical when it exists.
fn key(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Checks `targets` (script files, definition files, the template, or directories holding
/// them) in the context of `project`. Findings are reported for the targets; the project's
/// other state machines still tell which variables the scripts are given.
pub fn check_project(
    targets: &[PathBuf],
    project: &Project,
    options: &Options,
) -> Result<Outcome, CheckError> {
    let files = collect_kinds(targets)?;
    let mut outcome = Outcome {
        files: files.len(),
        findings: Vec::new(),
    };
    let target_keys: BTreeSet<PathBuf> = files.iter().map(|(p, _)| key(p)).collect();

    // Definitions: the project's and the ones named, each once.
    let mut machines: Vec<PathBuf> = Vec::new();
    let mut seen = BTreeSet::new();
    for p in project.machines.iter().chain(
        files
            .iter()
            .filter(|(_, k)| *k == Kind::Machine)
            .map(|(p, _)| p),
    ) {
        if seen.insert(key(p)) {
            machines.push(p.clone());
        }
    }
    let empty = BTreeSet::new();
    let template_subs: HashMap<PathBuf, &BTreeSet<String>> = project
        .template
        .iter()
        .flat_map(|t| &t.machines)
        .filter_map(|m| m.definition.as_ref().map(|d| (key(d), &m.substitutions)))
        .collect();
    let mut jobs: Vec<JobUse> = Vec::new();
    let mut opaque_jobs = 0;
    for path in &machines {
        let reported = target_keys.contains(&key(path));
        let display = path.display().to_string();
        let text = match read(path, options) {
            Ok(t) => t,
            Err(f) => {
                if reported {
                    outcome.findings.push(*f);
                }
                continue;
            }
        };
        let ctx = machine::Context {
            scripts_root: project.scripts_root.as_deref(),
            contract: project.contract,
            default_job_timeout: project
                .template
                .as_ref()
                .and_then(|t| t.default_job_timeout),
            submit_job_placeholders: project
                .template
                .as_ref()
                .map_or(&empty, |t| &t.submit_job_placeholders),
            substitutions: template_subs.get(&key(path)).copied(),
            has_template: project.template.is_some(),
        };
        let checked = machine::check(&display, &text, &ctx);
        if reported {
            let mut findings = checked.findings;
            crate::suppress::apply_json(&text, &mut findings);
            outcome.findings.extend(findings);
        }
        jobs.extend(checked.jobs);
        opaque_jobs += checked.opaque_jobs;
    }

    // Which jobs run each script.
    let mut runs: BTreeMap<PathBuf, Vec<&JobUse>> = BTreeMap::new();
    for j in &jobs {
        runs.entry(key(&j.script)).or_default().push(j);
    }

    for (path, kind) in &files {
        match kind {
            Kind::Script => {
                let users = runs.get(&key(path)).map(Vec::as_slice).unwrap_or(&[]);
                let mut passed = passed_to(users, &options.known_passed);
                // A job whose script is computed may run this one, with any variables.
                passed.unknown |= users.is_empty() && opaque_jobs > 0;
                let (findings, used) = crate::check_script_file(path, options, &passed);
                outcome.findings.extend(findings);
                if let Some(used) = used {
                    outcome.findings.extend(unused_by(users, &used));
                }
            }
            Kind::Template => {
                if let Some(t) = &project.template
                    && key(&t.path) == key(path)
                {
                    outcome.findings.extend(template_findings(t));
                }
            }
            Kind::Machine => {}
        }
    }
    outcome
        .findings
        .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    outcome.findings.dedup();
    Ok(outcome)
}

/// A file's text, or the finding that says why it could not be read.
fn read(path: &Path, options: &Options) -> Result<String, Box<Finding>> {
    let unreadable = |m: String| {
        Box::new(Finding::new(
            Rule::UnreadableFile,
            Severity::Error,
            &path.display().to_string(),
            1,
            1,
            m,
        ))
    };
    let bytes = crate::read::read_bounded(path, options.max_file_size)
        .map_err(|why| unreadable(why.to_string()))?;
    String::from_utf8(bytes).map_err(|e| unreadable(format!("the file is not UTF-8: {e}")))
}

/// What the jobs that run a script pass it (plus `-v` names).
fn passed_to(users: &[&JobUse], cli: &[String]) -> Passed {
    let mut passed = Passed {
        cli: cli.to_vec(),
        ..Passed::default()
    };
    if users.is_empty() {
        return passed;
    }
    passed.unknown = users.iter().any(|j| j.variables_computed);
    let names =
        |j: &JobUse| -> BTreeSet<String> { j.variables.iter().map(|v| v.name.clone()).collect() };
    let union: BTreeSet<String> = users.iter().flat_map(|j| names(j)).collect();
    for name in union {
        let without: Vec<&&JobUse> = users
            .iter()
            .filter(|j| !j.variables_computed && !names(j).contains(&name))
            .collect();
        if without.is_empty() {
            passed.jobs_all.push(name);
        } else {
            let with = users
                .iter()
                .find(|j| names(j).contains(&name))
                .map(|j| j.describe())
                .unwrap_or_default();
            let lacking: Vec<String> = without.iter().map(|j| j.describe()).collect();
            passed.jobs_some.push((
                name,
                format!("{with} passes it, {} does not", lacking.join(", ")),
            ));
        }
    }
    passed
}

/// The variables jobs pass to a script that never reads them, reported at the job.
fn unused_by(users: &[&JobUse], used: &std::collections::HashSet<String>) -> Vec<Finding> {
    let mut out = Vec::new();
    for j in users {
        for v in &j.variables {
            if used.contains(&v.name) || crate::script::is_setting(&v.name) {
                continue;
            }
            out.push(Finding::new(
                Rule::UnusedVariable,
                Severity::Warning,
                &j.machine,
                v.line,
                v.column,
                format!(
                    "state {} passes :{} to {}, which never uses it",
                    j.state,
                    v.name,
                    j.script.display()
                ),
            ));
        }
    }
    out
}

/// The template's own findings: a state machine whose definition file is missing.
fn template_findings(t: &TemplateFacts) -> Vec<Finding> {
    let text = std::fs::read_to_string(&t.path).unwrap_or_default();
    let display = t.path.display().to_string();
    let root = t
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut out = Vec::new();
    for m in &t.machines {
        let (Some(uri), Some(def)) = (&m.definition_uri, &m.definition) else {
            continue;
        };
        let problem = match std::fs::canonicalize(def) {
            Err(_) => "which does not exist",
            Ok(p) if !p.starts_with(&root) => {
                "which is outside the template's directory (the checker does not read it)"
            }
            Ok(p) if !p.is_file() => "which is not a file",
            Ok(_) => continue,
        };
        let (line, column, source) = text
            .lines()
            .enumerate()
            .find_map(|(i, l)| {
                if !l.contains("DefinitionUri") {
                    return None;
                }
                l.find(uri.as_str())
                    .map(|c| (i + 1, l[..c].chars().count() + 1, l.to_string()))
            })
            .unwrap_or((1, 1, String::new()));
        let mut f = Finding::new(
            Rule::MissingDefinition,
            Severity::Error,
            &display,
            line,
            column,
            format!(
                "state machine {} has DefinitionUri {uri}, {problem}: sam build and deploy need the definition file",
                m.logical_id
            ),
        );
        f.width = uri.chars().count().max(1);
        f.source_line = Some(source);
        out.push(f);
    }
    out
}
