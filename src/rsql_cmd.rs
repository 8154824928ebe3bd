//! `rsqlflow rsql`: wires the command line to a warehouse session and the RSQL interpreter.

use std::path::PathBuf;

use anyhow::{Result, bail};
use rsql::{Format, Interpreter, Options, PrintOptions, Source};
use tokio::io::AsyncReadExt;
use warehouse::{Session, Storage, Target};

use crate::cli::RsqlArgs;

pub async fn run(args: RsqlArgs) -> Result<i32> {
    let mut print = PrintOptions {
        tuples_only: args.tuples_only,
        ..PrintOptions::default()
    };
    if args.unaligned {
        print.format = Format::Unaligned;
    }
    if let Some(sep) = args.field_separator {
        print.fieldsep = sep;
    }
    let mut variables = Vec::new();
    for v in &args.vars {
        let Some((k, val)) = v.split_once('=') else {
            bail!("-v {v}: expected NAME=VALUE");
        };
        if !rsql::vars::valid_name(k) {
            bail!("-v {v}: invalid variable name \"{k}\"");
        }
        variables.push((k.to_string(), val.to_string()));
    }

    let source = match (&args.file, &args.command) {
        (Some(path), _) => Source::load(path).await,
        (None, Some(cmd)) => Ok(Source::command(cmd)),
        (None, None) => {
            let mut bytes = Vec::new();
            tokio::io::stdin().read_to_end(&mut bytes).await?;
            Source::from_bytes("<stdin>", bytes, PathBuf::from("."))
        }
    };
    let source = match source {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rsql: {e}");
            return Ok(rsql::EXIT_CLIENT);
        }
    };

    let target = match (&args.database, args.ephemeral) {
        (Some(url), _) => Target::Url(url.clone()),
        (None, true) => Target::Embedded(Storage::Ephemeral),
        (None, false) => Target::default_embedded(&std::env::current_dir()?),
    };
    let mut session = match Session::open(&target, |dir| {
        eprintln!(
            "rsqlflow: waiting for the embedded warehouse in {} (another rsqlflow process is using it)",
            dir.display()
        );
    })
    .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rsql: {e}");
            return Ok(rsql::EXIT_CONNECTION);
        }
    };

    let options = Options { print, variables };
    let translate = !args.no_translate && !args.database.as_deref().is_some_and(is_redshift_url);
    if !translate {
        let code = run_script(&mut session, options, source).await;
        session.close().await;
        return Ok(code);
    }
    let store: std::sync::Arc<dyn redshift::ObjectStore> = match args.s3 {
        crate::cli::S3Mode::Local => std::sync::Arc::new(redshift::LocalS3::new(&args.s3_root)),
        crate::cli::S3Mode::Aws => std::sync::Arc::new(etl::AwsS3::from_env().await),
    };
    let mut translating = redshift::Translating::new(session, store, args.explain_translation);
    let code = run_script(&mut translating, options, source).await;
    translating.into_inner().close().await;
    Ok(code)
}

async fn run_script(backend: &mut dyn rsql::Backend, options: Options, source: Source) -> i32 {
    let mut interp = Interpreter::new(
        backend,
        options,
        Box::new(tokio::io::stdout()),
        Box::new(tokio::io::stderr()),
    );
    interp.run(source).await
}

/// True when a URL names an Amazon Redshift endpoint, whose SQL needs no translation.
fn is_redshift_url(url: &str) -> bool {
    warehouse::ConnectParams::parse(url).is_ok_and(|p| {
        let host = p.host.to_ascii_lowercase();
        [
            ".redshift.amazonaws.com",
            ".redshift-serverless.amazonaws.com",
        ]
        .iter()
        .any(|suffix| host.ends_with(suffix) || host.ends_with(&format!("{suffix}.cn")))
    })
}
