//! State machine definitions: the ASL validator's findings, and for every job a Task passes to
//! submit-job, the spec's own rules, its script, its timeout against the Task's, and the
//! Task's Retry and Catch. It also collects what each job passes to its script, for the script
//! checks ([`JobUse`]).
//!
//! A submit-job Task is a Lambda invoke (`arn:aws:states:::lambda:invoke`, with or without
//! `.waitForTaskToken`) whose `FunctionName` is one of the template's placeholders for the
//! submit-job function, or whose payload has a `job` field. The payload is
//! `Parameters.Payload` in JSONPath states and `Arguments.Payload` in JSONata states; a field
//! computed at run time (`name.$` in JSONPath, a `{% ... %}` string in JSONata) is not checked,
//! and a note says so.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use crate::finding::{Finding, Severity};
use crate::json_pos::Positions;
use crate::lines::Lines;
use crate::project::JobContract;
use crate::rules::Rule;
use crate::suggest::closest;

/// Nested Parallel and Map states deeper than this are not walked (the validator refuses
/// definitions nested deeper than 128 levels of JSON anyway).
const MAX_SCOPE_DEPTH: usize = 40;

/// Step Functions' TimeoutSeconds when a Task gives none: "If not provided, the default value
/// is 99999999" (https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html).
const DEFAULT_TASK_TIMEOUT: u64 = 99_999_999;

/// A variable a job passes, and where.
#[derive(Debug, Clone)]
pub(crate) struct PassedVar {
    pub(crate) name: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// One job a Task passes to submit-job, as far as it is literal.
#[derive(Debug, Clone)]
pub(crate) struct JobUse {
    /// The definition file, as named to the checker.
    pub(crate) machine: String,
    /// The Task state's name.
    pub(crate) state: String,
    /// Where the job spec is.
    pub(crate) line: usize,
    /// The script under the scripts directory.
    pub(crate) script: PathBuf,
    /// The variables it passes (their values may be computed; their names are known).
    pub(crate) variables: Vec<PassedVar>,
    /// `variables` is computed as a whole: its names are not known.
    pub(crate) variables_computed: bool,
}

impl JobUse {
    /// `state LoadCustomer (state-machines/x.asl.json:14)`.
    pub(crate) fn describe(&self) -> String {
        format!("state {} ({}:{})", self.state, self.machine, self.line)
    }
}

/// What the machine checks are given besides the definition.
pub(crate) struct Context<'a> {
    /// The scripts bucket's contents (a job's `script` key is a path under it).
    pub(crate) scripts_root: Option<&'a Path>,
    pub(crate) contract: Option<&'a dyn JobContract>,
    /// The job definition's attempt timeout, for jobs that set none.
    pub(crate) default_job_timeout: Option<u64>,
    /// `${Name}` placeholders that stand for the submit-job function.
    pub(crate) submit_job_placeholders: &'a BTreeSet<String>,
    /// The template's `DefinitionSubstitutions` for this file, when a template uses it.
    pub(crate) substitutions: Option<&'a BTreeSet<String>>,
    /// Whether there is a template at all (a definition it does not use gets a note).
    pub(crate) has_template: bool,
}

/// The findings about one definition, and its jobs.
pub(crate) struct MachineChecked {
    pub(crate) findings: Vec<Finding>,
    pub(crate) jobs: Vec<JobUse>,
    /// Jobs whose script is not known (computed, or in another bucket): any script might be
    /// theirs.
    pub(crate) opaque_jobs: usize,
}

struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    lines: Lines,
    positions: Positions,
    ctx: &'a Context<'a>,
    findings: Vec<Finding>,
    jobs: Vec<JobUse>,
    opaque_jobs: usize,
}

