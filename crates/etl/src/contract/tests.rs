//! The contract's promise, as properties: whatever submit-job accepts, the container accepts,
//! and what the container refuses about a variable, submit-job refused first.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::contract::{JobEnvironment, environment, script_object};
use crate::spec::JobSpec;

fn spec(script: String, variables: BTreeMap<String, String>) -> JobSpec {
    JobSpec {
        name: "load_customer".into(),
        script,
        variables,
        timeout_seconds: None,
        vcpus: None,
        memory_mib: None,
    }
}

/// Names near the rule's edges: digits first, non-ASCII letters, punctuation, empty.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z_][A-Za-z0-9_]{0,12}",
        "[0-9A-Za-z_é.:-]{0,6}",
        any::<String>(),
    ]
}

/// Values with and without NUL and line breaks, and past the length limit.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        "[a\0\n\r]{0,4}",
        (4090usize..4100).prop_map(|n| "é".repeat(n / 2)),
    ]
}

fn script() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}(/[a-z]{1,8}){0,2}\\.rsql",
        "s3://[a-z]{0,4}/[a-z/]{0,8}",
        "[a-z/ ]{0,6}",
    ]
}

proptest! {
    /// A spec that passes validate gives an environment the container reads back whole, and
    /// a script location the container fetches.
    #[test]
    fn a_valid_spec_runs_in_the_container(
        variables in prop::collection::btree_map(name(), value(), 0..4),
        script in script(),
    ) {
        let spec = spec(script, variables);
        if let Ok(location) = spec.validate().and_then(|()| spec.script_location("scripts")) {
            let env = JobEnvironment {
                script: location.uri(),
                variables: spec.variables.clone(),
                job: spec.name.clone(),
            };
            let back = JobEnvironment::from_overrides(&env.render());
            prop_assert_eq!(back.as_ref(), Ok(&env));
            prop_assert!(script_object(&env.script).is_ok(), "{}", env.script);
        }
    }

    /// The container refuses a variable only when submit-job refuses the spec holding it.
    #[test]
    fn the_container_refuses_only_what_submit_job_refuses(name in name(), value in value()) {
        let spec = spec("etl/load.rsql".into(), [(name.clone(), value.clone())].into());
        let json = serde_json::to_string(&spec.variables).unwrap();
        let container = environment::parse_variables(&json);
        prop_assert_eq!(spec.validate().is_ok(), container.is_ok(), "{:?}", container);
    }
}
