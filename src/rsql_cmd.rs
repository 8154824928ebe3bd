//! `rsqlflow rsql`: wires the command line to a warehouse session and the RSQL interpreter.

use std::path::PathBuf;

use anyhow::{Result, bail};
use rsql::{Format, Interpreter, Options, PrintOptions, Source};
use warehouse::{Session, Target};

use crate::cli::RsqlArgs;

pub async fn run(args: RsqlArgs) -> Result<i32> {
    let mut print = PrintOptions {
        tuples_only: args.tuples_only,
        ..PrintOptions::default()
    };
    if args.unaligned {
        print.format = Format::Unaligned;
    }
    if let Some(sep) = args.field_separator.clone() {
        print.fieldsep = sep;
    }
    if let Some(sep) = args.record_separator.clone() {
        print.recordsep = sep;
    }
    print.expanded |= args.expanded;
    // Options psql has that mean nothing here: said once, so a wrapper passing them still runs.
    if args.log_file.is_some() {
        eprintln!("rsql: -L (log file) is accepted but has no effect in rsqlflow");
    }
    if args.single_step {
        eprintln!("rsql: -s (single-step mode) is accepted but has no effect in rsqlflow");
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
    if args.echo_all {
        variables.push(("ECHO".into(), "all".into()));
    } else if args.echo_queries {
        variables.push(("ECHO".into(), "queries".into()));
    }
    for p in &args.pset {
        if let Err(e) = apply_pset(&mut print, p) {
            eprintln!("rsql: -P {p}: {e}");
            return Ok(rsql::EXIT_CLIENT);
        }
    }

    // psql's interactive mode: standard input is a terminal and neither -f nor -c is given
    // (https://www.postgresql.org/docs/current/app-psql.html).
    let interactive = args.file.is_none()
        && args.command.is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stdin());
    let source = match (&args.file, &args.command) {
        (Some(path), _) => Source::load(path).await.map(Script::Whole),
        (None, Some(cmd)) => Ok(Script::Whole(Source::command(cmd))),
        // Standard input is read one line at a time: each statement runs as soon as it is
        // complete, from a pipe or a heredoc as from a terminal.
        (None, None) => Ok(Script::Stream(Box::new(rsql::ReaderLines::new(
            "<stdin>",
            tokio::io::stdin(),
        )))),
    };
    let source = match source {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rsql: {e}");
            return Ok(rsql::EXIT_CLIENT);
        }
    };

    if args.prompt_password {
        eprintln!(
            "rsql: -W (password prompt) is not supported: rsqlflow runs in batch; set RSPASSWORD"
        );
        return Ok(rsql::EXIT_CLIENT);
    }
    let resolved = match crate::connect::resolve(&args).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rsql: {e:#}");
            return Ok(rsql::EXIT_CONNECTION);
        }
    };
    if !args.quiet {
        for n in &resolved.notes {
            eprintln!("rsqlflow: {n}");
        }
    }
    let target = resolved.target;
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

    let source = if interactive {
        let shape = prompt_shape(&mut session, &target).await;
        if !args.quiet {
            let version = session.server_version();
            println!(
                "rsqlflow rsql {} ({}{}{})\nType \"help\" for help.\n",
                env!("CARGO_PKG_VERSION"),
                session.description(),
                if version.is_empty() { "" } else { ", server " },
                version
            );
        }
        crate::rsql_term::cancel_on_interrupt(session.cancel_handle());
        let lines: Box<dyn rsql::LineSource> = if args.no_readline {
            Box::new(crate::rsql_term::PlainTerminalLines::new(shape))
        } else {
            let history = if args.no_history {
                None
            } else {
                crate::rsql_term::history_file()
            };
            Box::new(crate::rsql_term::TerminalLines::start(shape, history))
        };
        Script::Stream(lines)
    } else {
        source
    };
    // A pager only at a terminal whose output is a terminal too, and not with -P pager=off
    // (psql's rule: https://www.postgresql.org/docs/current/app-psql.html, \pset pager).
    let pager_off = args.pset.iter().any(|p| {
        p.split_once('=')
            .is_some_and(|(k, v)| k == "pager" && matches!(v, "off" | "0" | "false"))
    });
    let pager = if interactive && !pager_off && std::io::IsTerminal::is_terminal(&std::io::stdout())
    {
        crate::rsql_term::pager_command()
    } else {
        None
    };
    let options = Options { print, variables };
    let redshift = match &target {
        Target::Url(url) => is_redshift_url(url),
        Target::Server(p) => crate::connect::is_redshift_host(&p.host),
        Target::Embedded(_) => false,
    };
    let translate = !args.no_translate && !redshift;
    if !translate {
        let code = run_script(
            &mut session,
            options,
            source,
            interactive,
            pager,
            args.output.as_deref(),
        )
        .await;
        session.close().await;
        return Ok(code);
    }
    let store: std::sync::Arc<dyn objects::ObjectStore> = match args.s3 {
        crate::cli::S3Mode::Local => std::sync::Arc::new(objects::LocalS3::new(&args.s3_root)),
        crate::cli::S3Mode::Aws => std::sync::Arc::new(etl::AwsS3::from_env().await),
    };
    let mut translating = redshift::Translating::new(session, store, args.explain_translation);
    let code = run_script(
        &mut translating,
        options,
        source,
        interactive,
        pager,
        args.output.as_deref(),
    )
    .await;
    translating.into_inner().close().await;
    Ok(code)
}

