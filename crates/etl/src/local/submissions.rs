//! The submissions ledger locally: a table in memory with DynamoDB's conditional writes (one
//! run is one process; a redrive, in another, has other step keys).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::ServiceError;
use crate::services::{Submission, Submissions};

/// The ledger in memory.
#[derive(Debug, Default)]
pub struct LocalSubmissions {
    entries: Mutex<HashMap<String, Submission>>,
}

impl LocalSubmissions {
    pub fn new() -> LocalSubmissions {
        LocalSubmissions::default()
    }

    /// Every entry (for tests and inspection).
    pub fn entries(&self) -> Vec<Submission> {
        self.entries
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    fn poisoned() -> ServiceError {
        ServiceError::Rejected {
            service: "submissions",
            message: "the local ledger is unusable (a writer panicked)".into(),
        }
    }
}

#[async_trait]
impl Submissions for LocalSubmissions {
    async fn get(&self, key: &str) -> Result<Option<Submission>, ServiceError> {
        let m = self.entries.lock().map_err(|_| Self::poisoned())?;
        Ok(m.get(key).cloned())
    }

    async fn put(&self, s: &Submission) -> Result<bool, ServiceError> {
        let mut m = self.entries.lock().map_err(|_| Self::poisoned())?;
        let stored = m.get(&s.key).map(|e| e.version).unwrap_or(0);
        if stored != s.version {
            return Ok(false);
        }
        m.insert(
            s.key.clone(),
            Submission {
                version: s.version + 1,
                ..s.clone()
            },
        );
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: u64) -> Submission {
        Submission {
            key: "k".into(),
            token: "t".into(),
            attempt: 1,
            job_name: "n".into(),
            job_id: None,
            claimed_at: 1,
            answered: false,
            version,
            expires_at: 2,
        }
    }

    #[tokio::test]
    async fn writes_are_conditional_on_the_version_read() {
        let l = LocalSubmissions::new();
        assert_eq!(l.get("k").await.unwrap(), None);
        assert!(l.put(&entry(0)).await.unwrap());
        // A second first claim loses.
        assert!(!l.put(&entry(0)).await.unwrap());
        let e = l.get("k").await.unwrap().unwrap();
        assert_eq!(e.version, 1);
        let mut a = e.clone();
        a.token = "a".into();
        let mut b = e;
        b.token = "b".into();
        assert!(l.put(&a).await.unwrap());
        assert!(!l.put(&b).await.unwrap(), "read at version 1, stored is 2");
        assert_eq!(l.get("k").await.unwrap().unwrap().token, "a");
    }
}
