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
    // psql's -q sets QUIET, which silences messages such as \connect's "You are now
    // connected ..." (https://www.postgresql.org/docs/current/app-psql.html).
    if args.quiet {
        variables.push(("QUIET".into(), "on".into()));
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

    let shape: crate::rsql_session::SharedShape =
        std::sync::Arc::new(std::sync::Mutex::new(if interactive {
            crate::rsql_session::prompt_shape(&mut session, prompt_name(&target)).await
        } else {
            crate::rsql_term::PromptShape::default()
        }));
    let cancel: crate::rsql_session::SharedCancel =
        std::sync::Arc::new(std::sync::Mutex::new(session.cancel_handle()));
    // Ctrl-C on the embedded warehouse kept in a directory abandons the running statement's
    // session (the engine cannot interrupt it); an ephemeral one would lose its data.
    let interrupt = (interactive
        && matches!(&target, Target::Embedded(warehouse::Storage::Dir(_))))
    .then(|| std::sync::Arc::new(tokio::sync::Notify::new()));
    let mut ask: Option<Box<dyn rsql::Ask>> = None;
    let source = if interactive {
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
        crate::rsql_term::cancel_on_interrupt(cancel.clone(), interrupt.clone());
        let lines: Box<dyn rsql::LineSource> = if args.no_readline {
            ask = Some(Box::new(crate::rsql_term::PlainAsk));
            Box::new(crate::rsql_term::PlainTerminalLines::new(shape.clone()))
        } else {
            let history = if args.no_history {
                None
            } else {
                crate::rsql_term::history_file()
            };
            let lines = crate::rsql_term::TerminalLines::start(shape.clone(), history);
            ask = Some(Box::new(lines.asker()));
            Box::new(lines)
        };
        Script::Stream(lines)
    } else {
        source
    };
    // psql's -s asks at the terminal before each statement; without one there is no one to
    // ask, so it is said once and the statements run.
    if args.single_step && !interactive {
        eprintln!("rsql: -s (single-step mode) needs a terminal; statements run without asking");
    }
    let single_step = if args.single_step { ask } else { None };
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
    let translation = crate::rsql_session::Translation {
        off: args.no_translate,
        explain: args.explain_translation,
        aws: matches!(args.s3, crate::cli::S3Mode::Aws),
        root: args.s3_root.clone(),
    };
    let mut switch = crate::rsql_session::Switch::new(session, translation, redshift).await;
    if interactive {
        switch.shape = Some(shape);
        switch.cancel = Some(cancel);
        switch.ask_password = true;
        if interrupt.is_some() {
            switch.reopen = Some(target.clone());
        }
        switch.interrupt = interrupt;
    }
    let code = run_script(
        &mut switch,
        options,
        source,
        Run {
            interactive,
            pager,
            output: args.output.as_deref(),
            log: args.log_file.as_deref(),
            single_step,
        },
    )
    .await;
    switch.close().await;
    Ok(code)
}

/// How the script is run, from the command line.
struct Run<'a> {
    interactive: bool,
    pager: Option<String>,
    output: Option<&'a std::path::Path>,
    log: Option<&'a std::path::Path>,
    single_step: Option<Box<dyn rsql::Ask>>,
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
    run: Run<'_>,
) -> i32 {
    let Run {
        interactive,
        pager,
        output,
        log,
        single_step,
    } = run;
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
    if let Some(path) = log
        && let Err(e) = interp.log_to(path).await
    {
        eprintln!("rsql: {}: {e}", path.display());
        return rsql::EXIT_CLIENT;
    }
    interp.set_single_step(single_step);
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

/// The name in the prompt's parentheses for the session opened at the start.
fn prompt_name(target: &Target) -> String {
    match target {
        Target::Embedded(_) => "embedded".to_string(),
        Target::Url(url) => warehouse::ConnectParams::parse(url)
            .map(|p| crate::rsql_term::cluster_name(&p.host))
            .unwrap_or_default(),
        Target::Server(p) => crate::rsql_term::cluster_name(&p.host),
    }
}
