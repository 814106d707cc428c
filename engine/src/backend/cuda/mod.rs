//! CUDA storage and kernel launches: filled by the CUDA issue (#4).
