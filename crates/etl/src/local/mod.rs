//! Local implementations of the services, and the pipeline that runs a workflow on one
//! machine: Batch runs each job's RSQL script on the warehouse, EventBridge routes job state
//! changes to check-job, Step Functions is the ASL executor, SNS writes an outbox, the
//! submissions ledger is a table in memory.

pub mod abandoned;
pub mod batch;
pub mod bus;
pub mod executions;
pub mod lambda;
pub mod logs;
pub mod meter;
pub mod pipeline;
pub mod routes;
pub mod runner;
pub mod sfn;
pub mod sns;
pub mod submissions;
