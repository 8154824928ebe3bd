//! Line starts of a text, for turning byte offsets into 1-based lines and columns (in
//! characters) and for quoting a line under a finding.

/// Line starts, for turning byte offsets into lines and columns.
pub(crate) struct Lines {
    pub(crate) starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn pos(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let idx = self.starts.partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.starts[idx];
        let col = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (idx + 1, col + 1)
    }

    pub(crate) fn line_text<'t>(&self, text: &'t str, line: usize) -> &'t str {
        let start = self.starts.get(line - 1).copied().unwrap_or(text.len());
        let end = self.starts.get(line).map_or(text.len(), |e| e - 1);
        text.get(start..end.max(start)).unwrap_or("")
    }
}
