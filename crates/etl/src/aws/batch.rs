//! AWS Batch through aws-sdk-batch.

use async_trait::async_trait;
use aws_sdk_batch::Client;
use aws_sdk_batch::types::{
    ContainerOverrides, JobStatus as SdkStatus, JobTimeout, KeyValuePair, KeyValuesPair,
    ResourceRequirement, ResourceType,
};

use crate::aws::service_error;
use crate::error::ServiceError;
use crate::services::{Batch, JobAttempt, JobDetail, JobStatus, NewJob};

/// Batch over the SDK; `queue` is the framework's job queue (listing active jobs).
#[derive(Debug, Clone)]
pub struct AwsBatch {
    client: Client,
    queue: String,
}

impl AwsBatch {
    pub fn new(client: Client, queue: impl Into<String>) -> AwsBatch {
        AwsBatch {
            client,
            queue: queue.into(),
        }
    }
}

fn status(s: &SdkStatus) -> JobStatus {
    match s {
        SdkStatus::Submitted => JobStatus::Submitted,
        SdkStatus::Pending => JobStatus::Pending,
        SdkStatus::Runnable => JobStatus::Runnable,
        SdkStatus::Starting => JobStatus::Starting,
        SdkStatus::Running => JobStatus::Running,
        SdkStatus::Succeeded => JobStatus::Succeeded,
        _ => JobStatus::Failed,
    }
}

fn detail(j: &aws_sdk_batch::types::JobDetail) -> JobDetail {
    let container = j.container();
    JobDetail {
        id: j.job_id().unwrap_or_default().to_string(),
        name: j.job_name().unwrap_or_default().to_string(),
        queue: j.job_queue().unwrap_or_default().to_string(),
        status: j.status().map(status).unwrap_or(JobStatus::Submitted),
        status_reason: j.status_reason().map(String::from),
        exit_code: container.and_then(|c| c.exit_code()),
        container_reason: container.and_then(|c| c.reason()).map(String::from),
        log_stream: container
            .and_then(|c| c.log_stream_name())
            .map(String::from),
        attempts: j
            .attempts()
            .iter()
            .map(|a| JobAttempt {
                exit_code: a.container().and_then(|c| c.exit_code()),
                reason: a.container().and_then(|c| c.reason()).map(String::from),
                status_reason: a.status_reason().map(String::from),
                log_stream: a
                    .container()
                    .and_then(|c| c.log_stream_name())
                    .map(String::from),
                started_at: a.started_at(),
                stopped_at: a.stopped_at(),
            })
            .collect(),
        created_at: j.created_at(),
        runnable_at: None,
        started_at: j.started_at(),
        stopped_at: j.stopped_at(),
        parameters: j
            .parameters()
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        tags: j
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        timeout_seconds: j
            .timeout()
            .and_then(|t| t.attempt_duration_seconds())
            .map(|s| s as u64),
    }
}

#[async_trait]
impl Batch for AwsBatch {
    async fn submit(&self, job: NewJob) -> Result<String, ServiceError> {
        let env: Vec<KeyValuePair> = job
            .environment
            .iter()
            .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
            .collect();
        let mut resources = Vec::new();
        if let Some(v) = job.vcpus {
            resources.push(
                ResourceRequirement::builder()
                    .r#type(ResourceType::Vcpu)
                    .value(v.to_string())
                    .build(),
            );
        }
        if let Some(m) = job.memory_mib {
            resources.push(
                ResourceRequirement::builder()
                    .r#type(ResourceType::Memory)
                    .value(m.to_string())
                    .build(),
            );
        }
        let overrides = ContainerOverrides::builder()
            .set_environment(Some(env))
            .set_resource_requirements((!resources.is_empty()).then_some(resources))
            .build();
        let mut req = self
            .client
            .submit_job()
            .job_name(&job.name)
            .job_queue(&job.queue)
            .job_definition(&job.definition)
            .set_parameters(Some(job.parameters.clone().into_iter().collect()))
            .set_tags(Some(job.tags.clone().into_iter().collect()))
            .propagate_tags(true)
            .container_overrides(overrides);
        if let Some(t) = job.timeout_seconds {
            req = req.timeout(
                JobTimeout::builder()
                    .attempt_duration_seconds(t.min(i32::MAX as u64) as i32)
                    .build(),
            );
        }
        let out = req.send().await.map_err(|e| service_error("batch", e))?;
        out.job_id()
            .map(String::from)
            .ok_or_else(|| ServiceError::Rejected {
                service: "batch",
                message: "SubmitJob returned no job id".into(),
            })
    }

    async fn describe(&self, job_id: &str) -> Result<JobDetail, ServiceError> {
        let out = self
            .client
            .describe_jobs()
            .jobs(job_id)
            .send()
            .await
            .map_err(|e| service_error("batch", e))?;
        out.jobs()
            .first()
            .map(detail)
            .ok_or_else(|| ServiceError::no_such_job(job_id))
    }

    async fn active_jobs_tagged(
        &self,
        tag: &str,
        value: &str,
    ) -> Result<Vec<String>, ServiceError> {
        let mut ids = Vec::new();
        for s in [
            SdkStatus::Submitted,
            SdkStatus::Pending,
            SdkStatus::Runnable,
            SdkStatus::Starting,
            SdkStatus::Running,
        ] {
            let mut pages = self
                .client
                .list_jobs()
                .job_queue(&self.queue)
                .job_status(s)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| service_error("batch", e))?;
                ids.extend(
                    page.job_summary_list()
                        .iter()
                        .filter_map(|j| j.job_id().map(String::from)),
                );
            }
        }
        let mut out = Vec::new();
        for chunk in ids.chunks(100) {
            let d = self
                .client
                .describe_jobs()
                .set_jobs(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| service_error("batch", e))?;
            out.extend(
                d.jobs()
                    .iter()
                    .filter(|j| {
                        j.tags().and_then(|t| t.get(tag)).map(String::as_str) == Some(value)
                    })
                    .filter_map(|j| j.job_id().map(String::from)),
            );
        }
        Ok(out)
    }

    /// ListJobs with the JOB_NAME filter: "When the filter is used, jobStatus is ignored [and
    /// jobs with any status are returned]. [...] The results are sorted by the createdAt field,
    /// with the most recent jobs being first. JOB_NAME: The value of the filter is a
    /// case-insensitive match for the job name" (and a trailing `*` makes it a prefix match;
    /// the names submit-job makes hold none)
    /// (https://docs.aws.amazon.com/batch/latest/APIReference/API_ListJobs.html). The match
    /// being case-insensitive, the exact name is checked here.
    async fn find_by_name(&self, name: &str) -> Result<Option<String>, ServiceError> {
        let mut pages = self
            .client
            .list_jobs()
            .job_queue(&self.queue)
            .filters(
                KeyValuesPair::builder()
                    .name("JOB_NAME")
                    .values(name)
                    .build(),
            )
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| service_error("batch", e))?;
            if let Some(j) = page
                .job_summary_list()
                .iter()
                .find(|j| j.job_name() == Some(name))
            {
                return Ok(j.job_id().map(String::from));
            }
        }
        Ok(None)
    }

    async fn terminate(&self, job_id: &str, reason: &str) -> Result<(), ServiceError> {
        self.client
            .terminate_job()
            .job_id(job_id)
            .reason(reason)
            .send()
            .await
            .map_err(|e| service_error("batch", e))?;
        Ok(())
    }
}
