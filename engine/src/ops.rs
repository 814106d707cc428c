//! Tape-free tensor operations for inference (nothing is recorded; used by `predict` and
//! `serve`).

use neurite_kernels::cpu::activation::Activation;

use crate::backend::{self, Mat};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// `a · b` for 2-D tensors.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (sa, sb) = (a.shape(), b.shape());
    if sa.rank() != 2 || sb.rank() != 2 || sa.dim(1) != sb.dim(0) {
        return Err(Error::shape("matmul", format!("{sa} · {sb}")));
    }
    let (m, k, n) = (sa.dim(0), sa.dim(1), sb.dim(1));
    let mut out = Tensor::zeros(Shape::new(&[m, n]), a.dtype(), a.device())?;
    backend::matmul(
        out.view_mut(),
        n,
        Mat::row_major(a.view(), m, k),
        Mat::row_major(b.view(), k, n),
        false,
        None,
        Activation::Identity,
    )?;
    Ok(out)
}

/// Elementwise activation.
pub fn activation(x: &Tensor, act: Activation) -> Result<Tensor> {
    let mut out = Tensor::zeros(*x.shape(), x.dtype(), x.device())?;
    backend::activation_forward(act, out.view_mut(), x.view())?;
    Ok(out)
}

/// Softmax over the last axis.
pub fn softmax(x: &Tensor) -> Result<Tensor> {
    let (r, c) = x.shape().as_matrix();
    let mut out = Tensor::zeros(*x.shape(), x.dtype(), x.device())?;
    backend::softmax_forward(out.view_mut(), x.view(), r, c)?;
    Ok(out)
}
