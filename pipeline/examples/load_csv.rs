//! Load a CSV into a typed table and report its size and the time taken (the neurite side of
//! benches/compare/csv_load.sh).
//!
//!     cargo run --release -p neurite-pipeline --example load_csv -- FILE

use std::time::Instant;

use neurite_pipeline::data::{Column, Table};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: load_csv FILE");
        std::process::exit(2);
    };
    let t0 = Instant::now();
    let t = match Table::read_csv(std::path::Path::new(&path)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let secs = t0.elapsed().as_secs_f64();
    let numeric = t
        .columns
        .iter()
        .filter(|c| matches!(c, Column::Number(_)))
        .count();
    println!(
        "{{\"rows\": {}, \"columns\": {}, \"numeric_columns\": {numeric}, \"seconds\": {secs:.3}, \"threads\": {}}}",
        t.n_rows(),
        t.n_cols(),
        rayon::current_num_threads()
    );
}
