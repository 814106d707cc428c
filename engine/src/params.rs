//! Flat parameter storage (llm.c style): every parameter tensor of a model is a window into one
//! flat buffer, and so are its gradients and the optimizer state. Zeroing gradients is one
//! fill, an optimizer step is one pass, a checkpoint is one write.

use serde::{Deserialize, Serialize};

use crate::backend;
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::storage::{SliceMut, SliceRef};
use crate::tensor::Tensor;

/// Index of a parameter in its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ParamId(pub usize);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Shape,
    pub offset: usize,
}

impl ParamSpec {
    pub fn len(&self) -> usize {
        self.shape.numel()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// Declares parameters (name, shape, initial values), then freezes them into a [`ParamStore`].
#[derive(Default)]
pub struct ParamBuilder {
    specs: Vec<ParamSpec>,
    data: Vec<f64>,
}

impl ParamBuilder {
    pub fn new() -> Self {
        ParamBuilder::default()
    }

    pub fn add(
        &mut self,
        name: impl Into<String>,
        shape: impl Into<Shape>,
        init: Vec<f64>,
    ) -> Result<ParamId> {
        let shape = shape.into();
        let name = name.into();
        Error::check_count("ParamBuilder::add", shape, init.len())?;
        if self.specs.iter().any(|s| s.name == name) {
            return Err(Error::invalid(format!("duplicate parameter name {name:?}")));
        }
        let id = ParamId(self.specs.len());
        self.specs.push(ParamSpec {
            name,
            shape,
            offset: self.data.len(),
        });
        self.data.extend(init);
        Ok(id)
    }

    pub fn build(self, dtype: DType, device: Device) -> Result<ParamStore> {
        let n = self.data.len();
        let data = match dtype {
            DType::F64 => Tensor::from_vec_f64(self.data, n)?,
            DType::F32 => {
                let v: Vec<f32> = self.data.iter().map(|&x| x as f32).collect();
                Tensor::from_slice(&v, n, device)?
            }
        };
        if dtype == DType::F64 && device != Device::Cpu {
            return Err(Error::Unsupported {
                op: "ParamBuilder::build",
                dtype,
                device,
            });
        }
        Ok(ParamStore {
            data,
            specs: self.specs,
        })
    }
}

/// A model's parameters (or non-trainable buffers such as running statistics) in one flat tensor.
#[derive(Clone, Debug)]
pub struct ParamStore {
    data: Tensor,
    specs: Vec<ParamSpec>,
}

impl ParamStore {
    pub fn empty(dtype: DType, device: Device) -> Result<ParamStore> {
        ParamBuilder::new().build(dtype, device)
    }

    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    pub fn spec(&self, id: ParamId) -> &ParamSpec {
        &self.specs[id.0]
    }

    pub fn find(&self, name: &str) -> Option<ParamId> {
        self.specs.iter().position(|s| s.name == name).map(ParamId)
    }

    /// Total number of scalars.
    pub fn len(&self) -> usize {
        self.data.numel()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn flat(&self) -> &Tensor {
        &self.data
    }

    pub fn flat_mut(&mut self) -> &mut Tensor {
        &mut self.data
    }

    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    pub fn device(&self) -> Device {
        self.data.device()
    }

    pub fn slice(&self, id: ParamId) -> SliceRef<'_> {
        self.data.storage().slice(self.specs[id.0].range())
    }

    pub fn slice_mut(&mut self, id: ParamId) -> SliceMut<'_> {
        let r = self.specs[id.0].range();
        self.data.storage_mut().slice_mut(r)
    }

    /// One parameter as a host `Vec<f32>`.
    pub fn get_f32(&self, id: ParamId) -> Result<Vec<f32>> {
        Ok(backend::to_host_f64(self.slice(id))?
            .into_iter()
            .map(|v| v as f32)
            .collect())
    }

    /// Overwrite one parameter from host values.
    pub fn set_f32(&mut self, id: ParamId, values: &[f32]) -> Result<()> {
        let spec = &self.specs[id.0];
        Error::check_count("set_f32", spec.shape, values.len())?;
        let r = spec.range();
        let device = self.device();
        match self.data.storage_mut().slice_mut(r) {
            SliceMut::F32(s) => s.copy_from_slice(values),
            SliceMut::F64(s) => s.iter_mut().zip(values).for_each(|(d, &v)| *d = v as f64),
            SliceMut::Cuda(mut c) => {
                let _ = device;
                c.copy_from_host(values)?
            }
        }
        Ok(())
    }

    /// A zeroed flat tensor with this store's layout (gradients, optimizer moments).
    pub fn zeros_like(&self) -> Result<Tensor> {
        Tensor::zeros(self.len(), self.dtype(), self.device())
    }

    /// Move to another device (f32 only off the CPU).
    pub fn to_device(&self, device: Device) -> Result<ParamStore> {
        Ok(ParamStore {
            data: self.data.to_device(device)?,
            specs: self.specs.clone(),
        })
    }

    pub fn to_dtype(&self, dtype: DType) -> Result<ParamStore> {
        Ok(ParamStore {
            data: self.data.to_dtype(dtype)?,
            specs: self.specs.clone(),
        })
    }
}
