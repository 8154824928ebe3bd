//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Where s3:// objects live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum S3Mode {
    /// A local directory (--s3-root).
    Local,
    /// Amazon S3 through the AWS SDK.
    Aws,
}

/// Run Amazon Redshift RSQL ETL jobs: locally on an embedded PostgreSQL, or against PostgreSQL
/// and Redshift servers.
#[derive(Debug, Parser)]
#[command(name = "rsqlflow", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an RSQL script (psql-compatible, with Amazon RSQL's extensions).
    #[command(after_help = RSQL_EXAMPLES)]
    Rsql(RsqlArgs),
    /// Write TPC-H sample tables (gzip-compressed, pipe-delimited .tbl) into the local S3 data
    /// bucket.
    #[command(after_help = SAMPLE_EXAMPLES)]
    SampleData(SampleDataArgs),
    /// Validate and run Amazon States Language state machines locally, as Step Functions does.
    #[command(subcommand)]
    Asl(AslCommand),
    /// Run the whole ETL workflow locally: the state machine on the ASL executor, the Lambda
    /// handlers in process, each RSQL job as a local Batch job on the warehouse, notifications
    /// to .rsqlflow/outbox.jsonl.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Fire a trigger locally, as EventBridge would: an S3 object arriving, or a schedule;
    /// template.yaml's routes pick the workflows it starts. A second identical trigger finds
    /// the execution the first one started.
    #[command(subcommand)]
    Trigger(TriggerCommand),
    /// Watch the local data bucket and fire the S3 trigger for every object that arrives, as
    /// EventBridge would: each complete new object goes through start-workflow and its
    /// execution runs here, one at a time, in arrival order, with `rsqlflow run`'s output.
    #[command(after_help = WATCH_EXAMPLES)]
    Watch(WatchArgs),
    /// Restart a FAILED, ABORTED or TIMED_OUT execution from its unsuccessful states, as Step
    /// Functions' RedriveExecution does: states that succeeded keep their results and are not
    /// run again; the jobs that did not succeed run with the current scripts.
    #[command(after_help = REDRIVE_EXAMPLES)]
    Redrive(RedriveArgs),
    /// Run one RSQL job as the AWS Batch container does: fetch the script from S3, get
    /// temporary database credentials through IAM, run it with Amazon RSQL (or the built-in
    /// interpreter) and exit with its exit code. Configured by the job definition's
    /// RSQLFLOW_* environment; flags override.
    #[command(after_help = JOB_EXAMPLES)]
    Job(JobArgs),
    /// Check the project without running it, like a compiler: the state machines (ASL
    /// validation, job specs, scripts, timeouts, Retry and Catch), the template's
    /// placeholders, and the RSQL scripts (meta-commands, \if structure, labels, exit codes,
    /// includes, the variables the jobs pass, error handling).
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Write one self-contained HTML picture of an execution: the graph coloured by what
    /// happened, a timeline of states and Batch jobs, details on click. A local execution by
    /// name (default: the latest), an AWS history with --history and --definition, or an
    /// execution in AWS with --execution-arn.
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),
    /// Estimate what an execution would cost in AWS, line by line (Step Functions
    /// transitions, Lambda requests and duration, Fargate vCPU and memory, Redshift Serverless
    /// RPU-hours, logs, DynamoDB, S3, SNS): a local execution by name (default: the latest)
    /// with what its run measured, or a history exported from AWS; or a deployment's idle cost
    /// per month.
    #[command(after_help = COST_EXAMPLES)]
    Cost(CostArgs),
}

const COST_EXAMPLES: &str = "\
Examples:
  rsqlflow cost                               # the latest local execution
  rsqlflow cost run-20261204T101500.000Z --format json
  aws stepfunctions get-execution-history --execution-arn ARN --output json > h.json
  rsqlflow cost --history h.json              # an execution in AWS
  rsqlflow cost --idle 3                      # idle cost per month, endpoints in 3 AZs (default)
  rsqlflow cost --idle 1                      # with EndpointAvailabilityZones=1
  rsqlflow cost --explain                     # every price and its source

Prices are on-demand, in US dollars, read on the date shown, free tiers not subtracted; each
line says whether its quantity is counted from the history, measured by the local run, or
modelled. An estimate, not a bill.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CostFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct CostArgs {
    /// A local execution's name or ARN (default: the latest).
    #[arg(conflicts_with_all = ["history", "idle"])]
    pub execution: Option<String>,

    /// A history from `aws stepfunctions get-execution-history --output json` (pages may be
    /// concatenated).
    #[arg(long, conflicts_with = "idle")]
    pub history: Option<PathBuf>,

    /// The idle cost per month of a default deployment whose interface endpoints are in this
    /// many Availability Zones (3, the default template; 1, EndpointAvailabilityZones=1).
    #[arg(long, value_name = "AZS")]
    pub idle: Option<u32>,

    /// The Region whose prices to use.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,

    /// The SAM template whose defaults say the jobs' vCPUs and memory and the workgroup's base
    /// capacity.
    #[arg(long, default_value = "template.yaml")]
    pub template: PathBuf,

    /// Output: a text table, or JSON.
    #[arg(long, value_enum, default_value_t = CostFormat::Text)]
    pub format: CostFormat,

    /// List every price with its source and the date it was read.
    #[arg(long)]
    pub explain: bool,
}

