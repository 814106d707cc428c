//! `Tensor`: a contiguous row-major array with a shape, on a device. `f32` everywhere that
//! trains and serves; `f64` on the CPU for gradient checks.

use std::fmt;

use crate::backend::{self, cuda::CudaStorage};
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::storage::{CpuStorage, SliceMut, SliceRef, Storage};

#[derive(Clone)]
pub struct Tensor {
    shape: Shape,
    storage: Storage,
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tensor({}, {:?}, {})",
            self.shape,
            self.dtype(),
            self.device()
        )
    }
}

impl Tensor {
    /// Wrap a storage whose length must equal the shape's element count.
    pub fn from_storage(storage: Storage, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        Error::check_count("from_storage", shape, storage.len())?;
        Ok(Tensor { shape, storage })
    }

    pub fn zeros(shape: impl Into<Shape>, dtype: DType, device: Device) -> Result<Tensor> {
        let shape = shape.into();
        Ok(Tensor {
            storage: Storage::zeros(shape.numel(), dtype, device)?,
            shape,
        })
    }

    pub fn from_vec(data: Vec<f32>, shape: impl Into<Shape>) -> Result<Tensor> {
        Tensor::from_storage(Storage::Cpu(CpuStorage::F32(data)), shape)
    }

    pub fn from_vec_f64(data: Vec<f64>, shape: impl Into<Shape>) -> Result<Tensor> {
        Tensor::from_storage(Storage::Cpu(CpuStorage::F64(data)), shape)
    }

    /// Copy host data onto `device` (as f32).
    pub fn from_slice(data: &[f32], shape: impl Into<Shape>, device: Device) -> Result<Tensor> {
        let shape = shape.into();
        Error::check_count("from_slice", shape, data.len())?;
        let storage = match device {
            Device::Cpu => Storage::Cpu(CpuStorage::F32(data.to_vec())),
            Device::Cuda(n) => Storage::Cuda(CudaStorage::from_host(n, data)?),
        };
        Ok(Tensor { shape, storage })
    }

    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    pub fn numel(&self) -> usize {
        self.shape.numel()
    }

    pub fn dtype(&self) -> DType {
        self.storage.dtype()
    }

    pub fn device(&self) -> Device {
        self.storage.device()
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    pub fn storage_mut(&mut self) -> &mut Storage {
        &mut self.storage
    }

    pub fn view(&self) -> SliceRef<'_> {
        self.storage.full()
    }

    pub fn view_mut(&mut self) -> SliceMut<'_> {
        self.storage.full_mut()
    }

    /// The data as a host slice, when this is a CPU f32 tensor.
    pub fn as_f32_slice(&self) -> Option<&[f32]> {
        match &self.storage {
            Storage::Cpu(CpuStorage::F32(v)) => Some(v),
            _ => None,
        }
    }

    pub fn as_f32_slice_mut(&mut self) -> Option<&mut [f32]> {
        match &mut self.storage {
            Storage::Cpu(CpuStorage::F32(v)) => Some(v),
            _ => None,
        }
    }

    pub fn as_f64_slice(&self) -> Option<&[f64]> {
        match &self.storage {
            Storage::Cpu(CpuStorage::F64(v)) => Some(v),
            _ => None,
        }
    }

    pub fn as_f64_slice_mut(&mut self) -> Option<&mut [f64]> {
        match &mut self.storage {
            Storage::Cpu(CpuStorage::F64(v)) => Some(v),
            _ => None,
        }
    }

    /// Copy to a host `Vec<f32>` from any device or dtype.
    pub fn to_vec_f32(&self) -> Result<Vec<f32>> {
        match &self.storage {
            Storage::Cpu(CpuStorage::F32(v)) => Ok(v.clone()),
            Storage::Cpu(CpuStorage::F64(v)) => Ok(v.iter().map(|&x| x as f32).collect()),
            Storage::Cuda(c) => c.to_host(),
        }
    }

    /// Copy to a host `Vec<f64>` from any device or dtype.
    pub fn to_vec_f64(&self) -> Result<Vec<f64>> {
        backend::to_host_f64(self.view())
    }

    /// The single value of a one-element tensor.
    pub fn to_scalar(&self) -> Result<f64> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "to_scalar",
                format!("tensor of shape {} is not a scalar", self.shape),
            ));
        }
        Ok(self.to_vec_f64()?[0])
    }

    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        if device == self.device() {
            return Ok(self.clone());
        }
        let host = self.to_vec_f32()?;
        Tensor::from_slice(&host, self.shape, device)
    }

    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        match (dtype, &self.storage) {
            (DType::F64, Storage::Cpu(_)) => Tensor::from_vec_f64(self.to_vec_f64()?, self.shape),
            (DType::F32, Storage::Cpu(_)) => Tensor::from_vec(self.to_vec_f32()?, self.shape),
            _ => Err(Error::Unsupported {
                op: "to_dtype",
                dtype,
                device: self.device(),
            }),
        }
    }

    /// Same data, new shape with the same element count (no copy).
    pub fn reshape(mut self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!("cannot reshape {} into {}", self.shape, shape),
            ));
        }
        self.shape = shape;
        Ok(self)
    }

    /// Reinterpret in place with a shape of the same element count (used by the buffer pool).
    pub(crate) fn set_shape(&mut self, shape: Shape) {
        debug_assert_eq!(shape.numel(), self.storage.len());
        self.shape = shape;
    }

    pub(crate) fn storage_len(&self) -> usize {
        self.storage.len()
    }
}
