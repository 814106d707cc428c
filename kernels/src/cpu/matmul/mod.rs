//! GEMM: `C (m×n) = act(A (m×k) · B (k×n) [+ C] [+ bias])`.
//!
//! Shapes and layout: `A` and `B` are [`MatRef`]s with arbitrary row/column strides, so `x·Wᵀ`
//! (W stored `[out, in]`) and `xᵀ·dy` need no copy: pass `w.t()` / `x.t()`. `C` is row-major
//! with row stride `ldc` (column stride 1).
//!
//! Accumulate (beta) semantics, documented once: `accumulate == false` overwrites C,
//! `accumulate == true` adds `A·B` to the existing C. The epilogue is applied last, to the
//! final value: `C = act(A·B + beta·C + bias)`, bias broadcast over rows (one value per column).
//!
//! Tested against [`reference::matmul_forward`] in `kernels/tests/matmul.rs` on awkward sizes,
//! transposed operands, accumulate on/off, with/without epilogue, every ISA tier; benched in
//! `benches/benches/gemm.rs` and `neurite bench kernels`.

pub mod reference;

use crate::cpu::activation::{self, Activation};
use crate::isa::{self, Isa};
use crate::real::Real;

/// A strided read-only matrix: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T: Copy> MatRef<'a, T> {
    /// A dense row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose, as a view (no copy).
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    #[inline(always)]
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.rs + j * self.cs]
    }

    /// Smallest slice length that holds every element (0 for an empty matrix).
    pub fn required_len(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.rs + (self.cols - 1) * self.cs + 1
        }
    }
}

/// What happens to each output element after the product: `act(value + bias[col])`.
#[derive(Clone, Copy, Debug)]
pub struct Epilogue<'a, T> {
    pub bias: Option<&'a [T]>,
    pub act: Activation,
}

impl<T> Default for Epilogue<'_, T> {
    fn default() -> Self {
        Epilogue {
            bias: None,
            act: Activation::Identity,
        }
    }
}

impl<'a, T> Epilogue<'a, T> {
    pub fn none() -> Self {
        Epilogue {
            bias: None,
            act: Activation::Identity,
        }
    }
    pub fn bias(bias: &'a [T]) -> Self {
        Epilogue {
            bias: Some(bias),
            act: Activation::Identity,
        }
    }
    pub fn bias_act(bias: Option<&'a [T]>, act: Activation) -> Self {
        Epilogue { bias, act }
    }
    pub fn is_none(&self) -> bool {
        self.bias.is_none() && self.act == Activation::Identity
    }
}

/// `f32` GEMM on the active ISA tier. See the module docs for the exact semantics.
// c (m×n, row stride ldc), a (m×k), b (k×n)
pub fn matmul_forward(
    c: &mut [f32],
    ldc: usize,
    a: MatRef<'_, f32>,
    b: MatRef<'_, f32>,
    accumulate: bool,
    epi: Epilogue<'_, f32>,
) {
    matmul_forward_isa(isa::active(), c, ldc, a, b, accumulate, epi)
}

/// As [`matmul_forward`], on an explicit tier (tests and benchmarks).
pub fn matmul_forward_isa(
    isa: Isa,
    c: &mut [f32],
    ldc: usize,
    a: MatRef<'_, f32>,
    b: MatRef<'_, f32>,
    accumulate: bool,
    epi: Epilogue<'_, f32>,
) {
    check_shapes(c, ldc, &a, &b, &epi);
    match isa {
        Isa::Reference => reference::matmul_forward(c, ldc, a, b, accumulate, epi),
        _ => matmul_via_matrixmultiply(c, ldc, a, b, accumulate, epi),
    }
}

fn check_shapes<T: Copy>(c: &[T], ldc: usize, a: &MatRef<T>, b: &MatRef<T>, epi: &Epilogue<T>) {
    debug_assert_eq!(a.cols, b.rows, "inner dimensions differ");
    debug_assert!(a.data.len() >= a.required_len());
    debug_assert!(b.data.len() >= b.required_len());
    debug_assert!(a.rows == 0 || b.cols == 0 || c.len() >= (a.rows - 1) * ldc + b.cols);
    debug_assert!(ldc >= b.cols || a.rows <= 1);
    if let Some(bias) = epi.bias {
        debug_assert!(bias.len() >= b.cols);
    }
}

/// The first fast path: `matrixmultiply` (also the GEMM test oracle and benchmark peer).
fn matmul_via_matrixmultiply(
    c: &mut [f32],
    ldc: usize,
    a: MatRef<'_, f32>,
    b: MatRef<'_, f32>,
    accumulate: bool,
    epi: Epilogue<'_, f32>,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                c[i * ldc..i * ldc + n].fill(0.0);
            }
        }
    } else {
        let beta = if accumulate { 1.0 } else { 0.0 };
        // SAFETY: the strides and sizes describe memory inside the slices (checked above in
        // debug builds, and guaranteed by callers per the documented preconditions).
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.data.as_ptr(),
                a.rs as isize,
                a.cs as isize,
                b.data.as_ptr(),
                b.rs as isize,
                b.cs as isize,
                beta,
                c.as_mut_ptr(),
                ldc as isize,
                1,
            );
        }
    }
    apply_epilogue(c, ldc, m, n, epi);
}

/// `c[i, j] = act(c[i, j] + bias[j])` over an `m × n` block with row stride `ldc`.
pub fn apply_epilogue<T: Real>(c: &mut [T], ldc: usize, m: usize, n: usize, epi: Epilogue<'_, T>) {
    if epi.is_none() {
        return;
    }
    for i in 0..m {
        let row = &mut c[i * ldc..i * ldc + n];
        if let Some(bias) = epi.bias {
            for (v, &b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
        if epi.act != Activation::Identity {
            activation::reference::activation_inplace(epi.act, row);
        }
    }
}