const REPORT_EXAMPLES: &str = "\
Examples:
  rsqlflow report                         # the latest local execution
  rsqlflow report happy -o /tmp/happy.html
  aws stepfunctions get-execution-history --execution-arn ARN --output json > h.json
  rsqlflow report --history h.json --definition state-machines/rsql-etl.asl.json
  rsqlflow report --execution-arn arn:aws:states:eu-west-1:123456789012:execution:rsql-etl:run-1

Writes .rsqlflow/executions/<name>.html (or -o FILE) and prints its path.";

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A local execution's name or ARN (default: the latest).
    #[arg(conflicts_with_all = ["history", "execution_arn"])]
    pub execution: Option<String>,

    /// An execution in AWS: its description, history (unless --history), definition (unless
    /// --definition), Batch jobs and their log tails are read with your AWS credentials.
    #[arg(long, value_name = "ARN")]
    pub execution_arn: Option<String>,

    /// The AWS Region to call (default: the execution ARN's).
    #[arg(long, requires = "execution_arn")]
    pub region: Option<String>,

    /// A Batch job queue (name or ARN) to look for the execution's jobs in (repeatable;
    /// default: the queues of the jobs the history names, else every queue of the Region).
    #[arg(long, value_name = "QUEUE", requires = "execution_arn")]
    pub job_queue: Vec<String>,

    /// How many of a Distributed Map's child executions to read the histories of (failed
    /// ones first; every child is counted by its status whatever this is).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        requires = "execution_arn"
    )]
    pub child_histories: usize,

    /// A history from `aws stepfunctions get-execution-history --output json` (pages may be
    /// concatenated); needs --definition, or --execution-arn (which then names it).
    #[arg(long)]
    pub history: Option<PathBuf>,

    /// The state machine definition the history ran (with --history; with --execution-arn it
    /// replaces the one AWS has for the execution).
    #[arg(long)]
    pub definition: Option<PathBuf>,

    /// Where to write the HTML.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

const JOB_EXAMPLES: &str = "\
Examples:
  rsqlflow job                                    # in the Batch container: all from RSQLFLOW_*
  rsqlflow job --script s3://my-scripts/tpch/region_load.rsql --workgroup etl -v run_date=2026-11-24
  rsqlflow job --engine native --s3-root .rsqlflow/s3 --database-url postgres://etl@localhost/dw \\
      --script s3://rsqlflow-scripts/tpch/region_load.rsql

Variables reach rsql as -v NAME=VALUE arguments, never by rewriting the script. The password
from IAM goes to rsql in its environment (RSPASSWORD), never on its command line or in logs.
Exit codes: the script's own; 1 when the script is missing, empty or unreadable or a variable
is malformed; 2 when no database credentials or connection could be had.";

/// Which RSQL runs a job's script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineArg {
    /// Amazon RSQL (rsql on PATH, or --rsql), over ODBC.
    Rsql,
    /// rsqlflow's own RSQL interpreter over the PostgreSQL wire protocol (no ODBC needed).
    Native,
}

/// TLS for the native engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SslModeArg {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, Args)]
pub struct JobArgs {
    /// The script: s3://bucket/key.
    #[arg(
        long,
        env = etl::contract::environment::SCRIPT,
        value_name = "S3_URI",
        hide_env_values = true
    )]
    pub script: String,

    /// Set RSQL variable NAME to VALUE (repeatable); added to RSQLFLOW_VARIABLES.
    #[arg(short = 'v', long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Variables as a JSON object of strings (what submit-job puts in the job's environment).
    #[arg(
        long,
        env = etl::contract::environment::VARIABLES,
        value_name = "JSON",
        hide_env_values = true
    )]
    pub variables: Option<String>,

    /// Which RSQL runs the script.
    #[arg(
        long,
        value_enum,
        env = "RSQLFLOW_ENGINE",
        default_value = "rsql",
        hide_env_values = true
    )]
    pub engine: EngineArg,

    /// Redshift Serverless workgroup (credentials from GetCredentials).
    #[arg(
        long,
        env = "RSQLFLOW_WORKGROUP",
        value_name = "NAME",
        hide_env_values = true
    )]
    pub workgroup: Option<String>,

    /// Provisioned cluster identifier (credentials from GetClusterCredentialsWithIAM).
    #[arg(
        long,
        env = "RSQLFLOW_CLUSTER",
        value_name = "ID",
        hide_env_values = true
    )]
    pub cluster: Option<String>,

    /// With --cluster: connect as this database user (GetClusterCredentials) instead of the
    /// IAM identity.
    #[arg(
        long,
        env = "RSQLFLOW_DB_USER",
        value_name = "USER",
        hide_env_values = true
    )]
    pub db_user: Option<String>,

    /// Connect to this postgres:// URL instead of getting IAM credentials (the password may
    /// come from RSPASSWORD or PGPASSWORD).
    #[arg(
        long,
        env = "RSQLFLOW_DATABASE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Database name for IAM credentials.
    #[arg(
        long,
        env = "RSQLFLOW_DB_NAME",
        hide_env_values = true,
        default_value = "dev",
        value_name = "NAME"
    )]
    pub db_name: String,

    /// Writable directory for the downloaded script (the image's root filesystem is read-only).
    #[arg(
        long,
        env = "RSQLFLOW_SCRATCH",
        hide_env_values = true,
        default_value = "/tmp",
        value_name = "DIR"
    )]
    pub scratch: PathBuf,

    /// The Amazon RSQL program.
    #[arg(
        long,
        env = "RSQLFLOW_RSQL",
        hide_env_values = true,
        default_value = "rsql",
        value_name = "PROGRAM"
    )]
    pub rsql: PathBuf,

    /// TLS for the native engine with IAM credentials.
    #[arg(long, value_enum, default_value = "verify-full")]
    pub sslmode: SslModeArg,

    /// Read the script from this local S3 directory (bucket/key below it) instead of S3.
    #[arg(long, value_name = "DIR")]
    pub s3_root: Option<PathBuf>,
}

