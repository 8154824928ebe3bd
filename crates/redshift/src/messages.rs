//! PostgreSQL's error messages in Redshift's words, where AWS documents the wording for the
//! same failure: scripts and notifications then show what Redshift would show.

use rsql::SqlError;

/// Rewords an error the server reported, when Redshift words it differently; the SQLSTATE,
/// detail and hint stay.
pub fn redshift_wording(mut err: SqlError) -> SqlError {
    // A value that does not fit a DECIMAL's precision: "ERROR: Numeric data overflow (result
    // precision)" (Computations with numeric values, r_numeric_computations201).
    if err.sqlstate == "22003" && err.message == "numeric field overflow" {
        err.message = "Numeric data overflow (result precision)".into();
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_overflow_in_redshift_words() {
        let e = SqlError {
            severity: "ERROR".into(),
            sqlstate: "22003".into(),
            message: "numeric field overflow".into(),
            detail: Some("A field with precision 2, scale 1 ...".into()),
            hint: None,
        };
        let r = redshift_wording(e);
        assert_eq!(r.message, "Numeric data overflow (result precision)");
        assert!(r.detail.is_some());
    }
}
