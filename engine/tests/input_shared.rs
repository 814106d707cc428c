//! `Graph::input_shared` reads the caller's slice in place and gives the same forward values
//! and gradients as the copying `input_from_slice`, on `f32` stores (read in place) and `f64`
//! ones (converted by a copy); a wrong element count is a typed error.

use neurite_engine::{Activation, DType, Device, Error, ParamBuilder, ParamStore, Tape};

fn store(dtype: DType) -> ParamStore {
    let mut pb = ParamBuilder::new();
    let w: Vec<f64> = (0..12).map(|i| (i as f64 * 0.41).cos()).collect();
    pb.add("w", [4, 3], w).unwrap();
    pb.add("b", [4], vec![0.1, -0.2, 0.3, 0.05]).unwrap();
    pb.build(dtype, Device::Cpu).unwrap()
}

/// (forward output, parameter gradients) of `sum(tanh(x·wᵀ + b))` with `x` fed one way or the other.
fn run(params: &ParamStore, x: &[f32], shared: bool) -> (Vec<f64>, Vec<f64>) {
    let mut tape = Tape::new();
    let mut grads = params.zeros_like().unwrap();
    let mut g = tape.graph(params, true, 0);
    let xv = if shared {
        g.input_shared(x, [2, 3]).unwrap()
    } else {
        g.input_from_slice(x, [2, 3]).unwrap()
    };
    let w = g.param(params.find("w").unwrap());
    let b = g.param(params.find("b").unwrap());
    let h = g.linear(xv, w, Some(b), Activation::Tanh).unwrap();
    let out = g.to_vec_f64(h).unwrap();
    let loss = g.sum_all(h).unwrap();
    g.backward_fresh(loss, &mut grads).unwrap();
    (out, grads.to_vec_f64().unwrap())
}

#[test]
fn shared_input_matches_copied_input() {
    let x: Vec<f32> = (0..6).map(|i| i as f32 * 0.3 - 0.7).collect();
    for dtype in [DType::F32, DType::F64] {
        let params = store(dtype);
        let (out_c, g_c) = run(&params, &x, false);
        let (out_s, g_s) = run(&params, &x, true);
        assert_eq!(out_c, out_s, "{dtype:?} forward");
        assert_eq!(g_c, g_s, "{dtype:?} gradients");
        assert!(g_s.iter().any(|&v| v.abs() > 1e-3));
    }
}

#[test]
fn shared_input_rejects_a_wrong_element_count() {
    let params = store(DType::F32);
    let mut tape = Tape::new();
    let mut g = tape.graph(&params, false, 0);
    let x = [1.0f32; 5];
    match g.input_shared(&x, [2, 3]) {
        Err(Error::ElementCount {
            expected: 6,
            got: 5,
            ..
        }) => {}
        other => panic!("expected an ElementCount error, got {other:?}"),
    }
}