const RUN_EXAMPLES: &str = "\
Examples:
  rsqlflow run                                   # the sample workflow, embedded warehouse, SF 0.01
  rsqlflow run --scale 1 --database postgres://etl@localhost/dw
  rsqlflow run state-machines/rsql-etl.asl.json --input '{\"note\": \"rerun\"}'
  rsqlflow run state-machines/rsql-etl.jsonata.asl.json    # the same workflow in JSONata
  rsqlflow run state-machines/load-prefix.asl.json --input '{\"prefix\": \"tpch/\"}'
                                                 # one job per file under s3://rsqlflow-data/tpch/
  rsqlflow run --inject-infra-failure customer_staging   # the first attempt fails as a failed image pull
  rsqlflow run --inject-duplicate-submit customer_staging
                                                 # submit-job runs twice for the step: one job

Before running, local S3 (--s3-root) is seeded: etl/ goes to the scripts bucket
(s3://rsqlflow-scripts/), TPC-H customer/region/nation at --scale to the data bucket
(s3://rsqlflow-data/tpch/) when absent. Placeholders such as ${SubmitJobFunctionArn} are
filled with local resources. Job logs: .rsqlflow/logs/; execution histories:
.rsqlflow/executions/; notifications: .rsqlflow/outbox.jsonl.

--name follows Step Functions' rules and is used once; a failed execution is restarted with
`rsqlflow redrive NAME`. Ctrl-C (or SIGTERM) stops the execution and its jobs, records it
ABORTED and notifies; a second Ctrl-C exits at once.

Exit status: 0 when the execution succeeds, 1 when it fails, times out or cannot start, 130/143
when SIGINT/SIGTERM stopped it.";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The state machine definition.
    #[arg(default_value = "state-machines/rsql-etl.asl.json")]
    pub state_machine: PathBuf,

    /// Execution input: JSON text, or @FILE.
    #[arg(long, default_value = "{}")]
    pub input: String,

    /// SAM template whose DefinitionSubstitutions name the placeholders (checked when present).
    #[arg(long, default_value = "template.yaml")]
    pub template: PathBuf,

    #[command(flatten)]
    pub places: Places,

    /// Execution name (default: run-<time>).
    #[arg(long)]
    pub name: Option<String>,

    /// Wait for real in retries and Wait states (default: simulated, instant).
    #[arg(long)]
    pub real_time: bool,

    /// Make the first attempt of this job (its spec name) fail with an infrastructure error,
    /// to see the retry at work; JOB:N fails the first N attempts.
    #[arg(long, value_name = "JOB[:N]")]
    pub inject_infra_failure: Vec<String>,

    /// Make the state retry this job's submission (its spec name) while the job is queued or
    /// running: the first submit-job answers Lambda.ServiceException once the job is RUNNABLE
    /// or RUNNING, and the Task's Retry invokes submit-job again with a new task token. The
    /// retry adopts the job (one job runs) and its answer reaches the new token.
    #[arg(long, value_name = "JOB")]
    pub inject_duplicate_submit: Vec<String>,

    /// Do not send a notification when the execution succeeds.
    #[arg(long)]
    pub no_success_notification: bool,
}

const REDRIVE_EXAMPLES: &str = "\
Examples:
  rsqlflow redrive                       # the latest unsuccessful execution
  rsqlflow redrive run-20261204T101500.123Z
  rsqlflow redrive arn:aws:states:us-east-1:123456789012:execution:rsql-etl:nightly

The execution keeps its name, ARN, input and state machine definition; its history goes on
with an ExecutionRedriven event (redriveCount) and its notification says \"redrive N\". Scripts
are seeded again from --etl-dir first, so a fixed script is what runs. In AWS:
aws stepfunctions redrive-execution --execution-arn ARN.

Exit status: 0 when the redriven execution succeeds, 1 otherwise (or when it cannot be
redriven: it succeeded, it is running, or it does not exist).";

#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// The execution: its name or ARN (default: the latest FAILED, ABORTED or TIMED_OUT one).
    pub execution: Option<String>,

    #[command(flatten)]
    pub places: Places,

    /// Wait for real in retries and Wait states (default: simulated, instant).
    #[arg(long)]
    pub real_time: bool,

    /// Do not send a notification when the redriven execution succeeds.
    #[arg(long)]
    pub no_success_notification: bool,
}

