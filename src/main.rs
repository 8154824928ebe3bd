//! `rsqlflow`: run Amazon Redshift RSQL ETL jobs on one machine and on AWS.

mod asl_cmd;
mod check_cmd;
mod cli;
mod connect;
mod cost_cmd;
mod job_cmd;
mod report_aws;
mod report_cmd;
mod rsql_cmd;
mod rsql_session;
mod rsql_term;
mod run_cmd;
mod sample_data;
mod signals;
mod watch_cmd;

use std::process::ExitCode;

use clap::Parser;

/// How long the end of the process waits for work still on the runtime's blocking threads (a
/// file operation of a dropped job, say). Everything a command needs has been awaited by then.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rsqlflow: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(command(cli));
    // Not a plain drop: dropping a runtime waits for every blocking task without limit.
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    code
}

async fn command(cli: cli::Cli) -> ExitCode {
    let code = match cli.command {
        cli::Command::Rsql(args) => rsql_cmd::run(args).await,
        cli::Command::SampleData(args) => sample_data::run(args).await,
        cli::Command::Asl(cmd) => asl_cmd::run(cmd).await,
        cli::Command::Run(args) => run_cmd::run(args).await,
        cli::Command::Trigger(cmd) => run_cmd::trigger(cmd).await,
        cli::Command::Watch(args) => watch_cmd::run(args).await,
        cli::Command::Redrive(args) => run_cmd::redrive(args).await,
        cli::Command::Job(args) => job_cmd::run(args).await,
        cli::Command::Check(args) => Ok(check_cmd::run(args)),
        cli::Command::Report(args) => report_cmd::run(args).await,
        cli::Command::Cost(args) => cost_cmd::run(args),
    };
    match code {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("rsqlflow: {e:#}");
            ExitCode::from(1)
        }
    }
}
