//! The Amazon Redshift RSQL language: a psql-compatible lexer, variables, meta-commands,
//! `\if` expressions, output formats and an interpreter that runs scripts against any
//! [`Backend`] (a PostgreSQL-protocol session).

pub mod args;
pub mod backend;
pub mod copy;
pub mod describe;
pub mod expr;
pub mod format;
pub mod input;
pub mod interpreter;
pub mod lexer;
pub mod logon;
pub mod meta;
pub mod report;
pub mod sink;
pub mod source;
mod stream;
#[cfg(test)]
mod testutil;
pub mod vars;

pub use backend::{
    Backend, Column, Completion, ConnectionLost, Logon, LogonError, Notice, Outcome, ResultSet,
    SqlError,
};
pub use format::{Format, PrintOptions};
pub use input::{Ask, Input, LineSource, Pager, PromptState, ReaderLines};
pub use interpreter::{
    EXIT_CLIENT, EXIT_CONNECTION, EXIT_ON_ERROR_STOP, Interpreter, MAX_INCLUDE_DEPTH, Options,
};
pub use source::{Source, SourceError};
