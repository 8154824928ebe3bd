//! The rules: stable codes and the explanation of each (`rsqlflow check --explain CODE`).

use crate::error::CheckError;

const COMMANDS_DOC: &str =
    "https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-commands.html";
const VALIDATE_DOC: &str = "https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html";
const BATCH_TIMEOUT_DOC: &str =
    "https://docs.aws.amazon.com/batch/latest/userguide/job_timeouts.html";
const TASK_DOC: &str = "https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html";
const LAMBDA_RETRY_DOC: &str =
    "https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html";
const ERRORS_DOC: &str =
    "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html";
const SUBSTITUTIONS_DOC: &str = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html#cfn-stepfunctions-statemachine-definitionsubstitutions";
const VARIABLES_DOC: &str =
    "https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-variables.html";

const SQL_REFERENCE: &str =
    "https://docs.aws.amazon.com/redshift/latest/dg/cm_chap_SQLCommandRef.html";
const COPY_DOC: &str = "https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html";
const UNLOAD_DOC: &str = "https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html";
const COPY_COLUMNS_DOC: &str =
    "https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-column-mapping.html";

/// A rule of the checker. The codes are stable: scripts name them in `allow(...)` comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// A quote, dollar quote or comment left open; invalid UTF-8 or a NUL byte.
    LexError,
    /// A meta-command the interpreter does not know.
    UnknownMetaCommand,
    /// A known meta-command with arguments it refuses.
    MalformedMetaCommand,
    /// `\if`/`\elseif`/`\else`/`\endif` that do not pair up.
    UnbalancedIf,
    /// `\goto` with no `\label` after it.
    GotoWithoutLabel,
    /// The same label twice.
    DuplicateLabel,
    /// Code after an `\exit` that nothing can reach.
    UnreachableAfterExit,
    /// An `\exit` code outside 0-255.
    ExitCodeRange,
    /// The same non-zero `\exit` code for two different failures.
    ExitCodeReused,
    /// An `\i`/`\ir`/`\run` file that does not exist.
    MissingInclude,
    /// A variable that is neither built in, set earlier, nor passed.
    UndefinedVariable,
    /// A variable jobs pass that the script never uses.
    UnusedVariable,
    /// An error check that ON_ERROR_STOP makes dead.
    DeadErrorCheck,
    /// A statement whose failure nothing looks at.
    UncheckedStatement,
    /// A definition the ASL validator refuses.
    InvalidStateMachine,
    /// A valid definition the local executor cannot run.
    StateMachineRefusedLocally,
    /// A job spec submit-job refuses.
    InvalidJobSpec,
    /// A job's script that is not in the scripts directory.
    MissingScript,
    /// A job that may outlive its Task.
    JobTimeout,
    /// A submit-job Task without retries of the errors worth retrying.
    RetryCoverage,
    /// A Catch that turns a failed job into a quiet success.
    CatchSwallowsFailure,
    /// A job field computed at run time: not checked.
    ComputedJobField,
    /// A `${Name}` in a definition the template does not substitute.
    UnsubstitutedPlaceholder,
    /// A template state machine whose definition file is missing.
    MissingDefinition,
    /// A file that could not be read, or is too large.
    UnreadableFile,
    /// A statement sqlparser's Redshift dialect cannot parse.
    SqlSyntax,
    /// A statement Redshift runs that the local engine refuses or skips.
    RefusedLocally,
    /// A COPY or UNLOAD option Redshift does not document.
    CopyOption,
    /// A COPY column list naming a column twice.
    CopyDuplicateColumn,
}

