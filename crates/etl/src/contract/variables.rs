//! A job's RSQL variables: the one rule for names and values, which submit-job applies to a
//! spec and the container applies before it runs the script.

/// The longest value a variable may have, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;

/// Is `name` a variable name a job may pass? RSQL's rule (letters, digits and `_`), narrowed
/// to ASCII and no leading digit, so that it can be passed as one `-v NAME=VALUE` argument
/// and set by `\set` in the container.
pub fn valid_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// What is wrong with a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VariableProblem {
    /// The name breaks [`valid_variable_name`].
    #[error(
        "is not a valid variable name (ASCII letters, digits and '_', not starting with a digit)"
    )]
    Name,
    /// The value holds NUL (which no process argument can carry) or a line break.
    #[error("must not contain NUL or line breaks")]
    Character,
    /// The value is longer than [`MAX_VALUE_BYTES`].
    #[error("is longer than {MAX_VALUE_BYTES} bytes")]
    TooLong,
}

/// A variable a job may not pass, with its name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("variable {name}: {problem}")]
pub struct VariableError {
    pub name: String,
    pub problem: VariableProblem,
}

/// Checks one variable. Submit-job refuses a spec for exactly what this refuses
/// (`Rsqlflow.InvalidJobSpec`), and the container refuses nothing else about a variable.
pub fn check_variable(name: &str, value: &str) -> Result<(), VariableError> {
    let problem = if !valid_variable_name(name) {
        VariableProblem::Name
    } else if value.contains(['\0', '\n', '\r']) {
        VariableProblem::Character
    } else if value.len() > MAX_VALUE_BYTES {
        VariableProblem::TooLong
    } else {
        return Ok(());
    };
    Err(VariableError {
        name: name.to_string(),
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names() {
        for ok in ["x", "data_uri", "_a1", "A"] {
            assert!(valid_variable_name(ok), "{ok}");
        }
        for bad in ["", "1x", "é", "a-b", "a b", "a.b", "a:b"] {
            assert!(!valid_variable_name(bad), "{bad}");
        }
    }

    #[test]
    fn values_and_the_error_names_the_variable() {
        assert_eq!(check_variable("q", "it's; \\! rm -rf /"), Ok(()));
        assert_eq!(check_variable("q", &"x".repeat(MAX_VALUE_BYTES)), Ok(()));
        let problem = |n: &str, v: &str| check_variable(n, v).unwrap_err().problem;
        assert_eq!(problem("1x", "v"), VariableProblem::Name);
        for v in ["a\0b", "a\nb", "a\rb"] {
            assert_eq!(problem("x", v), VariableProblem::Character, "{v:?}");
        }
        assert_eq!(
            problem("x", &"x".repeat(MAX_VALUE_BYTES + 1)),
            VariableProblem::TooLong
        );
        let e = check_variable("a-b", "v").unwrap_err();
        assert!(
            e.to_string().starts_with("variable a-b: is not a valid"),
            "{e}"
        );
    }
}
