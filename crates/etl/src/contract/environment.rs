//! The container's environment: what submit-job puts in a job's container overrides, typed,
//! and the one reader the local Batch uses to get it back (`rsqlflow job` reads the same names
//! as flags' environment variables and parses the variables with [`parse_variables`]).

use std::collections::BTreeMap;

use crate::contract::variables::{VariableError, check_variable};

/// The script's `s3://bucket/key`.
pub const SCRIPT: &str = "RSQLFLOW_SCRIPT";
/// The RSQL variables, a JSON object of strings.
pub const VARIABLES: &str = "RSQLFLOW_VARIABLES";
/// The job spec's name (for people reading the job, and the local Batch's fault injection).
pub const JOB: &str = "RSQLFLOW_JOB";
/// Every name submit-job sets per job.
pub const NAMES: [&str; 3] = [SCRIPT, VARIABLES, JOB];
/// The names `rsqlflow job` reads.
pub const READ_BY_CONTAINER: [&str; 2] = [SCRIPT, VARIABLES];

/// What a job's container is told, beyond its job definition.
#[derive(Clone, PartialEq, Eq)]
pub struct JobEnvironment {
    /// `s3://bucket/key` of the script.
    pub script: String,
    /// RSQL variables, each passing [`check_variable`].
    pub variables: BTreeMap<String, String>,
    /// The job spec's name.
    pub job: String,
}

/// Why a container environment could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    /// A variable the container needs is absent or empty.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// `RSQLFLOW_VARIABLES` is not a JSON object of strings.
    #[error("{VARIABLES} must be a JSON object of strings: {0}")]
    BadVariables(String),
    /// One of the RSQL variables breaks the rule submit-job checks.
    #[error(transparent)]
    Variable(#[from] VariableError),
}

/// Debug names the variables without their values (they can hold a password).
impl std::fmt::Debug for JobEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobEnvironment")
            .field("script", &self.script)
            .field("variables", &self.variables.keys().collect::<Vec<_>>())
            .field("job", &self.job)
            .finish()
    }
}

impl JobEnvironment {
    /// The environment as Batch container overrides (name -> value), every one of [`NAMES`].
    pub fn render(&self) -> BTreeMap<String, String> {
        // A map of strings always serialises.
        let variables = serde_json::to_string(&self.variables).unwrap_or_default();
        [
            (SCRIPT.to_string(), self.script.clone()),
            (VARIABLES.to_string(), variables),
            (JOB.to_string(), self.job.clone()),
        ]
        .into()
    }

    /// Reads the environment back through `lookup` (name -> value). The script and the job's
    /// name must be set; absent variables are none, as for `rsqlflow job`.
    pub fn read(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<JobEnvironment, EnvironmentError> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.is_empty())
                .ok_or(EnvironmentError::Missing(name))
        };
        Ok(JobEnvironment {
            script: required(SCRIPT)?,
            variables: parse_variables(&lookup(VARIABLES).unwrap_or_default())?,
            job: required(JOB)?,
        })
    }

    /// Reads the environment back from rendered container overrides.
    pub fn from_overrides(
        overrides: &BTreeMap<String, String>,
    ) -> Result<JobEnvironment, EnvironmentError> {
        JobEnvironment::read(|name| overrides.get(name).cloned())
    }
}

/// The variables of `RSQLFLOW_VARIABLES` (blank: none), each checked by [`check_variable`].
pub fn parse_variables(json: &str) -> Result<BTreeMap<String, String>, EnvironmentError> {
    if json.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let map: BTreeMap<String, String> =
        serde_json::from_str(json).map_err(|e| EnvironmentError::BadVariables(e.to_string()))?;
    for (name, value) in &map {
        check_variable(name, value)?;
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> JobEnvironment {
        JobEnvironment {
            script: "s3://scripts/etl/load.rsql".into(),
            variables: [("pw".to_string(), "Hunter2".to_string())].into(),
            job: "load".into(),
        }
    }

    #[test]
    fn rendered_overrides_read_back() {
        let rendered = env().render();
        assert_eq!(rendered.keys().map(String::as_str).collect::<Vec<_>>(), {
            let mut n = NAMES.to_vec();
            n.sort();
            n
        });
        assert_eq!(rendered[VARIABLES], r#"{"pw":"Hunter2"}"#);
        assert_eq!(JobEnvironment::from_overrides(&rendered), Ok(env()));
        assert!(!format!("{:?}", env()).contains("Hunter2"));
    }

    #[test]
    fn errors_name_the_missing_or_bad_variable() {
        let without = |name: &str, value: Option<&str>| {
            let mut m = env().render();
            match value {
                Some(v) => m.insert(name.to_string(), v.to_string()),
                None => m.remove(name),
            };
            JobEnvironment::from_overrides(&m)
        };
        for name in [SCRIPT, JOB] {
            let e = without(name, None).unwrap_err();
            assert_eq!(e.to_string(), format!("{name} is not set"));
            assert_eq!(
                without(name, Some("")),
                Err(EnvironmentError::Missing(name))
            );
        }
        assert!(without(VARIABLES, None).unwrap().variables.is_empty());
        let e = without(VARIABLES, Some(r#"{"a": 1}"#)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("RSQLFLOW_VARIABLES must be a JSON object of strings"),
            "{e}"
        );
        let e = without(VARIABLES, Some(r#"{"1x": "v"}"#)).unwrap_err();
        assert!(e.to_string().starts_with("variable 1x:"), "{e}");
        let e = without(VARIABLES, Some(r#"{"x": "a\nb"}"#)).unwrap_err();
        assert!(e.to_string().starts_with("variable x:"), "{e}");
    }

    #[test]
    fn variables_come_from_json() {
        let v = parse_variables(r#"{"data_uri": "s3://d/x/", "q": "it's; DROP"}"#).unwrap();
        assert_eq!(
            v.into_iter().collect::<Vec<_>>(),
            vec![
                ("data_uri".to_string(), "s3://d/x/".to_string()),
                ("q".to_string(), "it's; DROP".to_string())
            ]
        );
        assert!(parse_variables(" ").unwrap().is_empty());
    }
}
