//! `rsqlflow cost`: what an execution of the framework costs in AWS, estimated from its
//! history (issue 18). [`prices`] holds the one price table, with each figure's source and the
//! date it was read; [`usage`] reads what a history shows was used (state transitions, Lambda
//! invocations, Batch jobs and their resources, the warehouse's busy time); [`estimate`] does
//! the arithmetic (Fargate's and Redshift Serverless's minimum charges included) and says
//! which figures are measured and which modelled.
//!
//! The crate uses no AWS SDK: it reads histories as JSON (through `report::history`), from a
//! local run or from `aws stepfunctions get-execution-history`.

pub mod estimate;
pub mod prices;
pub mod usage;

pub use estimate::{Assumptions, Basis, Estimate, Idle, Line, estimate, idle};
pub use prices::{Prices, for_region};
pub use usage::{JobUse, LambdaUse, Usage};

/// Why an estimate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no prices for Region {region}: the table has {known}")]
    UnknownRegion { region: String, known: String },
    #[error(transparent)]
    History(#[from] report::Error),
}
