//! Where a tensor lives.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Cpu,
    /// An NVIDIA GPU by ordinal.
    Cuda(usize),
}

impl Device {
    pub fn is_cuda(self) -> bool {
        matches!(self, Device::Cuda(_))
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// What a user asks for: a device, or `auto` (CUDA when one works, else CPU).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DeviceRequest {
    #[default]
    Cpu,
    Cuda(usize),
    Auto,
}

impl FromStr for DeviceRequest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "cpu" => Ok(DeviceRequest::Cpu),
            "auto" => Ok(DeviceRequest::Auto),
            "cuda" | "gpu" => Ok(DeviceRequest::Cuda(0)),
            _ => {
                if let Some(n) = s.strip_prefix("cuda:") {
                    n.parse()
                        .map(DeviceRequest::Cuda)
                        .map_err(|_| Error::invalid(format!("bad CUDA ordinal in device {s:?}")))
                } else {
                    Err(Error::invalid(format!(
                        "unknown device {s:?} (expected cpu, cuda, cuda:N or auto)"
                    )))
                }
            }
        }
    }
}

impl fmt::Display for DeviceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceRequest::Cpu => f.write_str("cpu"),
            DeviceRequest::Cuda(n) => write!(f, "cuda:{n}"),
            DeviceRequest::Auto => f.write_str("auto"),
        }
    }
}

impl DeviceRequest {
    /// Resolve to a concrete device: `cuda` fails with a clear error when CUDA is unusable;
    /// `auto` falls back to the CPU.
    pub fn resolve(self) -> Result<Device, Error> {
        match self {
            DeviceRequest::Cpu => Ok(Device::Cpu),
            DeviceRequest::Cuda(n) => {
                crate::backend::cuda::ensure_available(n)?;
                Ok(Device::Cuda(n))
            }
            DeviceRequest::Auto => match crate::backend::cuda::ensure_available(0) {
                Ok(()) => Ok(Device::Cuda(0)),
                Err(_) => Ok(Device::Cpu),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_devices() {
        assert_eq!("cpu".parse::<DeviceRequest>().unwrap(), DeviceRequest::Cpu);
        assert_eq!(
            "CUDA:1".parse::<DeviceRequest>().unwrap(),
            DeviceRequest::Cuda(1)
        );
        assert_eq!(
            "auto".parse::<DeviceRequest>().unwrap(),
            DeviceRequest::Auto
        );
        assert!("tpu".parse::<DeviceRequest>().is_err());
        assert!("cuda:x".parse::<DeviceRequest>().is_err());
        assert_eq!(
            DeviceRequest::Auto.resolve().unwrap().is_cuda(),
            crate::backend::cuda::ensure_available(0).is_ok()
        );
    }
}