/// What the interpreter reads: a file or `-c` string read whole, or standard input line by
/// line.
enum Script {
    Whole(Source),
    Stream(Box<dyn rsql::LineSource>),
}

async fn run_script(
    backend: &mut dyn rsql::Backend,
    options: Options,
    source: Script,
    interactive: bool,
    pager: Option<String>,
    output: Option<&std::path::Path>,
) -> i32 {
    let mut interp = Interpreter::new(
        backend,
        options,
        Box::new(tokio::io::stdout()),
        Box::new(tokio::io::stderr()),
    );
    interp.set_interactive(interactive);
    if let Some(path) = output
        && let Err(e) = interp.output_to(path).await
    {
        eprintln!("rsql: {}: {e}", path.display());
        return rsql::EXIT_CLIENT;
    }
    if let Some(pager) = pager {
        interp.set_pager(Some(Box::new(crate::rsql_term::TerminalPager::new(pager))));
    }
    match source {
        Script::Whole(source) => interp.run(source).await,
        Script::Stream(lines) => {
            interp
                .run_stream("<stdin>", PathBuf::from("."), lines)
                .await
        }
    }
}

/// `-P NAME=VALUE`: a print option set before the script starts, as psql's -P does.
fn apply_pset(print: &mut PrintOptions, arg: &str) -> std::result::Result<(), String> {
    let (name, value) = arg.split_once('=').unwrap_or((arg, ""));
    let on = |v: &str| match v {
        "" | "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        other => Err(format!("invalid value \"{other}\"")),
    };
    match name {
        // No pager in batch mode: psql's -P pager=off changes nothing here either.
        "pager" => {}
        "format" => {
            print.format = match value {
                "aligned" => Format::Aligned,
                "unaligned" => Format::Unaligned,
                "wrapped" => Format::Wrapped,
                other => return Err(format!("unknown format \"{other}\"")),
            }
        }
        "border" => {
            print.border = value
                .parse()
                .map_err(|_| format!("invalid border \"{value}\""))?
        }
        "tuples_only" => print.tuples_only = on(value)?,
        "footer" => print.footer = on(value)?,
        "expanded" | "x" => print.expanded = on(value)?,
        "null" => print.null = value.to_string(),
        "fieldsep" => print.fieldsep = value.to_string(),
        "recordsep" => print.recordsep = value.to_string(),
        "title" => print.title = Some(value.to_string()).filter(|t| !t.is_empty()),
        other => return Err(format!("unknown print option \"{other}\"")),
    }
    Ok(())
}

/// True when a URL names an Amazon Redshift endpoint, whose SQL needs no translation.
fn is_redshift_url(url: &str) -> bool {
    warehouse::ConnectParams::parse(url).is_ok_and(|p| crate::connect::is_redshift_host(&p.host))
}

/// The prompt's parts, asked of the session: the user, the database and whether the user is a
/// superuser (`=#`) or not (`=>`), from PG_USER, which Amazon Redshift has too
/// (https://docs.aws.amazon.com/redshift/latest/dg/r_Users-creatingaltering-and-deleting-users.html).
async fn prompt_shape(session: &mut Session, target: &Target) -> crate::rsql_term::PromptShape {
    use rsql::Backend;
    let name = match target {
        Target::Embedded(_) => "embedded".to_string(),
        Target::Url(url) => warehouse::ConnectParams::parse(url)
            .map(|p| crate::rsql_term::cluster_name(&p.host))
            .unwrap_or_default(),
        Target::Server(p) => crate::rsql_term::cluster_name(&p.host),
    };
    let mut shape = crate::rsql_term::PromptShape {
        name,
        user: "?".into(),
        db: "?".into(),
        superuser: false,
    };
    let sql = "select current_user, current_database(), \
               (select usesuper from pg_user where usename = current_user)";
    if let Ok(outcome) = session.execute(sql).await
        && let Ok(done) = outcome.result
        && let Some(rows) = done.rows
        && let Some(row) = rows.rows.first()
    {
        let cell = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        shape.user = cell(0);
        shape.db = cell(1);
        shape.superuser = cell(2) == "t";
    }
    shape
}
