//! Weights round-trip through safetensors exactly; bad files give clear errors.

use std::collections::HashMap;

use neurite_engine::io::{atomic_write, load_safetensors, to_safetensors};
use neurite_engine::nn::{ActivationSpec, BiasInit, Init, LayerSpec, Mlp, MlpSpec};
use neurite_engine::{DType, Device, Tensor};

fn model(seed: u64, units: usize) -> Mlp {
    let spec = MlpSpec {
        input_dim: 3,
        layers: vec![
            LayerSpec::Linear {
                units,
                bias: true,
                init: Init::Auto,
                bias_init: BiasInit::Zeros,
            },
            LayerSpec::BatchNorm {
                eps: 1e-5,
                momentum: 0.1,
            },
            LayerSpec::Activation {
                activation: ActivationSpec::Relu,
            },
            LayerSpec::Linear {
                units: 2,
                bias: true,
                init: Init::Auto,
                bias_init: BiasInit::Zeros,
            },
        ],
    };
    Mlp::new(spec, seed, DType::F32, Device::Cpu).unwrap()
}

#[test]
fn round_trip_is_exact() {
    let a = model(1, 5);
    let bytes = to_safetensors(
        &[&a.params, &a.buffers],
        HashMap::from([("k".to_string(), "v".to_string())]),
    )
    .unwrap();
    let mut b = model(2, 5);
    assert_ne!(
        a.params.flat().to_vec_f32().unwrap(),
        b.params.flat().to_vec_f32().unwrap()
    );
    let Mlp {
        params, buffers, ..
    } = &mut b;
    let meta = load_safetensors(&bytes, &mut [params, buffers], "w.safetensors").unwrap();
    assert_eq!(meta.get("k").map(String::as_str), Some("v"));
    assert_eq!(
        a.params.flat().to_vec_f32().unwrap(),
        b.params.flat().to_vec_f32().unwrap()
    );
    let x = Tensor::from_vec(vec![0.1, -0.2, 0.3, 1.0, 2.0, 3.0], [2, 3]).unwrap();
    assert_eq!(
        a.predict(&x).unwrap().to_vec_f32().unwrap(),
        b.predict(&x).unwrap().to_vec_f32().unwrap()
    );
}

#[test]
fn bad_files_are_clear_errors() {
    let a = model(1, 5);
    let bytes = to_safetensors(&[&a.params, &a.buffers], HashMap::new()).unwrap();
    let mut b = model(1, 5);
    // truncated
    let Mlp {
        params, buffers, ..
    } = &mut b;
    let e = load_safetensors(
        &bytes[..bytes.len() / 2],
        &mut [params, buffers],
        "w.safetensors",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("w.safetensors"), "{e}");
    // garbage
    let e = load_safetensors(
        b"not a safetensors file",
        &mut [params, buffers],
        "w.safetensors",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("invalid weights file"), "{e}");
    // shape mismatch (a model with a different width)
    let mut c = model(1, 6);
    let Mlp {
        params, buffers, ..
    } = &mut c;
    let e = load_safetensors(&bytes, &mut [params, buffers], "w.safetensors")
        .unwrap_err()
        .to_string();
    assert!(e.contains("shape") && e.contains("layers.0.weight"), "{e}");
    // a missing tensor
    let only_params = to_safetensors(&[&a.params], HashMap::new()).unwrap();
    let mut d = model(1, 5);
    let Mlp {
        params, buffers, ..
    } = &mut d;
    let e = load_safetensors(&only_params, &mut [params, buffers], "w.safetensors")
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing tensor"), "{e}");
}

#[test]
fn atomic_write_replaces_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sub/f.bin");
    atomic_write(&p, b"first").unwrap();
    atomic_write(&p, b"second").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"second");
    let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind");
}