impl Rule {
    /// Every rule, in the order of the README's table.
    pub const ALL: [Rule; 29] = [
        Rule::LexError,
        Rule::UnknownMetaCommand,
        Rule::MalformedMetaCommand,
        Rule::UnbalancedIf,
        Rule::GotoWithoutLabel,
        Rule::DuplicateLabel,
        Rule::UnreachableAfterExit,
        Rule::ExitCodeRange,
        Rule::ExitCodeReused,
        Rule::MissingInclude,
        Rule::UndefinedVariable,
        Rule::UnusedVariable,
        Rule::DeadErrorCheck,
        Rule::UncheckedStatement,
        Rule::InvalidStateMachine,
        Rule::StateMachineRefusedLocally,
        Rule::InvalidJobSpec,
        Rule::MissingScript,
        Rule::JobTimeout,
        Rule::RetryCoverage,
        Rule::CatchSwallowsFailure,
        Rule::ComputedJobField,
        Rule::UnsubstitutedPlaceholder,
        Rule::MissingDefinition,
        Rule::UnreadableFile,
        Rule::SqlSyntax,
        Rule::RefusedLocally,
        Rule::CopyOption,
        Rule::CopyDuplicateColumn,
    ];

    /// The stable kebab-case code.
    pub fn code(self) -> &'static str {
        match self {
            Rule::LexError => "lex-error",
            Rule::UnknownMetaCommand => "unknown-meta-command",
            Rule::MalformedMetaCommand => "malformed-meta-command",
            Rule::UnbalancedIf => "unbalanced-if",
            Rule::GotoWithoutLabel => "goto-without-label",
            Rule::DuplicateLabel => "duplicate-label",
            Rule::UnreachableAfterExit => "unreachable-after-exit",
            Rule::ExitCodeRange => "exit-code-range",
            Rule::ExitCodeReused => "exit-code-reused",
            Rule::MissingInclude => "missing-include",
            Rule::UndefinedVariable => "undefined-variable",
            Rule::UnusedVariable => "unused-variable",
            Rule::DeadErrorCheck => "dead-error-check",
            Rule::UncheckedStatement => "unchecked-statement",
            Rule::InvalidStateMachine => "invalid-state-machine",
            Rule::StateMachineRefusedLocally => "state-machine-refused-locally",
            Rule::InvalidJobSpec => "invalid-job-spec",
            Rule::MissingScript => "missing-script",
            Rule::JobTimeout => "job-timeout",
            Rule::RetryCoverage => "retry-coverage",
            Rule::CatchSwallowsFailure => "catch-swallows-failure",
            Rule::ComputedJobField => "computed-job-field",
            Rule::UnsubstitutedPlaceholder => "unsubstituted-placeholder",
            Rule::MissingDefinition => "missing-definition",
            Rule::UnreadableFile => "unreadable-file",
            Rule::SqlSyntax => "sql-syntax",
            Rule::RefusedLocally => "refused-locally",
            Rule::CopyOption => "copy-option",
            Rule::CopyDuplicateColumn => "copy-duplicate-column",
        }
    }

    /// The rule with this code.
    pub fn from_code(code: &str) -> Result<Rule, CheckError> {
        Rule::ALL
            .into_iter()
            .find(|r| r.code() == code)
            .ok_or_else(|| CheckError::UnknownRule(code.to_string()))
    }

    /// A one-line summary (the README's table).
    pub fn summary(self) -> &'static str {
        match self {
            Rule::LexError => {
                "an unterminated quote, dollar quote or /* comment; invalid UTF-8 or a NUL byte"
            }
            Rule::UnknownMetaCommand => {
                "a meta-command neither RSQL nor psql has (error), or one AWS's rsql may run but rsqlflow's interpreter refuses (warning)"
            }
            Rule::MalformedMetaCommand => {
                "a meta-command's arguments are refused: \\exit code, \\goto/\\label name, \\set name, \\if expression, \\copy, ..."
            }
            Rule::UnbalancedIf => "\\if, \\elseif, \\else and \\endif do not pair up",
            Rule::GotoWithoutLabel => {
                "\\goto LABEL with no \\label LABEL after it (jumps go forward only)"
            }
            Rule::DuplicateLabel => "the same \\label twice (warning)",
            Rule::UnreachableAfterExit => {
                "code after an \\exit in the same block, with no \\label in between (warning)"
            }
            Rule::ExitCodeRange => {
                "an \\exit code outside 0-255: the shell sees it modulo 256 (error when that is 0)"
            }
            Rule::ExitCodeReused => {
                "two \\exit with the same non-zero code: the failures cannot be told apart (warning)"
            }
            Rule::MissingInclude => "an \\i, \\ir or \\run file that does not exist",
            Rule::UndefinedVariable => {
                "a :name that is not built in, not set earlier (\\set, \\gset) and not passed by the job"
            }
            Rule::UnusedVariable => "a variable the jobs pass that the script never uses (warning)",
            Rule::DeadErrorCheck => {
                "a check of :ERROR/:ERRORCODE while ON_ERROR_STOP is on: it can only see success (warning)"
            }
            Rule::UncheckedStatement => {
                "a statement whose failure nothing looks at, with ON_ERROR_STOP off (warning)"
            }
            Rule::InvalidStateMachine => {
                "a state machine definition the ASL validator refuses, as Step Functions would (ValidateStateMachineDefinition)"
            }
            Rule::StateMachineRefusedLocally => {
                "a valid definition that uses something rsqlflow's local executor cannot run yet (warning)"
            }
            Rule::InvalidJobSpec => {
                "a job spec submit-job refuses (Rsqlflow.InvalidJobSpec): unknown field, bad name, timeoutSeconds under 60, ..."
            }
            Rule::MissingScript => {
                "a job names a script that is not in the scripts directory (etl/)"
            }
            Rule::JobTimeout => {
                "a job whose timeout is not below its Task's TimeoutSeconds (error), or a submit-job Task with no TimeoutSeconds (warning)"
            }
            Rule::RetryCoverage => {
                "a submit-job Task whose Retry misses Rsqlflow.InfrastructureError or the Lambda service's transient errors (warning)"
            }
            Rule::CatchSwallowsFailure => {
                "a Catch on a submit-job Task that leads to success without a Fail state or a notification (warning)"
            }
            Rule::ComputedJobField => {
                "a job field computed at run time, which the checker cannot check (note)"
            }
            Rule::UnsubstitutedPlaceholder => {
                "a ${Name} in a definition that the template's DefinitionSubstitutions do not fill"
            }
            Rule::MissingDefinition => {
                "a template state machine whose DefinitionUri names a file that does not exist"
            }
            Rule::UnreadableFile => "a file that cannot be read or is over the size limit",
            Rule::SqlSyntax => {
                "a statement the translation's parser (sqlparser, Redshift dialect) cannot parse (warning: it may be Redshift SQL sqlparser lacks)"
            }
            Rule::RefusedLocally => {
                "a statement Redshift runs that the local engine refuses (UNLOAD ... PARTITION BY, COPY FORMAT AS AVRO, ...) or accepts as a no-op (GRANT, ANALYZE COMPRESSION, ...) (warning)"
            }
            Rule::CopyOption => {
                "a COPY or UNLOAD option word that is not among the parameters AWS documents (a typo such as DELIMETER)"
            }
            Rule::CopyDuplicateColumn => "a COPY column list that names a column twice (warning)",
        }
    }

    /// The full explanation: what the rule finds, why it matters, how to fix it, with the
    /// documentation it rests on.
    pub fn explain(self) -> String {
        let text = match self {
            Rule::LexError => format!(
                "A single quote, double quote, dollar quote ($$ or $tag$) or /* comment opened and never closed swallows the rest of the script: rsql reads statements as psql does, ending a statement only at a ';' outside quotes and comments, and a meta-command only outside quotes (rsql is psql's command-line client extended, {COMMANDS_DOC}). rsqlflow's interpreter stops such a script with exit 1 before running the statement; so it does for invalid UTF-8 or a NUL byte anywhere in the file. Close the quote or comment at the place shown."
            ),
            Rule::UnknownMetaCommand => format!(
                "A backslash command that neither AWS's RSQL ({COMMANDS_DOC}) nor psql defines is refused: rsqlflow's interpreter stops with exit 1 ('unsupported meta-command'), so a typo such as \\remakr fails the job at that line. This is an error, with the closest known command suggested. The commands AWS documents that rsqlflow's interpreter does not implement yet (the describe commands other than \\d, \\dt, \\dv, \\dn, \\df, \\du and \\l, \\H, \\watch, \\gexec) are warnings: the job runs on AWS's rsql but not locally. So are \\logon, \\c, \\connect and \\logoff: `rsqlflow rsql` runs them, but a job runs on the warehouse its runner connected and stops there locally (exit 1). So are psql's other commands (\\encoding, \\prompt, \\gx, the rest of the \\d family, ...): RSQL extends psql, so AWS's rsql may run them, while rsqlflow's interpreter refuses them."
            ),
            Rule::MalformedMetaCommand => format!(
                "A known meta-command with arguments the interpreter refuses stops the script with exit 1 when it is reached: \\exit with a code that is not a whole number, \\goto or \\label without exactly one name, \\set with an invalid variable name (letters, digits and underscores), \\unset and \\i without their one argument, \\run without file=NAME, \\timing with a value that is not on/off, \\pset with an unknown option, \\rset with an unknown keyword, \\export without report file=PATH or reset, a \\copy that does not parse. An \\if or \\elseif expression that does not parse (comparisons = <> < > <= >=, AND, OR, NOT and parentheses, {COMMANDS_DOC}, \\IF) is a warning: rsql reports it and takes the branch as not taken, as psql does. Arguments computed from variables are not checked."
            ),
            Rule::UnbalancedIf => format!(
                "\\if, \\elseif, \\else and \\endif form blocks ({COMMANDS_DOC}, \\IF): an \\elseif, \\else or \\endif without an open \\if, an \\elseif or second \\else after \\else, or an \\if still open at the end of the file stop the script with exit 1 (psql's rule, which RSQL keeps: a block must end in the file it started in). Add or remove the \\endif shown."
            ),
            Rule::GotoWithoutLabel => format!(
                "\\goto LABEL skips forward to \\label LABEL; AWS's documentation is explicit that it cannot jump back: 'you cannot jump to a \\LABEL that lexically precedes the \\GOTO' ({COMMANDS_DOC}, \\GOTO). A \\goto with no matching \\label after it in the same file skips the rest of the script (rsqlflow's interpreter then stops with exit 1, 'target not found'), so the failure path it was written for never runs. Labels match without regard to case."
            ),
            Rule::DuplicateLabel => format!(
                "Two \\label lines with the same name (compared without case): a \\goto jumps to the first one after it ({COMMANDS_DOC}, \\GOTO and \\LABEL), so which block runs depends on where the \\goto is. That is legal, so this is a warning; rename one label."
            ),
            Rule::UnreachableAfterExit => format!(
                "\\exit ends the script at once with its exit code ({COMMANDS_DOC}, \\EXIT); anything after it in the same block, up to the block's \\elseif, \\else or \\endif or a \\label a \\goto could jump to, never runs. Usually a step added after the last \\exit by mistake. A warning: nothing fails, something is silently not done."
            ),
            Rule::ExitCodeRange => format!(
                "\\exit N sets the process's exit status ({COMMANDS_DOC}, \\EXIT: '\\exit 15' gives 15), and a POSIX exit status has 8 bits: the shell, AWS Batch and rsqlflow see N modulo 256, so \\exit 256 looks like success and \\exit 300 like 44. A code that becomes 0 is an error (a failure reported as success); any other code outside 0-255 is a warning."
            ),
            Rule::ExitCodeReused => format!(
                "Production RSQL scripts give each failure its own \\exit code so the job's status says which step failed ({COMMANDS_DOC}, \\EXIT). Two \\exit lines with the same non-zero code cannot be told apart from the outside. A warning: give each failure a distinct code, or allow it where the failures really are the same."
            ),
            Rule::MissingInclude => format!(
                "\\i FILE, \\ir FILE and \\run file=FILE read and run another script ({COMMANDS_DOC}, \\RUN); a file that does not exist stops the script with exit 1. \\ir resolves against the including script's directory, and a missing file there is an error. \\i and \\run resolve against the working directory of the run, which the checker does not know: it looks next to the script and in the current directory, and reports a warning when the file is in neither. Files named through variables are not checked."
            ),
            Rule::UndefinedVariable => format!(
                "rsql leaves a :name it does not know in the text as written (psql's interpolation, which RSQL keeps; {VARIABLES_DOC}), so COPY ... FROM :'data_urii' sends the literal text and the job fails at run time, or worse, runs with the wrong value. A variable is known when it is built in (ERROR, ERRORCODE, SQLSTATE, ACTIVITYCOUNT, ROW_COUNT, LAST_ERROR_MESSAGE, LAST_ERROR_SQLSTATE, and SHELL_EXIT_CODE/SHELL_ERROR after \\!), set earlier in the script (\\set, or \\gset with the columns of its query), or passed to the job (-v NAME=VALUE; `rsqlflow check -v NAME`). A \\gset whose columns cannot be read from its query, or an include the checker cannot read, make later names unknown rather than undefined: they are not reported, or reported as warnings. Names are case-sensitive: :error is not :ERROR."
            ),
            Rule::UnusedVariable => format!(
                "A variable the jobs pass (-v NAME=VALUE, {VARIABLES_DOC}) that the script never reads: usually a renamed variable on one side only, so the script reads a different name (see undefined-variable) or a hard-coded value. A warning."
            ),
            Rule::DeadErrorCheck => format!(
                "With ON_ERROR_STOP on, the first failing statement stops the script (rsqlflow exits 3; RSQL 1.0.5 'scripts now end after encountering an error and return the correct exit codes'). A later \\if :ERROR <> 0 or :ERRORCODE check ({VARIABLES_DOC}) can then only ever see success: its branch, often the one that sets a specific exit code, is dead. Either drop ON_ERROR_STOP and keep the checks, or drop the checks. Not reported when \\rset errorlevel gives some errors severity 0 or turns errorlevel off (those errors do not stop the script). A warning."
            ),
            Rule::UncheckedStatement => format!(
                "By default rsql goes on after a failed statement, and the status variables ERROR and ERRORCODE ({VARIABLES_DOC}) describe only the last statement. A statement followed by another statement, or by the end of the script or an \\exit, with no \\if on :ERROR, :ERRORCODE or :SQLSTATE in between, can fail without anyone noticing: the job exits 0. Check it, or set ON_ERROR_STOP. Consecutive unchecked statements are reported once, at the first. Not reported: a statement inside BEGIN ... COMMIT followed by a check before the COMMIT (a failure aborts the transaction, so every later statement in it fails too), statements before a failure \\exit N (the job fails anyway), BEGIN, and DROP ... IF EXISTS (if it fails, the CREATE after it fails too). A warning."
            ),
            Rule::InvalidStateMachine => format!("The definition is read and validated by rsqlflow's ASL validator, which answers as Step Functions' ValidateStateMachineDefinition does ({VALIDATE_DOC}): a missing StartAt, a Next to a state that does not exist, a state nothing reaches, a field a state type does not allow, a bad path or JSONata expression, a Retry or Catch that does not parse. CreateStateMachine and UpdateStateMachine refuse such a definition, so `sam deploy` fails; `rsqlflow run` refuses it too. The finding points at the field the validator names."),
            Rule::StateMachineRefusedLocally => "The definition is valid for Step Functions, but it uses something rsqlflow's local executor does not run yet (the message names it): `rsqlflow run` refuses the definition, so the workflow cannot be tested on one machine, while `sam deploy` accepts it. A warning.".to_string(),
            Rule::InvalidJobSpec => format!("A Task that invokes submit-job passes a job spec: name, script, variables, timeoutSeconds, vcpus, memoryMib. submit-job checks it before it submits anything, and a spec it refuses fails the Task with Rsqlflow.InvalidJobSpec, which no Retry should cover: an unknown field (a misspelt timeoutSecond), a name with characters other than letters, digits, '-' and '_' or over 64 characters, a variable whose name or value rsql cannot take, timeoutSeconds under 60 (AWS Batch's minimum attempt duration, {BATCH_TIMEOUT_DOC}), vcpus outside 0-16, memoryMib outside 512-122880. The checker runs the very code submit-job runs, on the literal parts of the spec; computed fields are stood in for."),
            Rule::MissingScript => "A job's script is a key in the scripts bucket, which `sam deploy` fills from the scripts directory (etl/ by default; --scripts DIR). A key with no file there fails the Task when it runs: submit-job looks the script up and fails it with Rsqlflow.InvalidJobSpec (\"does not exist\"), an hour into a night of jobs if earlier states take that long. The closest existing script is suggested. Scripts named by a full s3:// URI are in other buckets and are not looked for.".to_string(),
            Rule::JobTimeout => format!("A job's timeoutSeconds (or, without it, the job definition's attempt timeout, JobTimeoutSeconds in the template) is how long AWS Batch lets the job run ({BATCH_TIMEOUT_DOC}); the Task's TimeoutSeconds is how long Step Functions waits for check-job's answer ({TASK_DOC}). When the job may run as long as the Task waits or longer, Step Functions fails the step with States.Timeout while the job still runs and may still commit, and the answer that comes later is refused. Give the Task more time than the job, with room for the time the job waits in the queue (RUNNABLE time does not count towards Batch's timeout). A submit-job Task without TimeoutSeconds waits for the default of 99999999 seconds when an answer is lost: a warning."),
            Rule::RetryCoverage => format!("submit-job fails with Rsqlflow.InfrastructureError when AWS Batch cannot take the job for now (throttling, capacity, a container that could not start for a passing reason), and the Lambda invocation itself can fail with the transient Lambda.ServiceException, Lambda.AWSLambdaException, Lambda.SdkClientException and Lambda.TooManyRequestsException, which AWS recommends retrying ({LAMBDA_RETRY_DOC}). A submit-job Task whose Retry does not list them (or States.ALL or States.TaskFailed) fails the workflow on a hiccup that a retry would have absorbed. A warning; allow it where failing fast is wanted."),
            Rule::CatchSwallowsFailure => format!("A Catch on a submit-job Task sends a failed job somewhere ({ERRORS_DOC}). If every path from there ends in a Fail state, the execution fails and rsqlflow's notify reports it; if a path reaches a Succeed state or the end of the workflow without a Fail state or an SNS publish, the execution succeeds with a job failed, and the success notification hides it. Only the states of the Catch's own scope are followed (a path that ends a Parallel branch or a Map iteration counts as an end). A warning."),
            Rule::ComputedJobField => "A job spec field computed at run time (\"script.$\": \"$.script\" in JSONPath, \"{% $states.input.script %}\" in JSONata, or the whole job or payload) cannot be checked without running the workflow: which script runs, its timeout, or which variables it is given. The note says what was not checked, so that a clean report is not mistaken for a checked one. Notes never fail the check.".to_string(),
            Rule::UnsubstitutedPlaceholder => format!("A definition file is deployed with the template's DefinitionSubstitutions ({SUBSTITUTIONS_DOC}): each ${{Name}} in the file is replaced by the value the template gives Name. A ${{Name}} with no substitution is sent to Step Functions as written: a FunctionName of ${{SubmitJobFunctionArn}} fails every execution at that state, and a bucket name of ${{DataBucket}} reads the wrong place. Add the name to the state machine's DefinitionSubstitutions, or fix the typo. A definition file that no state machine of the template uses gets a note instead: its placeholders cannot be checked."),
            Rule::MissingDefinition => "A state machine in template.yaml whose DefinitionUri names a file that does not exist: `sam build` and `sam deploy` fail, and `rsqlflow run` cannot find the workflow.".to_string(),
            Rule::UnreadableFile => "A file given to the checker that could not be read, or is larger than the limit (16 MiB by default): nothing in it was checked.".to_string(),
            Rule::SqlSyntax => format!(
                "Each statement is parsed as Redshift SQL the way the translation to the local engine parses it: the lexical pre-pass (which takes out Redshift's physical-design clauses, IDENTITY, #temp names, VARCHAR(MAX), ... and recognises VACUUM, ANALYZE COMPRESSION, ALTER TABLE APPEND, MERGE ... REMOVE DUPLICATES, GRANT, COPY and UNLOAD as a whole), then sqlparser 0.63's RedshiftSqlDialect. Variables are replaced by placeholders first (:'name' by a string, :\"name\" by a quoted identifier, :name by a plain identifier). sqlparser does not know all of Redshift's grammar ({SQL_REFERENCE}): CREATE PROCEDURE (CREATE PROCEDURE, https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_PROCEDURE.html; the compatibility corpus's case 54) fails to parse although Redshift accepts it, and so may other forms, and a :name that stands for a keyword or a clause cannot be parsed as a name. So a parse failure is a warning, never an error: the statement may well be fine on Redshift, but it will most likely fail locally too (the local engine receives it untranslated), and a typo (SELCT, a missing comma or parenthesis) shows here first. Allow it with -- rsqlflow: allow(sql-syntax) on the line before where the construct is known to be valid Redshift SQL."
            ),
            Rule::RefusedLocally => format!(
                "The statement is Redshift SQL, but `rsqlflow rsql` on the embedded engine or PostgreSQL cannot do it: the translation refuses it with an error naming the construct (UNLOAD ... PARTITION BY, UNLOAD FORMAT AS JSON, COPY FORMAT AS AVRO/ORC/FIXEDWIDTH/SHAPEFILE, COLLATE CASE_INSENSITIVE, COPY or UNLOAD options the local loader does not implement), or accepts it as a no-op with a note (GRANT/REVOKE, ANALYZE COMPRESSION, ALTER TABLE ... ALTER DISTKEY/SORTKEY, Redshift-only SET parameters). A job that runs the statement works on Redshift ({SQL_REFERENCE}) and fails, or does less, in a local run. A warning."
            ),
            Rule::CopyOption => format!(
                "COPY and UNLOAD take a fixed set of parameters ({COPY_DOC} and the parameter pages it links: data source, authorization, data format, compression, column mapping, data conversion, data load; {UNLOAD_DOC}). A word in the option list that is none of them nor one of their documented values (ON, OFF, AUTO, PRESET, UTF8, MB, ...) is not in the documented syntax, and Redshift stops the statement with a syntax error, so the load or unload never runs: usually a typo (DELIMETER, IGNOREHEADERS, TIMEFORMATS). An error. Words inside parentheses (PARTITION BY (...)) and a :name variable, which may stand for a whole option list, are not judged."
            ),
            Rule::CopyDuplicateColumn => format!(
                "A COPY column list maps the fields of each input record, in order, to the columns named ({COPY_COLUMNS_DOC}). A column named twice would receive two fields: almost certainly a mistake in the list (another column was meant), which shifts every later field into the wrong column or leaves one out. AWS's documentation does not say what Redshift does with it (PostgreSQL, which Redshift's parser descends from, refuses it: 'column specified more than once'), so this is a warning rather than an error."
            ),
        };
        format!("{}: {}\n\n{}\n", self.code(), self.summary(), text)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_kebab_case() {
        for r in Rule::ALL {
            assert_eq!(Rule::from_code(r.code()).unwrap(), r);
            assert!(r.code().chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            assert!(r.explain().starts_with(r.code()));
        }
        assert!(Rule::from_code("nope").is_err());
    }
}
