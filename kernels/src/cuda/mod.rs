//! CUDA kernels (NVRTC at run time): filled by the CUDA issue (#4).
