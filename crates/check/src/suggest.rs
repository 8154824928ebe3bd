//! "Did you mean": the closest known name by edit distance.

/// Edit distance between two strings, in characters: insertions, deletions, substitutions
/// and swaps of two neighbours (`fial` is one edit from `fail`).
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: the one before last (for swaps), the last, the current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 0..a.len() {
        cur[0] = i + 1;
        for j in 0..b.len() {
            let sub = prev[j] + usize::from(a[i] != b[j]);
            let mut d = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                d = d.min(before[j - 1] + 1);
            }
            cur[j + 1] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a likely typo: at most a third
/// of the name's length (at least one edit, at most three). Case differences count as near.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let d = if c.eq_ignore_ascii_case(name) {
            0
        } else {
            // Names far apart in length cannot be close: skip the work.
            if c.len().abs_diff(name.len()) > limit {
                continue;
            }
            distance(name, c)
        };
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_suggestions() {
        assert_eq!(distance("data_urii", "data_uri"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("fial", "fail"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(
            closest("data_urii", ["data_uri", "table"]),
            Some("data_uri")
        );
        assert_eq!(closest("error", ["ERROR", "ERRORCODE"]), Some("ERROR"));
        assert_eq!(closest("x", ["completely_different"]), None);
    }
}
