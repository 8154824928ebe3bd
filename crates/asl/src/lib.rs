//! Amazon States Language: the model of a state machine, validation as AWS's
//! ValidateStateMachineDefinition does it, and an executor faithful to AWS Step Functions down
//! to the execution history, with pluggable tasks and a virtual clock. Knows nothing of AWS
//! services: tasks are handlers registered by resource ARN.

pub mod checkpoint;
pub mod choice;
pub mod clock;
pub mod data;
pub mod distributed;
pub mod executor;
pub mod history;
pub mod intrinsic;
pub mod jsonata;
pub mod mocks;
pub mod model;
pub mod nested;
pub mod path;
pub mod rng;
pub mod task;
pub mod timestamp;
pub mod validate;

pub use checkpoint::{Checkpoint, Completed, Redrive};
pub use clock::Mode;
pub use executor::{ExecutionResult, Executor, Handle, Options, Status};
pub use task::{Pattern, Registry, Resource, TaskCall, TaskContext, TaskFailure, TaskHandler};
pub use validate::{DefinitionError, Problem, load, load_runnable, parse_text, runnable, validate};