/// Where a local run's jobs, objects and scripts are.
#[derive(Debug, Clone, Args)]
pub struct Places {
    /// Run the jobs on this PostgreSQL or Redshift server instead of the embedded warehouse
    /// (jobs then run in parallel).
    #[arg(
        long,
        env = "RSQLFLOW_DATABASE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,

    /// Directory standing in for Amazon S3.
    #[arg(long, value_name = "DIR", default_value = ".rsqlflow/s3")]
    pub s3_root: PathBuf,

    /// Directory of RSQL scripts seeded into the scripts bucket first.
    #[arg(long, value_name = "DIR", default_value = "etl")]
    pub etl_dir: PathBuf,

    /// TPC-H scale factor of the sample data seeded when absent.
    #[arg(long, default_value_t = 0.01)]
    pub scale: f64,
}

/// `rsqlflow trigger ...`
#[derive(Debug, Subcommand)]
pub enum TriggerCommand {
    /// An object arrived in the data bucket: s3://BUCKET/KEY of local S3.
    S3(TriggerS3Args),
    /// A schedule fired (at --time, default now).
    Schedule(TriggerScheduleArgs),
}

#[derive(Debug, Args)]
#[command(after_help = TRIGGER_S3_EXAMPLES)]
pub struct TriggerS3Args {
    /// The object's key.
    pub key: String,
    /// The bucket.
    #[arg(long, default_value = "rsqlflow-data")]
    pub bucket: String,
    #[command(flatten)]
    pub run: TriggerRunArgs,
}

#[derive(Debug, Args)]
#[command(after_help = TRIGGER_SCHEDULE_EXAMPLES)]
pub struct TriggerScheduleArgs {
    /// The route of the schedule that fires (its name in the routing table, e.g. nightly);
    /// needed when the table has more than one schedule.
    pub route: Option<String>,
    /// The scheduled time (ISO-8601); default: now, to the minute.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub time: Option<String>,
    /// Backfill from this scheduled time (a date such as 2026-11-01, midnight UTC, or an
    /// ISO-8601 time): one execution per time from --from to --to, every --every, in order.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// The last scheduled time of a backfill (included).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// The interval between a backfill's scheduled times: a number and d, h or m (1d, 6h, 15m).
    #[arg(long, default_value = "1d", requires = "from")]
    pub every: String,
    /// Run up to N of a backfill's executions at a time (in order of their scheduled times).
    /// More than 1 needs --database: the embedded warehouse runs one job at a time.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "from",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    #[command(flatten)]
    pub run: TriggerRunArgs,
}

const TRIGGER_S3_EXAMPLES: &str = "\
Examples:
  rsqlflow sample-data --orders-days 3                 # three daily files under incoming/orders/
  rsqlflow trigger s3 incoming/orders/orders_1992-01-01.tbl.gz   # route orders: orders-incremental
  rsqlflow trigger s3 incoming/x.csv --state-machine state-machines/rsql-etl.asl.json

