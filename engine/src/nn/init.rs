//! Weight initialisation from a seeded counter-based RNG (reproducible from the seed alone).

use neurite_kernels::rng::Rng;
use serde::{Deserialize, Serialize};

/// Initialisers, named as in Keras/PyTorch. `Auto` picks He for ReLU-family activations and
/// Glorot (Xavier) otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    #[default]
    Auto,
    /// He/Kaiming normal: N(0, 2/fan_in).
    HeNormal,
    /// He/Kaiming uniform: U(±√(6/fan_in)).
    HeUniform,
    /// Glorot/Xavier uniform: U(±√(6/(fan_in+fan_out))).
    XavierUniform,
    /// Glorot/Xavier normal: N(0, 2/(fan_in+fan_out)).
    XavierNormal,
}

/// Bias initialisers. `Zeros` is Keras' default; `XavierUniform` draws from the same
/// U(±√(6/(fan_in+fan_out))) as Glorot-uniform weights, as scikit-learn's MLP does (its biases
/// are drawn right after each layer's weights).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BiasInit {
    #[default]
    Zeros,
    XavierUniform,
}

impl BiasInit {
    /// `fan_out` biases of a `fan_out × fan_in` layer.
    pub fn sample(self, rng: &mut Rng, fan_in: usize, fan_out: usize) -> Vec<f64> {
        match self {
            BiasInit::Zeros => vec![0.0; fan_out],
            BiasInit::XavierUniform => {
                let a = (6.0 / (fan_in.max(1) + fan_out.max(1)) as f64).sqrt();
                (0..fan_out)
                    .map(|_| (rng.next_f64() * 2.0 - 1.0) * a)
                    .collect()
            }
        }
    }
}

impl Init {
    /// `fan_out × fan_in` weights (PyTorch layout `[out, in]`).
    pub fn sample(self, rng: &mut Rng, fan_in: usize, fan_out: usize, relu_like: bool) -> Vec<f64> {
        let init = match self {
            Init::Auto if relu_like => Init::HeNormal,
            Init::Auto => Init::XavierUniform,
            other => other,
        };
        let n = fan_in * fan_out;
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        match init {
            Init::HeNormal => {
                let s = (2.0 / fi).sqrt();
                (0..n).map(|_| rng.normal() * s).collect()
            }
            Init::HeUniform => {
                let a = (6.0 / fi).sqrt();
                (0..n).map(|_| (rng.next_f64() * 2.0 - 1.0) * a).collect()
            }
            Init::XavierUniform => {
                let a = (6.0 / (fi + fo)).sqrt();
                (0..n).map(|_| (rng.next_f64() * 2.0 - 1.0) * a).collect()
            }
            Init::XavierNormal => {
                let s = (2.0 / (fi + fo)).sqrt();
                (0..n).map(|_| rng.normal() * s).collect()
            }
            Init::Auto => unreachable!("resolved above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_match_definitions() {
        let mut r = Rng::new(3);
        let w = Init::HeNormal.sample(&mut r, 200, 300, true);
        let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
        assert!((var - 2.0 / 200.0).abs() / (2.0 / 200.0) < 0.05, "{var}");
        let w = Init::XavierUniform.sample(&mut r, 200, 300, false);
        let a = (6.0f64 / 500.0).sqrt();
        assert!(w.iter().all(|x| x.abs() <= a));
        let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
        assert!((var - a * a / 3.0).abs() / (a * a / 3.0) < 0.05);
    }
}
