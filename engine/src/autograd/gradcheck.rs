//! Finite-difference gradient checks in `f64`.
//!
//! The function under test builds a scalar from parameters of an `f64` [`ParamStore`]; the
//! analytic gradient comes from [`Graph::backward`], the numeric one from central differences
//! `(f(p + ε) − f(p − ε)) / 2ε` for every parameter element. Used by `engine/tests/gradcheck.rs`
//! on every backward rule with random shapes (proptest).

use crate::autograd::{Graph, Tape, Var};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::params::ParamStore;

#[derive(Debug, Clone)]
pub struct GradcheckReport {
    /// Elements compared.
    pub checked: usize,
    /// Largest `|analytic − numeric| / (atol + rtol·|numeric|)`; ≤ 1 passes.
    pub worst_ratio: f64,
    /// `(parameter name, element, analytic, numeric)` of the worst element.
    pub worst: Option<(String, usize, f64, f64)>,
}

impl GradcheckReport {
    pub fn passed(&self) -> bool {
        self.worst_ratio <= 1.0
    }
}

/// Compare analytic and numeric gradients of `f` with respect to every element of `params`.
pub fn gradcheck<F>(
    params: &mut ParamStore,
    f: F,
    eps: f64,
    atol: f64,
    rtol: f64,
) -> Result<GradcheckReport>
where
    F: Fn(&mut Graph) -> Result<Var>,
{
    if params.dtype() != DType::F64 {
        return Err(Error::invalid("gradcheck needs an f64 parameter store"));
    }
    let mut tape = Tape::new();
    let mut grads = params.zeros_like()?;
    {
        let mut g = tape.graph(params, true, 0);
        let loss = f(&mut g)?;
        g.backward(loss, &mut grads)?;
    }
    let analytic = grads.to_vec_f64()?;
    // `backward_fresh` must write the same gradients without reading the buffer: start it
    // from NaN, which any rule that adds on its first contribution would propagate.
    let mut fresh = params.zeros_like()?;
    crate::backend::fill(fresh.view_mut(), f64::NAN)?;
    {
        let mut g = tape.graph(params, true, 0);
        let loss = f(&mut g)?;
        g.backward_fresh(loss, &mut fresh)?;
    }
    for (i, (a, b)) in analytic.iter().zip(fresh.to_vec_f64()?).enumerate() {
        if (a - b).abs() > 1e-12 * (1.0 + a.abs()) || b.is_nan() != a.is_nan() {
            return Err(Error::invalid(format!(
                "backward_fresh gives {b} at parameter element {i}, backward {a}"
            )));
        }
    }
    let eval = |params: &ParamStore, tape: &mut Tape| -> Result<f64> {
        let mut g = tape.graph(params, true, 0);
        let loss = f(&mut g)?;
        Ok(g.to_vec_f64(loss)?[0])
    };
    let mut report = GradcheckReport {
        checked: 0,
        worst_ratio: 0.0,
        worst: None,
    };
    let specs = params.specs().to_vec();
    for spec in &specs {
        for k in 0..spec.len() {
            let i = spec.offset + k;
            let orig = params.flat().as_f64_slice().expect("f64 store")[i];
            params.flat_mut().as_f64_slice_mut().expect("f64 store")[i] = orig + eps;
            let lp = eval(params, &mut tape)?;
            params.flat_mut().as_f64_slice_mut().expect("f64 store")[i] = orig - eps;
            let lm = eval(params, &mut tape)?;
            params.flat_mut().as_f64_slice_mut().expect("f64 store")[i] = orig;
            let numeric = (lp - lm) / (2.0 * eps);
            let a = analytic[i];
            let ratio = (a - numeric).abs() / (atol + rtol * numeric.abs());
            report.checked += 1;
            if ratio > report.worst_ratio || ratio.is_nan() {
                report.worst_ratio = if ratio.is_nan() { f64::INFINITY } else { ratio };
                report.worst = Some((spec.name.clone(), k, a, numeric));
            }
        }
    }
    Ok(report)
}
