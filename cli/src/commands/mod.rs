//! One module per subcommand.

pub mod data;
pub mod data_args;
pub mod eda;
pub mod features;
pub mod predict;
pub mod train;

/// Split `a,b,c` into trimmed non-empty names.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}
