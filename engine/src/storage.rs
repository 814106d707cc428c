//! Tensor storage: an enum over devices, so no generic backend parameter leaks into `Tensor`.
//! [`SliceRef`]/[`SliceMut`] are borrowed windows into a storage (parameter tensors are such
//! windows into one flat buffer); every kernel call in [`crate::backend`] takes them.

use std::ops::Range;

use crate::backend::cuda::{CudaMut, CudaRef, CudaStorage};
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub enum CpuStorage {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

#[derive(Clone, Debug)]
pub enum Storage {
    Cpu(CpuStorage),
    Cuda(CudaStorage),
}

pub enum SliceRef<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
    Cuda(CudaRef<'a>),
}

pub enum SliceMut<'a> {
    F32(&'a mut [f32]),
    F64(&'a mut [f64]),
    Cuda(CudaMut<'a>),
}

impl Storage {
    pub fn zeros(len: usize, dtype: DType, device: Device) -> Result<Storage> {
        match (device, dtype) {
            (Device::Cpu, DType::F32) => Ok(Storage::Cpu(CpuStorage::F32(vec![0.0; len]))),
            (Device::Cpu, DType::F64) => Ok(Storage::Cpu(CpuStorage::F64(vec![0.0; len]))),
            (Device::Cuda(n), DType::F32) => Ok(Storage::Cuda(CudaStorage::zeros(n, len)?)),
            (d, dt) => Err(Error::Unsupported {
                op: "zeros",
                dtype: dt,
                device: d,
            }),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(CpuStorage::F32(v)) => v.len(),
            Storage::Cpu(CpuStorage::F64(v)) => v.len(),
            Storage::Cuda(c) => c.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dtype(&self) -> DType {
        match self {
            Storage::Cpu(CpuStorage::F32(_)) | Storage::Cuda(_) => DType::F32,
            Storage::Cpu(CpuStorage::F64(_)) => DType::F64,
        }
    }

    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Cuda(c) => c.device(),
        }
    }

    pub fn slice(&self, r: Range<usize>) -> SliceRef<'_> {
        match self {
            Storage::Cpu(CpuStorage::F32(v)) => SliceRef::F32(&v[r]),
            Storage::Cpu(CpuStorage::F64(v)) => SliceRef::F64(&v[r]),
            Storage::Cuda(c) => SliceRef::Cuda(c.slice(r)),
        }
    }

    pub fn slice_mut(&mut self, r: Range<usize>) -> SliceMut<'_> {
        match self {
            Storage::Cpu(CpuStorage::F32(v)) => SliceMut::F32(&mut v[r]),
            Storage::Cpu(CpuStorage::F64(v)) => SliceMut::F64(&mut v[r]),
            Storage::Cuda(c) => SliceMut::Cuda(c.slice_mut(r)),
        }
    }

    pub fn full(&self) -> SliceRef<'_> {
        self.slice(0..self.len())
    }

    pub fn full_mut(&mut self) -> SliceMut<'_> {
        let n = self.len();
        self.slice_mut(0..n)
    }
}

impl<'a> SliceRef<'a> {
    pub fn len(&self) -> usize {
        match self {
            SliceRef::F32(s) => s.len(),
            SliceRef::F64(s) => s.len(),
            SliceRef::Cuda(c) => c.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// A short description for error messages.
    pub fn describe(&self) -> String {
        match self {
            SliceRef::F32(_) => "cpu/f32".into(),
            SliceRef::F64(_) => "cpu/f64".into(),
            SliceRef::Cuda(_) => "cuda/f32".into(),
        }
    }
    /// Re-borrow without consuming (slices are cheap views).
    pub fn reborrow(&self) -> SliceRef<'_> {
        match self {
            SliceRef::F32(s) => SliceRef::F32(s),
            SliceRef::F64(s) => SliceRef::F64(s),
            SliceRef::Cuda(c) => SliceRef::Cuda(c.reborrow()),
        }
    }
}

impl<'a> SliceMut<'a> {
    pub fn len(&self) -> usize {
        match self {
            SliceMut::F32(s) => s.len(),
            SliceMut::F64(s) => s.len(),
            SliceMut::Cuda(c) => c.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn describe(&self) -> String {
        match self {
            SliceMut::F32(_) => "cpu/f32".into(),
            SliceMut::F64(_) => "cpu/f64".into(),
            SliceMut::Cuda(_) => "cuda/f32".into(),
        }
    }
    pub fn reborrow(&mut self) -> SliceMut<'_> {
        match self {
            SliceMut::F32(s) => SliceMut::F32(s),
            SliceMut::F64(s) => SliceMut::F64(s),
            SliceMut::Cuda(c) => SliceMut::Cuda(c.reborrow()),
        }
    }
    pub fn as_ref(&self) -> SliceRef<'_> {
        match self {
            SliceMut::F32(s) => SliceRef::F32(s),
            SliceMut::F64(s) => SliceRef::F64(s),
            SliceMut::Cuda(c) => SliceRef::Cuda(c.as_ref()),
        }
    }
}