/// Checks one definition file's text.
pub(crate) fn check(file: &str, text: &str, ctx: &Context) -> MachineChecked {
    let mut c = Checker {
        file,
        text,
        lines: Lines::new(text),
        positions: Positions::index(text),
        ctx,
        findings: Vec::new(),
        jobs: Vec::new(),
        opaque_jobs: 0,
    };
    c.placeholders();
    let def = match asl::validate::parse_text(text) {
        Ok(v) => v,
        Err(e) => {
            let (line, column) = syntax_position(&e.to_string());
            let mut f = Finding::new(
                Rule::InvalidStateMachine,
                Severity::Error,
                file,
                line,
                column,
                e.to_string(),
            );
            f.source_line = Some(c.lines.line_text(text, line).to_string());
            c.findings.push(f);
            return MachineChecked {
                findings: c.findings,
                jobs: c.jobs,
                opaque_jobs: 0,
            };
        }
    };
    match asl::validate::validate(&def) {
        Ok(machine) => {
            for p in &machine.unsupported {
                c.at(
                    &p.location,
                    Rule::StateMachineRefusedLocally,
                    Severity::Warning,
                    format!(
                        "valid in AWS, but rsqlflow's local executor cannot run it: {}",
                        p.message
                    ),
                    None,
                );
            }
        }
        Err(asl::validate::DefinitionError::Invalid(problems)) => {
            for p in problems {
                c.at(
                    &p.location,
                    Rule::InvalidStateMachine,
                    Severity::Error,
                    format!("{} (Step Functions refuses the definition)", p.message),
                    None,
                );
            }
        }
        Err(e) => {
            c.at(
                "",
                Rule::InvalidStateMachine,
                Severity::Error,
                e.to_string(),
                None,
            );
        }
    }
    let language = def["QueryLanguage"]
        .as_str()
        .unwrap_or("JSONPath")
        .to_string();
    if let Some(states) = def["States"].as_object() {
        c.scope(states, "/States", &language, 0);
    }
    MachineChecked {
        findings: c.findings,
        jobs: c.jobs,
        opaque_jobs: c.opaque_jobs,
    }
}

/// `line L, column C` (serde_json) or `at line L column C` (serde_yaml) in a syntax error.
fn syntax_position(message: &str) -> (usize, usize) {
    let number_after = |word: &str| -> Option<usize> {
        let at = message.find(word)? + word.len();
        let digits: String = message[at..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    (
        number_after("line ").unwrap_or(1).max(1),
        number_after("column ").unwrap_or(1).max(1),
    )
}

/// A payload field's name and whether its value is computed at run time: `name.$` in JSONPath,
/// a `{% ... %}` value in JSONata.
fn field<'k>(key: &'k str, value: &Value, jsonata: bool) -> (&'k str, bool) {
    match key.strip_suffix(".$") {
        Some(base) if !jsonata => (base, true),
        _ => (key, jsonata && jsonata_expression(value)),
    }
}

/// Whether a payload value is computed at run time: a JSONata `{% ... %}` string.
fn jsonata_expression(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        let t = s.trim();
        t.starts_with("{%") && t.ends_with("%}")
    })
}

