//! `Graph::backward_fresh` writes exactly what zeroing the buffer and `Graph::backward` add:
//! parameters used twice still sum their contributions, parameters the loss does not reach
//! get zeros whatever the buffer held, and `backward` keeps adding on top of it.

use neurite_engine::{Activation, DType, Device, ParamBuilder, ParamStore, Tape, Tensor};

/// w1 [3, 4] (used by two products), b1 [4] (bias), w2 [4, 2], unused [5].
fn store(dtype: DType) -> ParamStore {
    let vals = |n: usize, s: f64| (0..n).map(|i| (i as f64 * 0.37 + s).sin()).collect();
    let mut pb = ParamBuilder::new();
    pb.add("w1", [3, 4], vals(12, 0.1)).unwrap();
    pb.add("b1", [4], vals(4, 0.2)).unwrap();
    pb.add("w2", [4, 2], vals(8, 0.3)).unwrap();
    pb.add("unused", [5], vals(5, 0.4)).unwrap();
    pb.build(dtype, Device::Cpu).unwrap()
}

/// loss = Σ tanh(x·w1 + b1)·w2 + Σ (x·w1)²; `fresh` picks the backward; `grads` is used as is.
fn grads_of(params: &ParamStore, grads: &mut Tensor, fresh: bool) {
    let mut tape = Tape::new();
    let mut g = tape.graph(params, true, 0);
    let x: Vec<f32> = (0..6).map(|i| i as f32 * 0.25 - 0.6).collect();
    let xv = g.input_from_slice(&x, [2, 3]).unwrap();
    let [w1, b1, w2] = ["w1", "b1", "w2"].map(|n| g.param(params.find(n).unwrap()));
    let wt = g.transpose(w1).unwrap();
    let h = g.linear(xv, wt, Some(b1), Activation::Tanh).unwrap();
    let o = g.matmul(h, w2).unwrap();
    let s1 = g.sum_all(o).unwrap();
    let z = g.matmul(xv, w1).unwrap();
    let z2 = g.mul(z, z).unwrap();
    let s2 = g.sum_all(z2).unwrap();
    let loss = g.add(s1, s2).unwrap();
    if fresh {
        g.backward_fresh(loss, grads).unwrap();
    } else {
        g.backward(loss, grads).unwrap();
    }
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    t.to_vec_f64().unwrap()
}

#[test]
fn fresh_equals_zero_then_backward() {
    for dtype in [DType::F32, DType::F64] {
        let params = store(dtype);
        let mut zeroed = params.zeros_like().unwrap();
        grads_of(&params, &mut zeroed, false);
        let want = to_vec(&zeroed);

        // A buffer full of garbage (the previous step's gradients, say).
        let mut fresh = params.zeros_like().unwrap();
        neurite_engine::backend::fill(fresh.view_mut(), 7.5).unwrap();
        grads_of(&params, &mut fresh, true);
        let got = to_vec(&fresh);
        assert_eq!(got.len(), want.len());
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                "{dtype:?} [{i}]: {a} vs {b}"
            );
        }
        // The unused parameter's slots are zeros, not the 7.5 left in the buffer.
        let r = params.spec(params.find("unused").unwrap()).range();
        assert!(got[r.clone()].iter().all(|&v| v == 0.0));
        // w1 gets both products' contributions (a first write that stored only one of them
        // would differ from the zeroed run above); check it is not trivially zero.
        let r1 = params.spec(params.find("w1").unwrap()).range();
        assert!(got[r1].iter().any(|&v| v.abs() > 1e-3));

        // `backward` after it adds a second copy on top.
        grads_of(&params, &mut fresh, false);
        for (a, b) in to_vec(&fresh).iter().zip(&want) {
            assert!((a - 2.0 * b).abs() <= 1e-5 * (1.0 + b.abs()));
        }
    }
}
