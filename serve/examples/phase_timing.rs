//! Where the time of one single-row prediction goes (a quick profile, not a benchmark).
//! `cargo run --release -p neurite-serve --example phase_timing -- <models dir> <model>`
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, name) = (
        args.get(1).cloned().unwrap_or("models".into()),
        args.get(2).cloned().unwrap_or("iris".into()),
    );
    let reg = neurite_pipeline::Registry::new(&dir);
    let b = reg.load(&name).expect("load");
    let n = b.input_schema().len();
    let row: Vec<Vec<String>> = vec![(0..n).map(|i| format!("{}.5", i + 1)).collect()];
    let body = br#"{"instances":[{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}]}"#;
    let iters = 20_000;
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(neurite_serve::input::parse_json(body).unwrap());
    }
    println!(
        "parse_json      {:>8.2} us",
        t.elapsed().as_secs_f64() * 1e6 / iters as f64
    );
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(b.predict_rows(&row).unwrap());
    }
    println!(
        "predict_rows    {:>8.2} us",
        t.elapsed().as_secs_f64() * 1e6 / iters as f64
    );
    let x: Vec<f32> = vec![0.5; n];
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(b.predict_matrix(&x, 1).unwrap());
    }
    println!(
        "predict_matrix  {:>8.2} us",
        t.elapsed().as_secs_f64() * 1e6 / iters as f64
    );
    let xt = neurite_engine::Tensor::from_vec(x.clone(), [1, n]).unwrap();
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(b.model.predict(&xt).unwrap());
    }
    println!(
        "model.predict   {:>8.2} us",
        t.elapsed().as_secs_f64() * 1e6 / iters as f64
    );
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(b.input_schema());
    }
    println!(
        "input_schema    {:>8.2} us",
        t.elapsed().as_secs_f64() * 1e6 / iters as f64
    );
}
