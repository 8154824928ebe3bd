//! `-- rsqlflow: allow(code, ...)` on a finding's line or the line before, and
//! `-- rsqlflow: allow-file(code, ...)` anywhere in the file, silence findings. In a state
//! machine definition (JSON has no comments) the same words in a string, such as a state's
//! `"Comment"`, do.

use std::collections::{HashMap, HashSet};

use crate::finding::Finding;

/// What a script allows: per line, and for the whole file.
#[derive(Debug, Default)]
struct Allowed {
    lines: HashMap<usize, HashSet<String>>,
    file: HashSet<String>,
}

fn parse(text: &str, marker: &str) -> Allowed {
    let mut allowed = Allowed::default();
    for (i, line) in text.lines().enumerate() {
        let Some(at) = line.find(marker) else {
            continue;
        };
        let mut rest = &line[at..];
        while let Some(p) = rest.find("rsqlflow:") {
            rest = rest[p + "rsqlflow:".len()..].trim_start();
            let (file_wide, after) = if let Some(r) = rest.strip_prefix("allow-file(") {
                (true, r)
            } else if let Some(r) = rest.strip_prefix("allow(") {
                (false, r)
            } else {
                continue;
            };
            let Some(close) = after.find(')') else { break };
            for code in after[..close].split(',').map(str::trim) {
                if code.is_empty() {
                    continue;
                }
                if file_wide {
                    allowed.file.insert(code.to_string());
                } else {
                    allowed
                        .lines
                        .entry(i + 1)
                        .or_default()
                        .insert(code.to_string());
                }
            }
            rest = &after[close..];
        }
    }
    allowed
}

/// Removes the findings the script allows.
pub(crate) fn apply(text: &str, findings: &mut Vec<Finding>) {
    apply_after(text, "--", findings);
}

/// Removes the findings a state machine definition allows (in any string on the line).
pub(crate) fn apply_json(text: &str, findings: &mut Vec<Finding>) {
    apply_after(text, "rsqlflow:", findings);
}

fn apply_after(text: &str, marker: &str, findings: &mut Vec<Finding>) {
    if !text.contains("rsqlflow:") {
        return;
    }
    let allowed = parse(text, marker);
    let on = |line: usize, code: &str| {
        allowed
            .lines
            .get(&line)
            .is_some_and(|codes| codes.contains(code))
    };
    findings.retain(|f| {
        let code = f.rule.code();
        !(allowed.file.contains(code) || on(f.line, code) || (f.line > 1 && on(f.line - 1, code)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_comments_are_read() {
        let a = parse(
            "select 1; -- rsqlflow: allow(a, b)\n-- rsqlflow: allow-file(c)\n-- rsqlflow: nothing\n",
            "--",
        );
        assert!(a.lines[&1].contains("a") && a.lines[&1].contains("b"));
        assert!(a.file.contains("c"));
        assert_eq!(a.lines.len(), 1);
    }
}
