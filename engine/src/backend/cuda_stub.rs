//! Built without the `cuda` feature: the CUDA storage types are uninhabited, so no value of them
//! can exist and every CUDA request fails with a typed error before any is made. Callers need
//! no `#[cfg]`: the match arms that handle CUDA values are statically unreachable.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::ops::Range;

use crate::device::Device;
use crate::error::{Error, Result};

const WHY: &str = "this build of neurite has no CUDA support (rebuild with `--features cuda`)";

pub fn ensure_available(_ordinal: usize) -> Result<()> {
    Err(Error::CudaUnavailable(WHY.into()))
}

/// Why CUDA is unavailable, or `None` when it is usable (for `neurite doctor`).
pub fn diagnose() -> Vec<(String, String)> {
    vec![("cuda".into(), WHY.into())]
}

#[derive(Debug, Clone)]
pub struct CudaStorage {
    never: Infallible,
}

pub struct CudaRef<'a> {
    never: Infallible,
    _p: PhantomData<&'a ()>,
}

pub struct CudaMut<'a> {
    never: Infallible,
    _p: PhantomData<&'a mut ()>,
}

impl CudaStorage {
    pub fn zeros(_ordinal: usize, _len: usize) -> Result<Self> {
        Err(Error::CudaUnavailable(WHY.into()))
    }
    pub fn from_host(_ordinal: usize, _data: &[f32]) -> Result<Self> {
        Err(Error::CudaUnavailable(WHY.into()))
    }
    pub fn to_host(&self) -> Result<Vec<f32>> {
        match self.never {}
    }
    pub fn len(&self) -> usize {
        match self.never {}
    }
    pub fn is_empty(&self) -> bool {
        match self.never {}
    }
    pub fn device(&self) -> Device {
        match self.never {}
    }
    pub fn slice(&self, _r: Range<usize>) -> CudaRef<'_> {
        match self.never {}
    }
    pub fn slice_mut(&mut self, _r: Range<usize>) -> CudaMut<'_> {
        match self.never {}
    }
}

impl CudaRef<'_> {
    pub fn unreachable(&self) -> ! {
        match self.never {}
    }
    pub fn len(&self) -> usize {
        match self.never {}
    }
    pub fn is_empty(&self) -> bool {
        match self.never {}
    }
    pub fn reborrow(&self) -> CudaRef<'_> {
        match self.never {}
    }
    pub fn to_host(&self) -> Result<Vec<f32>> {
        match self.never {}
    }
}

impl CudaMut<'_> {
    pub fn unreachable(&self) -> ! {
        match self.never {}
    }
    pub fn len(&self) -> usize {
        match self.never {}
    }
    pub fn is_empty(&self) -> bool {
        match self.never {}
    }
    pub fn reborrow(&mut self) -> CudaMut<'_> {
        match self.never {}
    }
    pub fn as_ref(&self) -> CudaRef<'_> {
        match self.never {}
    }
    pub fn copy_from_host(&mut self, _src: &[f32]) -> Result<()> {
        match self.never {}
    }
}
