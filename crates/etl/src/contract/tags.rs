//! What submit-job attaches to every Batch job besides its environment: the tags check-job
//! and notify find a job's spec and execution by, and the parameter carrying the task token.

use std::collections::BTreeMap;

/// Tag holding the execution ARN (notify stops an ended execution's jobs by it).
pub const EXECUTION_TAG: &str = "rsqlflow:execution";
/// Tag holding the Task state's name.
pub const STATE_TAG: &str = "rsqlflow:state";
/// Tag holding the job spec's name (check-job's result and failure cause name the job by it).
pub const JOB_TAG: &str = "rsqlflow:job";
/// Tag holding the rest of the job's step key: the redrive count and the job spec's hash
/// (check-job finds the step's submission entry by it, with the execution and state tags).
pub const STEP_TAG: &str = "rsqlflow:step";
/// Job parameter holding the task token check-job answers (a parameter, not an environment
/// variable, so the container never sees it).
pub const TOKEN_PARAMETER: &str = "taskToken";

/// The tags of a job for `job` of Task state `state` in execution `execution_arn`, for step
/// `step` (see [`step_tag`]).
pub fn job_tags(
    execution_arn: &str,
    state: &str,
    job: &str,
    step: &str,
) -> BTreeMap<String, String> {
    [
        (EXECUTION_TAG.to_string(), execution_arn.to_string()),
        (STATE_TAG.to_string(), state.to_string()),
        (JOB_TAG.to_string(), job.to_string()),
        (STEP_TAG.to_string(), step.to_string()),
    ]
    .into()
}

/// The step tag: the execution's redrive count and the hash of the job spec, so that a
/// redrive, and Map iterations of one state with different items, are different steps.
/// (A tag value holds at most 256 characters, too few for the whole key: an execution ARN
/// alone can take most of them; and only letters, digits, spaces and `_.:/=+-@`, so no `#`.)
pub fn step_tag(redrive_count: u32, spec_hash: &str) -> String {
    format!("{redrive_count}/{spec_hash}")
}

/// A step's key in the submissions ledger: execution ARN, state name and step tag.
pub fn step_key(execution_arn: &str, state: &str, step: &str) -> String {
    format!("{execution_arn}#{state}#{step}")
}

/// The step key of a job, from its tags; None for a job without them (one submitted before
/// the ledger existed, or not by submit-job).
pub fn step_key_of(tags: &BTreeMap<String, String>) -> Option<String> {
    Some(step_key(
        tags.get(EXECUTION_TAG)?,
        tags.get(STATE_TAG)?,
        tags.get(STEP_TAG)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batch's pattern for tag values: `^[{a-zA-Z0-9 }_.://=+-@%]*$` (moto enforces it).
    #[test]
    fn the_step_tag_is_a_valid_tag_value_and_the_key_comes_back_from_the_tags() {
        let tag = step_tag(3, "0a1b2c3d");
        assert!(
            tag.chars()
                .all(|c| c.is_ascii_alphanumeric() || " _.:/=+-@%".contains(c)),
            "{tag}"
        );
        let tags = job_tags("arn:aws:states:r:1:execution:sm:e", "Load", "load", &tag);
        assert_eq!(
            step_key_of(&tags).as_deref(),
            Some("arn:aws:states:r:1:execution:sm:e#Load#3/0a1b2c3d")
        );
        let mut legacy = tags.clone();
        legacy.remove(STEP_TAG);
        assert_eq!(step_key_of(&legacy), None);
    }
}
