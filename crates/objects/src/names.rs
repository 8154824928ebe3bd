//! S3's rules for bucket names and object keys, checked before local S3 turns them into paths.
//!
//! Bucket names, from "General purpose bucket naming rules"
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>): 3 to 63
//! characters; lowercase letters, digits, periods and hyphens; beginning and ending with a
//! letter or digit; no two adjacent periods; not formatted as an IP address; not starting with
//! `xn--`, `sthree-` or `amzn-s3-demo-`; not ending with `-s3alias`, `--ol-s3`, `.mrap` or
//! `--x-s3`.
//!
//! Object keys, from "Naming Amazon S3 objects"
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>): any UTF-8 up
//! to 1,024 bytes. Local S3 stores a key as a path below its bucket directory, so it also
//! refuses what a path cannot hold faithfully: `.` and `..` segments, empty segments (`a//b`,
//! a leading `/`), and NUL.

/// S3's limit on a key's length in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Why a bucket name or key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("invalid bucket name {name:?}: {reason} (S3's bucket naming rules)")]
    Bucket { name: String, reason: &'static str },
    #[error("invalid object key {key:?}: {reason}")]
    Key { key: String, reason: &'static str },
}

/// Checks a bucket name against S3's rules.
pub fn check_bucket(name: &str) -> Result<(), NameError> {
    let bad = |reason| NameError::Bucket {
        name: name.chars().take(80).collect(),
        reason,
    };
    if !(3..=63).contains(&name.len()) {
        return Err(bad("it must be 3 to 63 characters long"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err(bad(
            "only lowercase letters, digits, periods and hyphens are allowed",
        ));
    }
    let alnum = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !alnum(name.bytes().next()) || !alnum(name.bytes().last()) {
        return Err(bad("it must begin and end with a letter or digit"));
    }
    if name.contains("..") {
        return Err(bad("it must not contain two adjacent periods"));
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err(bad("it must not be formatted as an IP address"));
    }
    for p in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(p) {
            return Err(bad("it must not start with xn--, sthree- or amzn-s3-demo-"));
        }
    }
    for s in ["-s3alias", "--ol-s3", ".mrap", "--x-s3"] {
        if name.ends_with(s) {
            return Err(bad(
                "it must not end with -s3alias, --ol-s3, .mrap or --x-s3",
            ));
        }
    }
    Ok(())
}

/// Checks an object key (or a listing prefix, when `prefix` is true: it may be empty and end
/// with `/`) for S3 and for local storage.
pub fn check_key(key: &str, prefix: bool) -> Result<(), NameError> {
    let bad = |reason| NameError::Key {
        key: key.chars().take(120).collect(),
        reason,
    };
    if key.len() > MAX_KEY_BYTES {
        return Err(bad("longer than S3's 1,024 bytes"));
    }
    if key.is_empty() {
        return if prefix {
            Ok(())
        } else {
            Err(bad("an object key must not be empty"))
        };
    }
    if key.contains('\0') {
        return Err(bad("it contains a NUL character"));
    }
    let body = if prefix {
        key.strip_suffix('/').unwrap_or(key)
    } else {
        key
    };
    for seg in body.split('/') {
        match seg {
            "" => {
                return Err(bad(
                    "an empty path segment (a leading '/' or '//') cannot be stored in local S3",
                ));
            }
            "." | ".." => {
                return Err(bad(
                    "'.' and '..' segments cannot be stored in local S3 (they would leave the bucket)",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in [
            "rsqlflow-data",
            "abc",
            "my.bucket.1",
            "docexamplebucket1",
            &"a".repeat(63),
        ] {
            check_bucket(ok).unwrap_or_else(|e| panic!("{e}"));
        }
        for bad in [
            "Bad_Bucket",
            "a",
            "...",
            "ab",
            "-abc",
            "abc-",
            "a..b",
            "192.168.5.4",
            "xn--abc",
            "abc-s3alias",
            "with space",
            "a/b",
            &"a".repeat(64),
        ] {
            assert!(check_bucket(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn keys() {
        for ok in ["a", "dir/file.csv", "weird key (1)!", "ünï/çodé"] {
            check_key(ok, false).unwrap_or_else(|e| panic!("{e}"));
        }
        for bad in [
            "",
            "/tmp/outside.txt",
            "../../x",
            "a/../b",
            "a//b",
            "./a",
            "a\0b",
            &"k".repeat(1025),
        ] {
            assert!(check_key(bad, false).is_err(), "{bad:?} accepted");
        }
        check_key("", true).unwrap();
        check_key("in/parts/", true).unwrap();
        assert!(check_key("../", true).is_err());
    }
}
