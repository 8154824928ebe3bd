//! RSQL variables: user variables set with `\set`/`-v`/`\gset` and the built-in status
//! variables (ERROR, ERRORCODE, ACTIVITYCOUNT, ...) updated after every SQL statement.

use std::collections::BTreeMap;

/// The built-in status variables and their values before the first statement: defined in every
/// session and updated after every SQL statement ([`Variables::record`]). The names a script
/// can read without setting them (`rsqlflow check` takes them from here).
pub const BUILTINS: &[(&str, &str)] = &[
    ("ACTIVITYCOUNT", "0"),
    ("ROW_COUNT", "0"),
    ("ERROR", "false"),
    ("ERRORCODE", "00000"),
    ("SQLSTATE", "00000"),
    ("LAST_ERROR_MESSAGE", ""),
    ("LAST_ERROR_SQLSTATE", "00000"),
];

/// The variables `\!` and `\os` set after running a shell command.
pub const SHELL_VARIABLES: [&str; 2] = ["SHELL_EXIT_CODE", "SHELL_ERROR"];

/// The variable store. Values are strings, as in psql; numbers are parsed only by `\if`.
#[derive(Debug, Clone)]
pub struct Variables {
    map: BTreeMap<String, String>,
}

impl Default for Variables {
    fn default() -> Self {
        Self::new()
    }
}

/// How one SQL statement ended, as far as the status variables are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementStatus<'a> {
    /// The statement succeeded; `count` is rows returned or affected.
    Success { count: u64 },
    /// The statement failed.
    Failure { sqlstate: &'a str, message: &'a str },
}

impl Variables {
    /// A store holding the built-ins at their initial values.
    pub fn new() -> Self {
        let mut v = Variables {
            map: BTreeMap::new(),
        };
        for (k, val) in BUILTINS {
            v.set(k, *val);
        }
        v
    }

    /// The value of a variable, if it is set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// Sets a variable.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.map.insert(name.to_string(), value.into());
    }

    /// Removes a variable.
    pub fn unset(&mut self, name: &str) {
        self.map.remove(name);
    }

    /// All variables, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A variable read as a psql boolean (`on`, `true`, `1`, `yes`, ...); unset is false.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).and_then(parse_bool).unwrap_or(false)
    }

    /// Updates the built-in status variables after a statement.
    pub fn record(&mut self, status: StatementStatus<'_>) {
        match status {
            StatementStatus::Success { count } => {
                let n = count.to_string();
                self.set("ERROR", "false");
                self.set("ERRORCODE", "00000");
                self.set("SQLSTATE", "00000");
                self.set("ACTIVITYCOUNT", n.clone());
                self.set("ROW_COUNT", n);
            }
            StatementStatus::Failure { sqlstate, message } => {
                self.set("ERROR", "true");
                self.set("ERRORCODE", sqlstate);
                self.set("SQLSTATE", sqlstate);
                self.set("LAST_ERROR_SQLSTATE", sqlstate);
                self.set("LAST_ERROR_MESSAGE", message);
                self.set("ACTIVITYCOUNT", "0");
                self.set("ROW_COUNT", "0");
            }
        }
    }
}

/// Is this a legal variable name (letters, digits, underscore)?
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Parses a psql boolean: true/false, on/off, yes/no, 1/0, and unique prefixes, any case.
pub fn parse_bool(s: &str) -> Option<bool> {
    let l = s.trim().to_ascii_lowercase();
    if l.is_empty() {
        return None;
    }
    match l.as_str() {
        "1" => return Some(true),
        "0" => return Some(false),
        "on" => return Some(true),
        "off" | "of" => return Some(false),
        _ => {}
    }
    if "true".starts_with(&l) || "yes".starts_with(&l) {
        return Some(true);
    }
    if "false".starts_with(&l) || "no".starts_with(&l) {
        return Some(false);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_update() {
        let mut v = Variables::new();
        v.record(StatementStatus::Failure {
            sqlstate: "42P01",
            message: "relation \"x\" does not exist",
        });
        assert_eq!(v.get("ERROR"), Some("true"));
        assert_eq!(v.get("ERRORCODE"), Some("42P01"));
        v.record(StatementStatus::Success { count: 3 });
        assert_eq!(v.get("ERROR"), Some("false"));
        assert_eq!(v.get("ACTIVITYCOUNT"), Some("3"));
        assert_eq!(v.get("LAST_ERROR_SQLSTATE"), Some("42P01"));
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("ON"), Some(true));
        assert_eq!(parse_bool("t"), Some(true));
        assert_eq!(parse_bool("of"), Some(false));
        assert_eq!(parse_bool("o"), None);
        assert_eq!(parse_bool("maybe"), None);
    }
}