impl Checker<'_> {
    fn at(
        &mut self,
        pointer: &str,
        rule: Rule,
        severity: Severity,
        message: String,
        help: Option<String>,
    ) {
        let offset = self.positions.offset(pointer);
        self.at_offset(offset, rule, severity, message, help);
    }

    fn at_offset(
        &mut self,
        offset: usize,
        rule: Rule,
        severity: Severity,
        message: String,
        help: Option<String>,
    ) {
        let (line, column) = self.lines.pos(self.text, offset);
        let mut f = Finding::new(rule, severity, self.file, line, column, message);
        // The key or value starting there, quotes included.
        f.width = token_width(&self.text[offset.min(self.text.len())..]);
        f.help = help;
        f.source_line = Some(self.lines.line_text(self.text, line).to_string());
        self.findings.push(f);
    }

    fn line_of(&self, pointer: &str) -> usize {
        self.lines.pos(self.text, self.positions.offset(pointer)).0
    }

    /// Every `${Name}` the template's DefinitionSubstitutions for this file do not fill.
    fn placeholders(&mut self) {
        let Some(subs) = self.ctx.substitutions else {
            if self.ctx.has_template
                && let Some(offset) = self.text.find("${")
            {
                self.at_offset(
                    offset,
                    Rule::UnsubstitutedPlaceholder,
                    Severity::Note,
                    "no state machine in the template uses this file: its ${...} placeholders are not checked".into(),
                    None,
                );
            }
            return;
        };
        let mut missing = Vec::new();
        let mut rest = self.text;
        let mut base = 0;
        while let Some(i) = rest.find("${") {
            let after = &rest[i + 2..];
            if let Some(end) = after.find('}') {
                let name = &after[..end];
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':'))
                    && !subs.contains(name)
                {
                    missing.push((base + i, name.to_string()));
                }
            }
            base += i + 2;
            rest = after;
        }
        for (offset, name) in missing {
            let help = closest(&name, subs.iter().map(String::as_str))
                .map(|c| format!("did you mean ${{{c}}}?"));
            let (line, column) = self.lines.pos(self.text, offset);
            let mut f = Finding::new(
                Rule::UnsubstitutedPlaceholder,
                Severity::Error,
                self.file,
                line,
                column,
                format!(
                    "${{{name}}} is not in the template's DefinitionSubstitutions for this state machine: Step Functions receives the text ${{{name}}} as written"
                ),
            );
            f.width = name.chars().count() + 3;
            f.help = help;
            f.source_line = Some(self.lines.line_text(self.text, line).to_string());
            self.findings.push(f);
        }
    }

    /// The states of one scope (the machine, a Parallel branch, a Map's processor).
    fn scope(&mut self, states: &Map<String, Value>, at: &str, language: &str, depth: usize) {
        if depth > MAX_SCOPE_DEPTH {
            return;
        }
        for (name, state) in states {
            let ptr = format!("{at}/{name}");
            let lang = state["QueryLanguage"].as_str().unwrap_or(language);
            match state["Type"].as_str() {
                Some("Task") => self.task(states, name, state, &ptr, lang),
                Some("Parallel") => {
                    if let Some(branches) = state["Branches"].as_array() {
                        for (i, b) in branches.iter().enumerate() {
                            if let Some(s) = b["States"].as_object() {
                                let l = b["QueryLanguage"].as_str().unwrap_or(lang);
                                self.scope(s, &format!("{ptr}/Branches/{i}/States"), l, depth + 1);
                            }
                        }
                    }
                }
                Some("Map") => {
                    for field in ["ItemProcessor", "Iterator"] {
                        if let Some(s) = state[field]["States"].as_object() {
                            let l = state[field]["QueryLanguage"].as_str().unwrap_or(lang);
                            self.scope(s, &format!("{ptr}/{field}/States"), l, depth + 1);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// A Task state: if it submits a job, check the job and the Task around it.
    fn task(
        &mut self,
        scope: &Map<String, Value>,
        name: &str,
        state: &Value,
        ptr: &str,
        language: &str,
    ) {
        let resource = state["Resource"].as_str().unwrap_or("");
        if !resource.starts_with("arn:aws:states:::lambda:invoke") {
            return;
        }
        let jsonata = language == "JSONata";
        let (args_field, args) = if jsonata {
            ("Arguments", &state["Arguments"])
        } else {
            ("Parameters", &state["Parameters"])
        };
        let function = args["FunctionName"].as_str().unwrap_or("");
        let names_submit_job = self
            .ctx
            .submit_job_placeholders
            .iter()
            .any(|p| function.contains(&format!("${{{p}}}")));
        let payload_ptr = format!("{ptr}/{args_field}/Payload");
        let payload = &args["Payload"];
        let computed_payload = if jsonata {
            jsonata_expression(args) || jsonata_expression(payload)
        } else {
            args.get("Payload.$").is_some()
        };
        let has_job = payload.get("job").is_some() || payload.get("job.$").is_some();
        if !(names_submit_job || has_job) {
            return;
        }
        self.retry(state, ptr);
        self.catch(scope, state, ptr);
        if computed_payload {
            self.opaque_jobs += 1;
            self.at(
                &format!("{ptr}/{args_field}"),
                Rule::ComputedJobField,
                Severity::Note,
                format!(
                    "the payload state {name} passes to submit-job is computed at run time: its job spec is not checked"
                ),
                None,
            );
            return;
        }
        let job_ptr = format!("{payload_ptr}/job");
        let job = match (payload.get("job"), payload.get("job.$")) {
            (Some(j), _) if jsonata && jsonata_expression(j) => None,
            (Some(j), _) => Some(j),
            (None, Some(_)) => None,
            (None, None) => {
                self.at(
                    &payload_ptr,
                    Rule::InvalidJobSpec,
                    Severity::Error,
                    format!(
                        "state {name} invokes submit-job with no job in its payload: submit-job fails it with Rsqlflow.InvalidJobSpec"
                    ),
                    Some("add \"job\": {\"name\": ..., \"script\": ...}".into()),
                );
                return;
            }
        };
        let Some(job) = job else {
            self.opaque_jobs += 1;
            self.at(
                &job_ptr,
                Rule::ComputedJobField,
                Severity::Note,
                format!("the job spec of state {name} is computed at run time: it is not checked"),
                None,
            );
            return;
        };
        let Some(fields) = job.as_object() else {
            self.at(
                &job_ptr,
                Rule::InvalidJobSpec,
                Severity::Error,
                format!("the job of state {name} is not an object: submit-job fails it with Rsqlflow.InvalidJobSpec"),
                None,
            );
            return;
        };
        self.job(name, state, ptr, &job_ptr, fields, jsonata);
    }

    /// One literal job spec.
    fn job(
        &mut self,
        state_name: &str,
        state: &Value,
        task_ptr: &str,
        job_ptr: &str,
        fields: &Map<String, Value>,
        jsonata: bool,
    ) {
        // The spec as submit-job will see it, with computed fields stood in for, and which
        // fields were computed.
        let mut literal = Map::new();
        let mut computed: Vec<String> = Vec::new();
        for (k, v) in fields {
            let (key, is_computed) = field(k, v, jsonata);
            let key = key.to_string();
            if is_computed {
                computed.push(key.clone());
                match key.as_str() {
                    "timeoutSeconds" | "vcpus" | "memoryMib" => {}
                    "variables" => {
                        literal.insert(key, Value::Object(Map::new()));
                    }
                    "script" => {
                        literal.insert(key, Value::String("computed.rsql".into()));
                    }
                    _ => {
                        literal.insert(key, Value::String("computed".into()));
                    }
                }
            } else if key == "variables" && v.is_object() {
                let mut vars = Map::new();
                for (vk, vv) in v.as_object().into_iter().flatten() {
                    let (name, is_computed) = field(vk, vv, jsonata);
                    let value = if is_computed {
                        Value::String("computed".into())
                    } else {
                        vv.clone()
                    };
                    vars.insert(name.to_string(), value);
                }
                literal.insert(key, Value::Object(vars));
            } else {
                literal.insert(key, v.clone());
            }
        }
        let literal = Value::Object(literal);
        if let Some(contract) = self.ctx.contract
            && let Err(problem) = contract.check_spec(&literal)
        {
            let field = problem_field(&problem);
            let at = match &field {
                Some(f) => format!("{job_ptr}/{f}"),
                None => job_ptr.to_string(),
            };
            self.at(
                &at,
                Rule::InvalidJobSpec,
                Severity::Error,
                format!("state {state_name}: {problem} (submit-job fails the Task with Rsqlflow.InvalidJobSpec)"),
                None,
            );
        }
        for key in &computed {
            let what = match key.as_str() {
                "script" => "which script runs, so the script is not checked",
                "timeoutSeconds" => "the job's timeout, so it is not compared with the Task's",
                "variables" => {
                    "which variables the job passes, so its script's variables are checked as if any could be"
                }
                _ => continue,
            };
            let suffix = if jsonata { "" } else { ".$" };
            self.at(
                &format!("{job_ptr}/{key}{suffix}"),
                Rule::ComputedJobField,
                Severity::Note,
                format!("state {state_name}: job.{key} is computed at run time: the checker does not know {what}"),
                None,
            );
        }
        self.timeout(state_name, state, task_ptr, job_ptr, &literal, &computed);
        if computed.iter().any(|k| k == "script") {
            self.opaque_jobs += 1;
            return;
        }
        let Some(script) = literal["script"].as_str() else {
            return;
        };
        let script_ptr = format!("{job_ptr}/script");
        let Some(path) = self.script(state_name, script, &script_ptr) else {
            return;
        };
        let mut variables = Vec::new();
        if let Some(vars) = fields.get("variables").and_then(Value::as_object) {
            for (k, v) in vars {
                let (name, _) = field(k, v, jsonata);
                let (line, column) = self.lines.pos(
                    self.text,
                    self.positions.offset(&format!("{job_ptr}/variables/{k}")),
                );
                variables.push(PassedVar {
                    name: name.to_string(),
                    line,
                    column,
                });
            }
        }
        self.jobs.push(JobUse {
            machine: self.file.to_string(),
            state: state_name.to_string(),
            line: self.line_of(job_ptr),
            script: path,
            variables,
            variables_computed: computed.iter().any(|k| k == "variables"),
        });
    }

    /// The script a job names: under the scripts directory, and there.
    fn script(&mut self, state_name: &str, script: &str, ptr: &str) -> Option<PathBuf> {
        let root = self.ctx.scripts_root?;
        if let Some(uri) = script.strip_prefix("s3://") {
            self.opaque_jobs += 1;
            self.at(
                ptr,
                Rule::ComputedJobField,
                Severity::Note,
                format!(
                    "state {state_name}: the script s3://{uri} is named by its full URI, not as a key in the scripts bucket: the checker does not look for it"
                ),
                None,
            );
            return None;
        }
        let key = script.trim_start_matches('/');
        if key.is_empty() {
            // The spec's own rules report it.
            return None;
        }
        let plain = Path::new(key)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !plain {
            // S3 keys are not paths: `..` is part of the key, and no file under the scripts
            // directory is uploaded under such a key.
            self.at(
                ptr,
                Rule::MissingScript,
                Severity::Error,
                format!(
                    "state {state_name} runs {key}: an S3 key with '.' or '..' parts names no script the scripts directory holds, so submit-job fails the Task with Rsqlflow.InvalidJobSpec (\"does not exist\")"
                ),
                Some("name the script by its key under the scripts directory, such as tpch/load.rsql".into()),
            );
            return None;
        }
        let path = root.join(key);
        // The file must be inside the scripts directory itself: a symbolic link out of it is
        // not followed.
        if crate::walk::file_inside(&path, root) {
            return Some(path);
        }
        // The scripts the directory holds, as keys, for "did you mean".
        let known: Vec<String> = crate::walk::collect(&[root.to_path_buf()])
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.strip_prefix(root).ok())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        let help =
            closest(key, known.iter().map(String::as_str)).map(|c| format!("did you mean {c}?"));
        self.at(
            ptr,
            Rule::MissingScript,
            Severity::Error,
            format!(
                "state {state_name} runs {key}, which is not in the scripts directory {}: submit-job fails the Task with Rsqlflow.InvalidJobSpec (\"does not exist\")",
                root.display()
            ),
            help,
        );
        None
    }

    /// The job's timeout must end before the Task's, or Step Functions gives up on a job that
    /// still runs.
    fn timeout(
        &mut self,
        state_name: &str,
        state: &Value,
        task_ptr: &str,
        job_ptr: &str,
        job: &Value,
        computed: &[String],
    ) {
        if state.get("TimeoutSecondsPath").is_some() || jsonata_expression(&state["TimeoutSeconds"])
        {
            return;
        }
        let task = state["TimeoutSeconds"].as_u64();
        let has_heartbeat =
            state.get("HeartbeatSeconds").is_some() || state.get("HeartbeatSecondsPath").is_some();
        if task.is_none() && !has_heartbeat {
            self.at(
                task_ptr,
                Rule::JobTimeout,
                Severity::Warning,
                format!(
                    "state {state_name} has no TimeoutSeconds: if check-job's answer never comes, Step Functions waits {DEFAULT_TASK_TIMEOUT} seconds (over three years), its default"
                ),
                Some("set TimeoutSeconds a little above the job's timeoutSeconds".into()),
            );
        }
        if computed.iter().any(|k| k == "timeoutSeconds") {
            return;
        }
        let task = task.unwrap_or(DEFAULT_TASK_TIMEOUT);
        let (job_timeout, from) = match job["timeoutSeconds"].as_u64() {
            Some(t) => (t, format!("{job_ptr}/timeoutSeconds")),
            None => match self.ctx.default_job_timeout {
                Some(t) => (t, job_ptr.to_string()),
                None => return,
            },
        };
        if job_timeout >= task {
            let whose = if job["timeoutSeconds"].is_u64() {
                "its timeoutSeconds".to_string()
            } else {
                "the job definition's default timeout (no timeoutSeconds in the spec)".to_string()
            };
            let line = self.line_of(&format!("{task_ptr}/TimeoutSeconds"));
            self.at(
                &from,
                Rule::JobTimeout,
                Severity::Error,
                format!(
                    "state {state_name}: the job may run {job_timeout} s ({whose}) but the Task times out after {task} s (TimeoutSeconds, line {line}): Step Functions fails the step with States.Timeout while the Batch job goes on running"
                ),
                Some(format!(
                    "give the job a timeoutSeconds below {task}, leaving room for the time it waits in the queue, or raise the Task's TimeoutSeconds"
                )),
            );
        }
    }

    /// The Task's Retry should cover the errors worth retrying.
    fn retry(&mut self, state: &Value, ptr: &str) {
        let Some(contract) = self.ctx.contract else {
            return;
        };
        let mut covered: BTreeSet<&str> = BTreeSet::new();
        let mut wildcard = false;
        for r in state["Retry"].as_array().into_iter().flatten() {
            if r["MaxAttempts"].as_u64() == Some(0) {
                continue;
            }
            for e in r["ErrorEquals"].as_array().into_iter().flatten() {
                match e.as_str() {
                    // States.TaskFailed "acts as a wildcard that matches any known error name
                    // except for States.Timeout"
                    // (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
                    Some("States.ALL" | "States.TaskFailed") => wildcard = true,
                    Some(name) => {
                        covered.insert(name);
                    }
                    None => {}
                }
            }
        }
        if wildcard {
            return;
        }
        let missing: Vec<&str> = contract
            .retryable_errors()
            .iter()
            .copied()
            .filter(|e| !covered.contains(e))
            .collect();
        if missing.is_empty() {
            return;
        }
        let name = ptr.rsplit('/').next().unwrap_or(ptr);
        let at = if state.get("Retry").is_some() {
            format!("{ptr}/Retry")
        } else {
            ptr.to_string()
        };
        self.at(
            &at,
            Rule::RetryCoverage,
            Severity::Warning,
            format!(
                "state {name} does not retry {}: a passing infrastructure failure or a throttled Lambda invocation fails the workflow",
                missing.join(", ")
            ),
            Some(format!(
                "add a retrier with \"ErrorEquals\": [{}]",
                missing
                    .iter()
                    .map(|m| format!("\"{m}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }

    /// Each catcher should lead to a Fail state or a notification, not to a quiet success.
    fn catch(&mut self, scope: &Map<String, Value>, state: &Value, ptr: &str) {
        let name = ptr.rsplit('/').next().unwrap_or(ptr);
        for (i, c) in state["Catch"].as_array().into_iter().flatten().enumerate() {
            let Some(next) = c["Next"].as_str() else {
                continue;
            };
            if let Some(end) = quiet_end(scope, next) {
                self.at(
                    &format!("{ptr}/Catch/{i}/Next"),
                    Rule::CatchSwallowsFailure,
                    Severity::Warning,
                    format!(
                        "a failure of {name} caught here reaches {end} without a Fail state or a notification: the execution can succeed with the job failed, and no one is told"
                    ),
                    Some(
                        "end the catch path in a Fail state (rsqlflow's notify then reports the failure), or publish to SNS on it"
                            .into(),
                    ),
                );
            }
        }
    }
}

/// From state `start` in `scope`, a state where the flow ends quietly (a Succeed state, or an
/// `End` that is not a Fail) without passing a Fail state or an SNS publish: its description.
fn quiet_end(scope: &Map<String, Value>, start: &str) -> Option<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![start.to_string()];
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) || seen.len() > 10_000 {
            continue;
        }
        let Some(s) = scope.get(&name) else {
            continue;
        };
        let kind = s["Type"].as_str().unwrap_or("");
        if kind == "Fail" {
            continue;
        }
        if kind == "Task"
            && s["Resource"]
                .as_str()
                .is_some_and(|r| r.starts_with("arn:aws:states:::sns:publish"))
        {
            continue;
        }
        if kind == "Succeed" {
            return Some(format!("the Succeed state {name}"));
        }
        if s["End"].as_bool() == Some(true) {
            return Some(format!("the end of state {name}"));
        }
        if let Some(n) = s["Next"].as_str() {
            todo.push(n.to_string());
        }
        if let Some(n) = s["Default"].as_str() {
            todo.push(n.to_string());
        }
        for c in s["Choices"].as_array().into_iter().flatten() {
            if let Some(n) = c["Next"].as_str() {
                todo.push(n.to_string());
            }
        }
        for c in s["Catch"].as_array().into_iter().flatten() {
            if let Some(n) = c["Next"].as_str() {
                todo.push(n.to_string());
            }
        }
    }
    None
}

/// The field a spec problem names: `job.timeoutSeconds: ...`, `job.variables.x: ...`, or
/// serde's ``unknown field `timeoutSecond` ``. As a pointer tail (`variables/x`).
fn problem_field(problem: &str) -> Option<String> {
    if let Some(i) = problem.find("unknown field `") {
        let rest = &problem[i + "unknown field `".len()..];
        return rest.split('`').next().map(String::from);
    }
    let i = problem.find("job.")?;
    let rest = &problem[i + 4..];
    let field = rest.split(':').next()?;
    let mut parts = field.splitn(2, '.');
    let first = parts.next()?;
    Some(match parts.next() {
        Some(second) => format!("{first}/{second}"),
        None => first.to_string(),
    })
}

/// The width of the JSON token at the start of `s`: a quoted string, or up to a delimiter.
fn token_width(s: &str) -> usize {
    let mut chars = s.chars();
    match chars.next() {
        Some('"') => {
            let mut n = 1;
            let mut escaped = false;
            for c in chars {
                n += 1;
                if c == '\n' {
                    return n - 1;
                }
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    return n;
                }
            }
            n
        }
        Some(_) => s
            .chars()
            .take_while(|c| !matches!(c, ',' | '}' | ']' | '\n'))
            .count()
            .max(1),
        None => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_fields() {
        assert_eq!(
            problem_field("job.timeoutSeconds: must be at least 60").as_deref(),
            Some("timeoutSeconds")
        );
        assert_eq!(
            problem_field("job.variables.x: bad").as_deref(),
            Some("variables/x")
        );
        assert_eq!(
            problem_field("unknown field `timeoutSecond`, expected one of ...").as_deref(),
            Some("timeoutSecond")
        );
        assert_eq!(problem_field("something else"), None);
    }

    #[test]
    fn syntax_positions() {
        assert_eq!(
            syntax_position("the definition is not valid JSON or YAML: line 3, column 7: x"),
            (3, 7)
        );
        assert_eq!(syntax_position("nothing"), (1, 1));
    }
}
