//! One module per subcommand.

pub mod predict;
pub mod serve;
pub mod train;

/// Split `a,b,c` into trimmed non-empty names.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}