The object must be in local S3 (--s3-root). start-workflow starts every workflow whose route
(template.yaml's RSQLFLOW_ROUTES: an S3 prefix and suffix) takes the key, as in AWS; a key no
route takes is ignored, with the routes it did not match. The execution's input describes the
object ({\"trigger\": {\"type\": \"s3\", \"bucket\", \"key\", \"uri\", \"size\", \"etag\",
\"sequencer\"}}) and its name comes from the route, bucket, key and sequencer: the same event
again starts nothing and reports the execution it started.";

const TRIGGER_SCHEDULE_EXAMPLES: &str = "\
Examples:
  rsqlflow trigger schedule nightly                    # route nightly's schedule fires now
  rsqlflow trigger schedule nightly --time 2026-11-01T02:00:00Z
  rsqlflow trigger schedule nightly --from 2026-11-01 --to 2026-11-07  # a backfill: 7 runs
  rsqlflow trigger schedule nightly --from 2026-11-01 --to 2026-11-30 --parallel 4 \\
      --database postgres://etl@localhost/dw
  rsqlflow trigger schedule --state-machine state-machines/nightly-summary.asl.json

ROUTE is a schedule route of template.yaml's RSQLFLOW_ROUTES (schedule: rsql-etl, nightly:
nightly-summary, jsonata: rsql-etl-jsonata, load-prefix: load-prefix); it may be left out when
there is only one. Each scheduled time starts one
execution named after the route and the time (nightly-2026-11-01T00-00-00Z), as the deployed
start-workflow names it, with the input {\"trigger\": {\"type\": \"schedule\", \"time\":
\"2026-11-01T00:00:00Z\", \"run_date\": \"2026-11-01\", \"schedule\": \"rsqlflow-nightly-summary\"}}.
A time whose execution exists is not started again: a backfill says so and goes on when that
execution succeeded, and stops when it failed (redrive it, then backfill again). The backfill
also stops starting at the first execution that fails. --parallel N runs N at a time (on a
--database server; the embedded warehouse runs one job at a time).";

const WATCH_EXAMPLES: &str = "\
Examples:
  rsqlflow watch                # template.yaml's routes: incoming/orders/ -> orders-incremental
  # elsewhere: a file renamed into place starts its load at once
  mv orders_1992-01-01.tbl.gz .rsqlflow/s3/rsqlflow-data/incoming/orders/
  rsqlflow watch --settle 5s --max-objects 1      # one object, written slowly, then exit

What arrives: a regular file below <s3-root>/<bucket>/ that is new or has new content, once it
is complete: renamed (moved) into place, which makes it complete at once, or written in place
and then left with the same size and modification time for --settle (default 1s). Objects
already there when the watch starts are not triggered (EventBridge reports new objects only);
an object written again (overwritten or renamed over) is a new arrival, and start-workflow's
names make the same version arriving again start nothing. Directories, hidden names (.name,
which includes the .rsqlflow-*.tmp files rsqlflow's writers rename into place), symbolic links
and keys S3 would refuse are not objects.

Each arrival becomes the event `rsqlflow trigger s3` gives start-workflow (its size, etag and
sequencer as it is when it arrives), which starts the workflows whose routes take its key. Executions run one at a time: arrivals during one are
queued and said on stderr. A failed execution is reported and the watch goes on.

Ctrl-C or SIGTERM while no execution runs stops the watch: a one-line summary on stdout
(objects arrived; executions started, succeeded, failed; already started; ignored), exit 0, or
1 when any execution failed. While one runs, that execution is stopped as `rsqlflow run` stops
(recorded ABORTED, one notification), the queued arrivals are not started (listed on stderr),
and the exit status is 130 (SIGINT) or 143 (SIGTERM). A second signal exits at once.";

/// `rsqlflow watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The bucket to watch: the directory <s3-root>/<bucket> (made when absent).
    #[arg(long, default_value = "rsqlflow-data")]
    pub bucket: String,
    /// How long an object written in place must keep its size and modification time to be
    /// complete: 500ms, 2s, 1.5s, 1m, or a number of milliseconds (at most an hour).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = crate::watch_cmd::parse_settle)]
    pub settle: std::time::Duration,
    /// Exit after N arrivals were handled (their executions ended, or start-workflow started
    /// nothing for them).
    #[arg(long, value_name = "N")]
    pub max_objects: Option<u64>,
    /// Poll the bucket directory instead of using the file system's change events (for
    /// network file systems and mounts whose writes raise no events). The watch also polls
    /// when the events cannot be had.
    #[arg(long)]
    pub poll: bool,
    #[command(flatten)]
    pub run: TriggerRunArgs,
}

/// What a trigger runs.
#[derive(Debug, Clone, Args)]
pub struct TriggerRunArgs {
    /// The SAM template whose start-workflow routes (RSQLFLOW_ROUTES, parameters at their
    /// defaults) say which workflow an event starts. Without it, events start
    /// state-machines/rsql-etl.asl.json.
    #[arg(long, default_value = "template.yaml")]
    pub template: PathBuf,
    /// Start this state machine instead of routing by the template: objects (under --prefix,
    /// ending with --suffix) start it as route `s3`, schedules as route `schedule`.
    #[arg(long, value_name = "FILE")]
    pub state_machine: Option<PathBuf>,
    #[command(flatten)]
    pub places: Places,
    /// With --state-machine: only keys with this prefix start the workflow.
    #[arg(long, default_value = "", requires = "state_machine")]
    pub prefix: String,
    /// With --state-machine: only keys with this suffix start the workflow.
    #[arg(long, default_value = "", requires = "state_machine")]
    pub suffix: String,
}

/// `rsqlflow asl ...`
#[derive(Debug, Subcommand)]
pub enum AslCommand {
    /// Check a definition as ValidateStateMachineDefinition does; every problem is reported
    /// with its location (/States/Name/Field).
    #[command(after_help = ASL_VALIDATE_EXAMPLES)]
    Validate(AslValidateArgs),
    /// Run a state machine and print its output; the execution history can be written in
    /// GetExecutionHistory's format. Time is virtual: Wait states, retries and timeouts take
    /// no real time.
    #[command(after_help = ASL_EXEC_EXAMPLES)]
    Exec(AslExecArgs),
}

const ASL_VALIDATE_EXAMPLES: &str = "\
Examples:
  rsqlflow asl validate state-machines/etl.asl.json
  rsqlflow asl validate workflow.yaml

Valid means what AWS's ValidateStateMachineDefinition would accept. What AWS accepts but the
local executor cannot run yet (an ItemReader of Parquet files) is valid, with a note on stderr:
`not supported by the local executor yet: FIELD at /States/X`; `asl exec` and `rsqlflow run`
refuse it with that line.

Exit status: 0 valid, 1 invalid (problems on stderr), 2 usage error.";

const ASL_EXEC_EXAMPLES: &str = "\
Examples:
  rsqlflow asl exec machine.asl.json --input '{\"date\": \"2024-01-01\"}'
  rsqlflow asl exec machine.asl.json --input @input.json --history history.json
  rsqlflow asl exec machine.asl.json --mocks MockConfigFile.json --test-case HappyPath
  rsqlflow asl exec distributed-map.asl.json --s3-root .rsqlflow/s3   # ItemReader from local S3
  rsqlflow asl exec distributed-map.asl.json --s3 aws    # from Amazon S3 (AWS_PROFILE, ...)

Task states need a handler: with --mocks, the states of the chosen test case are answered
from the file (Step Functions Local's MockConfigFile format); any other Task fails as AWS
would fail an unknown resource.

Exit status: 0 when the execution succeeds (output JSON on stdout), 1 when it fails or times
out (error and cause on stderr), 2 usage error.";

#[derive(Debug, Args)]
pub struct AslValidateArgs {
    /// The definition (JSON or YAML).
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct AslExecArgs {
    /// The definition (JSON or YAML).
    pub file: PathBuf,

    /// Execution input: JSON text, or @FILE to read it from a file.
    #[arg(long, default_value = "{}")]
    pub input: String,

    /// Write the execution history (GetExecutionHistory's JSON) to this file.
    #[arg(long, value_name = "OUT.json")]
    pub history: Option<PathBuf>,

    /// Wait for real in Wait states, retries and timeouts instead of simulating time.
    #[arg(long)]
    pub real_time: bool,

    /// Seed for States.UUID, States.MathRandom and retry jitter.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Mocked task responses (Step Functions Local's MockConfigFile format).
    #[arg(long, value_name = "FILE", requires = "test_case")]
    pub mocks: Option<PathBuf>,

    /// The test case of the mock file to use.
    #[arg(long, value_name = "NAME", requires = "mocks")]
    pub test_case: Option<String>,

    /// The state machine of the mock file (default: its only one, or the one with the test case).
    #[arg(long, value_name = "NAME", requires = "mocks")]
    pub mock_state_machine: Option<String>,

    /// Execution name (appears in $$.Execution and the ARNs).
    #[arg(long, default_value = "local-execution")]
    pub name: String,

    /// Stop an execution after this many state transitions (a loop guard).
    #[arg(long, default_value_t = 1_000_000)]
    pub max_transitions: u64,

    /// Directory standing in for Amazon S3 (one subdirectory per bucket): where a Distributed
    /// Map's ItemReader reads and its ResultWriter writes.
    #[arg(long, value_name = "DIR", default_value = ".rsqlflow/s3")]
    pub s3_root: PathBuf,

    /// Where a Distributed Map reads and writes s3:// objects: the local directory
    /// (--s3-root), or Amazon S3 itself with the standard AWS configuration (credentials,
    /// region, AWS_ENDPOINT_URL).
    #[arg(long, value_enum, default_value_t = S3Mode::Local)]
    pub s3: S3Mode,
}

const SAMPLE_EXAMPLES: &str = "\
Examples:
  rsqlflow sample-data --scale 0.01
  rsqlflow sample-data --scale 1 --tables customer,lineitem --s3-root /tmp/s3

  rsqlflow sample-data --compression lzop --tables customer,nation,region

Then load a table with COPY (dbgen's lines end with '|': the table needs no extra column):
  COPY customer FROM 's3://rsqlflow-data/tpch/customer/' IAM_ROLE default DELIMITER '|' GZIP;";

#[derive(Debug, Args)]
pub struct SampleDataArgs {
    /// TPC-H scale factor (1 = about 1 GB of raw data; 0.01 = about 10 MB).
    #[arg(long, default_value_t = 0.01)]
    pub scale: f64,

    /// Tables to write (default: all eight).
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<String>,

    /// Directory standing in for Amazon S3.
    #[arg(long, value_name = "DIR", default_value = ".rsqlflow/s3")]
    pub s3_root: PathBuf,

    /// Bucket to write to.
    #[arg(long, default_value = "rsqlflow-data")]
    pub bucket: String,

    /// Key prefix inside the bucket.
    #[arg(long, default_value = "tpch")]
    pub prefix: String,

    /// How the files are compressed (each is loaded by COPY with the keyword of the same name;
    /// none writes plain .tbl files, as dbgen does).
    #[arg(long, value_enum, default_value_t = SampleCompression::Gzip)]
    pub compression: SampleCompression,

    /// Also write the orders of the first N order dates as one file per day
    /// (<orders-prefix>/orders_1992-01-01.tbl.gz, ...), the files an incremental load receives;
    /// alone (without --tables) it writes only these.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub orders_days: usize,

    /// Key prefix of the daily orders files.
    #[arg(long, default_value = "incoming/orders")]
    pub orders_prefix: String,
}

/// Compression of sample-data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SampleCompression {
    /// `<table>.tbl.gz` (COPY ... GZIP).
    Gzip,
    /// `<table>.tbl.bz2` (COPY ... BZIP2).
    Bzip2,
    /// `<table>.tbl.zst` (COPY ... ZSTD).
    Zstd,
    /// `<table>.tbl.lzo` (COPY ... LZOP), as the AWS sample's data files are.
    Lzop,
    /// `<table>.tbl`, uncompressed.
    None,
}

const RSQL_EXAMPLES: &str = "\
Examples:
  rsqlflow rsql -c 'select 1 as one'                    # the embedded warehouse
  rsqlflow rsql -f etl/load_customer.rsql -v ON_ERROR_STOP=1 -v batch_date=2024-06-01
  rsqlflow rsql -h cluster.example.com -p 5439 -U etl -d dev -f job.rsql   # as rsql and psql
  RSPASSWORD=... rsqlflow rsql -D prod_dsn -a -f nightly.sql   # an odbc.ini data source
  rsqlflow rsql --database postgres://etl@localhost:5432/dw -f job.rsql
  rsqlflow rsql <<'EOF'
  select count(*) as n from pg_class \\gset
  \\if :n > 0
    \\remark 'catalog has ' :n ' relations'
  \\endif
  EOF

Connection: -h/-p/-U/-d or PGHOST/PGPORT/PGUSER/PGDATABASE (port 5439 unless given), -D DSN
from the odbc.ini that ODBCINI names (else ~/.odbc.ini; IAM=1 data sources get temporary
credentials through AWS IAM), or --database URL. The password comes from RSPASSWORD, then a
DSN's PWD, then PGPASSWORD; it is never printed. With none of these (PGUSER alone does not
count), statements run on an embedded PostgreSQL whose data persists in .rsqlflow/warehouse/
under the current directory (--ephemeral: a throwaway one).

Exit codes: 0 success, 1 client error (missing file, bad meta-command, broken input),
2 connection failed or lost (also a \\logon or \\c that fails in a script), 3 stopped
by ON_ERROR_STOP, N from \\exit N, or the
severity of an error above \\rset maxerror.";

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RsqlArgs {
    /// Print help (-h is the host, as in rsql and psql).
    #[arg(short = '?', long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,

    /// Run the script in FILE, then exit.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "command"
    )]
    pub file: Option<PathBuf>,

    /// Run one command string (SQL and/or meta-commands), then exit.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub command: Option<String>,

    /// Set variable NAME to VALUE (as \set does); repeatable.
    #[arg(short = 'v', long = "set", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Server host (default: PGHOST). With a host, statements go to that server.
    #[arg(short = 'h', long = "host", value_name = "HOST")]
    pub host: Option<String>,

    /// Server port (default: PGPORT, else 5439, Amazon Redshift's).
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub port: Option<u16>,

    /// Database user (default: PGUSER, else the login name).
    #[arg(short = 'U', long = "username", value_name = "USER")]
    pub user: Option<String>,

    /// Database name (default: PGDATABASE, else the user name).
    #[arg(short = 'd', long = "dbname", value_name = "DB")]
    pub dbname: Option<String>,

    /// Connect with the ODBC data source NAME: its section of the odbc.ini that ODBCINI
    /// names (else ~/.odbc.ini). -h/-p/-U/-d override its values.
    #[arg(short = 'D', long = "dsn", value_name = "NAME")]
    pub dsn: Option<String>,

    /// Database URL: postgres://user[:password]@host[:port]/db[?sslmode=require]. The password
    /// may instead come from RSPASSWORD or PGPASSWORD.
    #[arg(
        long,
        env = "RSQLFLOW_DATABASE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,

    /// Use a throwaway embedded database instead of .rsqlflow/warehouse/.
    #[arg(long, conflicts_with_all = ["database", "host", "dsn"])]
    pub ephemeral: bool,

    /// Echo every input line as it is read (sets ECHO to all).
    #[arg(short = 'a', long = "echo-all")]
    pub echo_all: bool,

    /// Set a print option, as \pset NAME VALUE does; repeatable (pager=off: no pager at a
    /// terminal; there is none in batch mode).
    #[arg(short = 'P', long = "pset", value_name = "NAME=VALUE")]
    pub pset: Vec<String>,

    /// Accepted for psql compatibility: no startup file is read anyway.
    #[arg(short = 'X', long = "no-psqlrc")]
    pub no_psqlrc: bool,

    /// Accepted for psql compatibility: rsqlflow never prompts for a password.
    #[arg(short = 'w', long = "no-password")]
    pub no_password: bool,

    /// Prompt for a password: refused (batch runs have no terminal; use RSPASSWORD).
    #[arg(short = 'W', long = "password")]
    pub prompt_password: bool,

    /// Quiet: no informational messages from rsqlflow itself.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,

    /// Print rows only (no column headers or row-count footer).
    #[arg(short = 't', long = "tuples-only")]
    pub tuples_only: bool,

    /// Unaligned output: values separated by the field separator.
    #[arg(short = 'A', long = "no-align")]
    pub unaligned: bool,

    /// Directory standing in for Amazon S3 in COPY and UNLOAD: s3://bucket/key is
    /// DIR/bucket/key.
    #[arg(long, value_name = "DIR", default_value = ".rsqlflow/s3")]
    pub s3_root: PathBuf,

    /// Where COPY and UNLOAD read and write s3:// objects: the local directory (--s3-root), or
    /// Amazon S3 itself with the standard AWS configuration (credentials, region,
    /// AWS_ENDPOINT_URL).
    #[arg(long, value_enum, default_value_t = S3Mode::Local)]
    pub s3: S3Mode,

    /// Print each statement's Redshift-to-PostgreSQL translation on stderr before it runs.
    #[arg(long)]
    pub explain_translation: bool,

    /// Send statements as written, with no Redshift-to-PostgreSQL translation (automatic when
    /// the server is an Amazon Redshift endpoint).
    #[arg(long, conflicts_with = "explain_translation")]
    pub no_translate: bool,

    /// Field separator for unaligned output (default "|").
    #[arg(short = 'F', long = "field-separator", value_name = "SEP")]
    pub field_separator: Option<String>,

    /// Echo each statement as it is sent (sets ECHO to queries).
    #[arg(short = 'e', long = "echo-queries")]
    pub echo_queries: bool,

    /// Send query results to FILE (as \o FILE does).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write each statement and its output to FILE, appending (psql's -L).
    #[arg(short = 'L', long = "log-file", value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Expanded output (as \x does).
    #[arg(short = 'x', long = "expanded")]
    pub expanded: bool,

    /// Record separator for unaligned output (default newline).
    #[arg(short = 'R', long = "record-separator", value_name = "SEP")]
    pub record_separator: Option<String>,

    /// Single-step mode: at a terminal, confirm each statement before it is sent (psql's -s).
    #[arg(short = 's', long = "single-step")]
    pub single_step: bool,

    /// At a terminal: no line editing and no history (psql's -n).
    #[arg(short = 'n', long = "no-readline")]
    pub no_readline: bool,

    /// At a terminal: keep no history file (default: RSQL_HISTORY, else ~/.rsql_history).
    #[arg(long = "no-history")]
    pub no_history: bool,
}

const CHECK_EXAMPLES: &str = "\
Examples:
  rsqlflow check                                  # the project: state-machines/, etl/, template.yaml
  rsqlflow check etl/tpch/customer_staging.rsql   # one script, with the variables its jobs pass
  rsqlflow check state-machines/rsql-etl.asl.json # one workflow: its jobs, scripts, timeouts
  rsqlflow check --format github                  # annotations in a GitHub Actions log
  rsqlflow check --format json | jq .code         # one JSON object per finding
  rsqlflow check --deny warnings                  # warnings fail too
  rsqlflow check --explain undefined-variable     # what a rule finds, and why
  rsqlflow check --explain list                   # every rule code

The project (--project, default the current directory) is read whatever PATHs are named:
template.yaml, the state machines under state-machines/ and the scripts under etl/ (--scripts).
A script's variables are those every job that runs it passes (from the state machines' job
specs) and those named with -v NAME (passed to every script checked; -v NAME=VALUE is
accepted and the value ignored). Silence a finding with a comment on its line or the line
before, `-- rsqlflow: allow(CODE)`, or for a whole file, `-- rsqlflow: allow-file(CODE)`; in a
state machine, the same words in a string on the line (a \"Comment\") do. Notes say what could
not be checked (a field computed at run time) and never fail the check.
Exit codes: 0 no errors (warnings and notes are printed); 1 errors found (or warnings, with
--deny warnings); 2 the check could not run (a path that does not exist, an unknown rule code,
a template that does not parse).";

/// How `rsqlflow check` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Compiler style on stderr: file:line:col, the line and a caret, a summary.
    Text,
    /// One JSON object per finding per line, on stdout.
    Json,
    /// GitHub workflow commands (::error file=...), on stdout.
    Github,
}

/// What `--deny` turns into errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckDeny {
    /// Warnings make the exit code 1.
    Warnings,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files to check: scripts (*.rsql, *.sql), state machine definitions (*.asl.json,
    /// *.asl.yaml), template.yaml, or directories to search for scripts and definitions
    /// (symbolic links inside them are not followed). Default: the project's
    /// state-machines/, etl/ and template.yaml, those that exist.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// The project directory: where template.yaml, state-machines/ and etl/ are.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,

    /// The scripts directory, whose files the scripts bucket holds (a job's script key is a
    /// path under it). Default: etl/ in the project.
    #[arg(long, value_name = "DIR")]
    pub scripts: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,

    /// Fail (exit 1) on warnings too.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub deny: Option<CheckDeny>,

    /// Explain a rule (its code, as in error[CODE]) and exit; `list` lists the codes.
    #[arg(long, value_name = "CODE")]
    pub explain: Option<String>,

    /// A variable every job passes to the scripts (repeatable), as rsql's -v NAME=VALUE.
    #[arg(short = 'v', long = "var", value_name = "NAME")]
    pub vars: Vec<String>,
}
