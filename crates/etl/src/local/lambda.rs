//! Lambda locally: `arn:aws:states:::lambda:invoke` Task states call the framework's handlers
//! in process, as the Lambda runtime would call the deployed binaries.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::handlers::submit_job;
use crate::local::batch::LocalBatch;
use crate::settings::Settings;

/// The functions a state machine can invoke locally.
pub struct LocalLambda {
    pub submit_job_name: String,
    pub settings: Settings,
    pub batch: LocalBatch,
    pub scripts: Arc<dyn objects::ObjectStore>,
}

fn function_name(s: &str) -> &str {
    s.rsplit_once(":function:")
        .map(|(_, n)| n.split(':').next().unwrap_or(n))
        .unwrap_or(s)
}

#[async_trait]
impl asl::TaskHandler for LocalLambda {
    async fn invoke(
        &self,
        call: asl::TaskCall,
        _ctx: asl::TaskContext,
    ) -> Result<Value, asl::TaskFailure> {
        let target = call.input["FunctionName"].as_str().unwrap_or("");
        let payload = call.input.get("Payload").cloned().unwrap_or(json!({}));
        if function_name(target) != function_name(&self.submit_job_name) {
            return Err(asl::TaskFailure::new(
                "Lambda.ResourceNotFoundException",
                format!(
                    "Function not found: {target} (the local pipeline serves {})",
                    self.submit_job_name
                ),
            ));
        }
        match submit_job::handle(payload, &self.settings, &self.batch, self.scripts.as_ref()).await
        {
            Ok(v) => Ok(json!({"ExecutedVersion": "$LATEST", "Payload": v, "StatusCode": 200})),
            Err(e) => {
                let ty = e.error_type();
                Err(asl::TaskFailure::new(
                    ty.clone(),
                    json!({"errorMessage": e.to_string(), "errorType": ty}).to_string(),
                ))
            }
        }
    }
}
