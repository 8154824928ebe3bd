//! `rsqlflow asl validate|exec`: the ASL executor from the command line.

use std::path::Path;

use anyhow::{Context, Result, bail};
use asl::{DefinitionError, Executor, Mode, Options, Registry, Status};

use crate::cli::{AslCommand, AslExecArgs, AslValidateArgs};

pub async fn run(cmd: AslCommand) -> Result<i32> {
    match cmd {
        AslCommand::Validate(a) => validate(a),
        AslCommand::Exec(a) => exec(a).await,
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Loads a definition; problems are printed as `FILE: location: message`.
fn load(path: &Path) -> Result<Option<asl::model::StateMachine>> {
    let text = read(path)?;
    match asl::load(&text) {
        Ok(m) => Ok(Some(m)),
        Err(DefinitionError::Invalid(problems)) => {
            for p in &problems {
                eprintln!("{}: {}: {}", path.display(), p.location, p.message);
            }
            eprintln!(
                "{}: {} problem(s); the definition is not valid",
                path.display(),
                problems.len()
            );
            Ok(None)
        }
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            Ok(None)
        }
    }
}

/// Loads a definition the local executor can run: what it cannot run yet is printed as
/// `FILE: not supported by the local executor yet: FIELD at /States/X`.
fn load_runnable(path: &Path) -> Result<Option<asl::model::StateMachine>> {
    let Some(machine) = load(path)? else {
        return Ok(None);
    };
    match asl::runnable(machine) {
        Ok(m) => Ok(Some(m)),
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("{}: {line}", path.display());
            }
            Ok(None)
        }
    }
}

fn validate(a: AslValidateArgs) -> Result<i32> {
    Ok(match load(&a.file)? {
        Some(m) => {
            println!("{}: valid", a.file.display());
            // Valid as AWS sees it; say what `asl exec` would refuse.
            for p in &m.unsupported {
                eprintln!(
                    "{}: note: {}",
                    a.file.display(),
                    asl::validate::unsupported_line(p)
                );
            }
            0
        }
        None => 1,
    })
}

fn input(text: &str) -> Result<serde_json::Value> {
    let (raw, origin) = match text.strip_prefix('@') {
        Some(path) => (read(Path::new(path))?, path.to_string()),
        None => (text.to_string(), "--input".to_string()),
    };
    serde_json::from_str(&raw).with_context(|| format!("{origin} is not valid JSON"))
}

/// Writes a file whole or not at all (a unique temporary name beside it, removed on failure,
/// then renamed into place).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let path = if path.parent().is_some_and(|d| d.as_os_str().is_empty()) {
        Path::new(".").join(path)
    } else {
        path.to_path_buf()
    };
    // The directory must exist: it is the user's, not created for them.
    if let Some(dir) = path.parent()
        && !dir.is_dir()
    {
        bail!(
            "writing {}: no such directory {}",
            path.display(),
            dir.display()
        );
    }
    objects::write_whole(&path, bytes).with_context(|| format!("writing {}", path.display()))
}

async fn exec(a: AslExecArgs) -> Result<i32> {
    let input = input(&a.input)?;
    let Some(machine) = load_runnable(&a.file)? else {
        return Ok(1);
    };
    let mut registry = Registry::new();
    if let (Some(path), Some(case)) = (&a.mocks, &a.test_case) {
        let mocks = asl::mocks::Mocks::load(&read(path)?, a.mock_state_machine.as_deref(), case)
            .with_context(|| format!("{}", path.display()))?;
        let (states, handler) = asl::mocks::into_overrides(mocks);
        for s in states {
            registry.register_state(&s, handler.clone());
        }
    }
    let machine_name = a
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .map(|s| s.trim_end_matches(".asl").to_string())
        .unwrap_or_else(|| "state-machine".into());
    if a.name.is_empty() {
        bail!("--name must not be empty");
    }
    let opts = Options {
        execution_name: a.name.clone(),
        state_machine_name: machine_name,
        mode: if a.real_time {
            Mode::Real
        } else {
            Mode::Virtual
        },
        seed: a.seed,
        max_transitions: a.max_transitions,
        object_store: Some(asl::distributed::Store(match a.s3 {
            crate::cli::S3Mode::Local => std::sync::Arc::new(objects::LocalS3::new(&a.s3_root)),
            crate::cli::S3Mode::Aws => std::sync::Arc::new(etl::AwsS3::from_env().await),
        })),
        ..Options::default()
    };
    let exec = Executor::new(machine, registry);
    let result = exec.run(input, opts).await;
    if let Some(path) = &a.history {
        let mut doc = serde_json::json!({ "events": result.history.to_json() });
        if !result.child_executions.is_empty() {
            // A Distributed Map's child executions, each with its own history.
            doc["childExecutions"] = result
                .child_executions
                .iter()
                .map(|c| c.to_json())
                .collect();
        }
        let text = serde_json::to_vec_pretty(&doc)?;
        write_atomically(path, &text)?;
    }
    match result.status {
        Status::Succeeded => {
            println!(
                "{}",
                serde_json::to_string(&result.output.unwrap_or_default())?
            );
            Ok(0)
        }
        status => {
            eprintln!("rsqlflow: execution {}", status.as_str());
            if let Some(e) = &result.error {
                eprintln!("error: {e}");
            }
            if let Some(c) = &result.cause {
                eprintln!("cause: {c}");
            }
            Ok(1)
        }
    }
}
