//! `rsqlflow`: run Amazon Redshift RSQL ETL jobs on one machine and on AWS.

mod asl_cmd;
mod cli;
mod connect;
mod job_cmd;
mod rsql_cmd;
mod run_cmd;
mod sample_data;
mod signals;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let code = match cli.command {
        cli::Command::Rsql(args) => rsql_cmd::run(args).await,
        cli::Command::SampleData(args) => sample_data::run(args).await,
        cli::Command::Asl(cmd) => asl_cmd::run(cmd).await,
        cli::Command::Run(args) => run_cmd::run(args).await,
        cli::Command::Trigger(cmd) => run_cmd::trigger(cmd).await,
        cli::Command::Redrive(args) => run_cmd::redrive(args).await,
        cli::Command::Job(args) => job_cmd::run(args).await,
    };
    match code {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("rsqlflow: {e:#}");
            ExitCode::from(1)
        }
    }
}
