//! Any bytes through the CSV loader: an error or a table, never a panic; a table's cells are
//! all reachable and its lines increase.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neurite_pipeline::data::{ReadOptions, Table};

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.csv");
    // The first byte picks a delimiter option (detected, or forced).
    let (opt, bytes) = data.split_first().map_or((0, data), |(a, b)| (*a, b));
    let opts = ReadOptions {
        delimiter: [None, Some(b','), Some(b';'), Some(b'\t')][(opt % 4) as usize],
        ..Default::default()
    };
    if let Ok(t) = Table::from_bytes_with(path, bytes, &opts) {
        assert!(t.n_rows() > 0);
        assert!(t.lines.windows(2).all(|w| w[0] < w[1]));
        for c in 0..t.n_cols() {
            assert_eq!(t.columns[c].len(), t.n_rows());
            for r in 0..t.n_rows() {
                let _ = t.cell(c, r);
            }
        }
    }
});
