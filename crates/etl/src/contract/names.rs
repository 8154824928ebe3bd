//! Names AWS accepts, made from ours: Batch job names and Step Functions execution names allow
//! only ASCII letters, digits, `-` and `_`, and a short hash keeps them unique.

/// `s` with every character other than ASCII letters, digits, `-` and `_` replaced by `-`.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A short stable hash (FNV-1a folded to 32 bits, 8 hex digits): job names unique per task
/// token, execution names unique per trigger.
pub fn short_hash(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", h as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_names_keep_length_and_legal_characters() {
        assert_eq!(sanitize("Load Customer/é.1_x-y"), "Load-Customer---1_x-y");
        assert_eq!(sanitize(""), "");
    }

    #[test]
    fn hashes_are_stable_and_short() {
        // FNV-1a's offset basis, folded: the value job and execution names already carry.
        assert_eq!(short_hash(""), "84222325");
        assert_eq!(short_hash("tok"), short_hash("tok"));
        assert_ne!(short_hash("tok1"), short_hash("tok2"));
        assert_eq!(short_hash("anything at all").len(), 8);
    }
}
