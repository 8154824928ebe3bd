//! The ARNs of a Map Run and of its child executions, as AWS forms them from the parent state
//! machine's ARN, the Map's `Label` (or a generated id) and the run's id:
//!
//! - Map Run: `arn:<partition>:states:<region>:<account>:mapRun:<machine>/<label>:<run id>`
//!   (AWS-recorded `…:mapRun:<machine>/TestMap:<uuid>` for `"Label": "TestMap"` in LocalStack's
//!   `test_map_state_result_writer` snapshot; AWSDOC "ResultWriter (Map)":
//!   `mapRun:csvProcess/Map:ad9b5f27-…`; without a Label the middle part is an id of its own);
//! - a child's state machine `…:stateMachine:<machine>/<label>` and execution
//!   `…:execution:<machine>/<label>:<child name>` (AWSDOC "ResultWriter (Map)" NONE example:
//!   `execution:orderProcessing/getOrders:da4e9fc7-…`, `stateMachine:orderProcessing/getOrders`).

/// A Map Run's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapRunNames {
    /// `arn:<partition>:states:<region>:<account>:`.
    base: String,
    /// `<machine>/<label>`.
    qualified: String,
    /// The run's id (the last part of its ARN, and the directory ResultWriter writes into).
    pub run_id: String,
}

impl MapRunNames {
    /// From the parent's state machine ARN (`arn:…:stateMachine:<name>`), the Map's `Label`
    /// (or an id when it has none) and the run's id; `None` when the ARN is not a state
    /// machine's.
    pub fn new(state_machine_arn: &str, label: &str, run_id: &str) -> Option<MapRunNames> {
        let (base, name) = state_machine_arn.split_once(":stateMachine:")?;
        let name = name.split(':').next().unwrap_or(name);
        Some(MapRunNames {
            base: format!("{base}:"),
            qualified: format!("{name}/{label}"),
            run_id: run_id.to_string(),
        })
    }

    /// From the parts of the parent's ARN: `arn:<partition>:states:<region>:<account>:`
    /// and the state machine's name.
    pub fn from_parts(
        partition: &str,
        region: &str,
        account: &str,
        machine: &str,
        label: &str,
        run_id: &str,
    ) -> MapRunNames {
        MapRunNames {
            base: format!("arn:{partition}:states:{region}:{account}:"),
            qualified: format!("{machine}/{label}"),
            run_id: run_id.to_string(),
        }
    }

    /// The Map Run's ARN.
    pub fn map_run_arn(&self) -> String {
        format!("{}mapRun:{}:{}", self.base, self.qualified, self.run_id)
    }

    /// The child executions' state machine ARN.
    pub fn child_state_machine_arn(&self) -> String {
        format!("{}stateMachine:{}", self.base, self.qualified)
    }

    /// A child execution's ARN, `name` being its execution name.
    pub fn child_execution_arn(&self, name: &str) -> String {
        format!("{}execution:{}:{name}", self.base, self.qualified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_the_docs_show_them() {
        let n = MapRunNames::new(
            "arn:aws:states:us-east-2:123456789012:stateMachine:csvProcess",
            "Map",
            "ad9b5f27-090b-3ac6-9beb-243cd77144a7",
        )
        .unwrap();
        assert_eq!(
            n.map_run_arn(),
            "arn:aws:states:us-east-2:123456789012:mapRun:csvProcess/Map:ad9b5f27-090b-3ac6-9beb-243cd77144a7"
        );
        let o = MapRunNames::new(
            "arn:aws:states:us-east-2:123456789012:stateMachine:orderProcessing",
            "getOrders",
            "r",
        )
        .unwrap();
        assert_eq!(
            o.child_execution_arn("da4e9fc7-abab-3b27-9a77-a277e463b709"),
            "arn:aws:states:us-east-2:123456789012:execution:orderProcessing/getOrders:da4e9fc7-abab-3b27-9a77-a277e463b709"
        );
        assert_eq!(
            o.child_state_machine_arn(),
            "arn:aws:states:us-east-2:123456789012:stateMachine:orderProcessing/getOrders"
        );
        assert!(MapRunNames::new("arn:aws:lambda:x", "L", "r").is_none());
    }
}
