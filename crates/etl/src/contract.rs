//! The job contract: what submit-job promises and what the Batch container accepts, as one
//! piece of code that both sides call.

/// Is `name` a variable name a job may pass? RSQL's rule (letters, digits and `_`), narrowed
/// to ASCII and no leading digit, so that it can be passed as one `-v NAME=VALUE` argument
/// and set by `\set` in the container.
pub fn valid_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
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
}
