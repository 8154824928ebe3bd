//! The job contract: what submit-job promises and what the Batch container accepts, as one
//! piece of code that both sides call. Submit-job checks a spec with these rules and writes
//! the job with these names; the container (`rsqlflow job`) and the local Batch read the job
//! back with the same code, so a job that passed submit-job is not refused later on a rule
//! submit-job did not check.

pub mod environment;
pub mod names;
pub mod script;
pub mod tags;
pub mod variables;

pub use environment::{EnvironmentError, JobEnvironment};
pub use names::{sanitize, short_hash};
pub use script::{ScriptError, fetch_script, script_object};
pub use tags::{EXECUTION_TAG, JOB_TAG, STATE_TAG, STEP_TAG, TOKEN_PARAMETER};
pub use variables::{
    MAX_VALUE_BYTES, VariableError, VariableProblem, check_variable, valid_variable_name,
};

#[cfg(test)]
mod tests;
