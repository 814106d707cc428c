//! A training step of a fixed MLP allocates nothing on the heap after the first step.
//!
//! A counting `#[global_allocator]` wraps the system allocator; the 784-256-128-10 ReLU MLP
//! (softmax cross-entropy, Adam, batch 128) runs the full step — `tape.graph` → forward →
//! loss → `backward_fresh` (writes the gradients, no zeroing pass) → drop the graph →
//! `Optimizer::step` — with inputs fed by `input_from_slice` from preallocated host buffers.
//! Steps 2..=5 must allocate nothing.
//!
//! Threads: the strict test pins the kernels to one thread. With more threads the kernels
//! themselves still allocate nothing (fork/join jobs live on the stack), but rayon's global
//! injector queue allocates one block per 63 jobs sent to its pool from outside, so the
//! threaded test bounds the amortised count instead (well under one allocation per step).
//! Both run in one process (one test function), so the counter sees only this test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use neurite_engine::nn::{ActivationSpec, BiasInit, Init, LayerSpec, Mlp, MlpSpec};
use neurite_engine::{DType, Device, Loss, Optimizer, OptimizerSpec, Tape, Tensor};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);
/// Sizes of the first counted allocations (realloc: +1e9, zeroed: +2e9), for the failure text.
#[allow(clippy::declare_interior_mutable_const)]
const Z: AtomicUsize = AtomicUsize::new(0);
static SIZES: [AtomicUsize; 64] = [Z; 64];

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            let i = ALLOCS.fetch_add(1, Ordering::Relaxed);
            if i < 64 {
                SIZES[i].store(layout.size(), Ordering::Relaxed);
            }
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            let i = ALLOCS.fetch_add(1, Ordering::Relaxed);
            if i < 64 {
                SIZES[i].store(layout.size() + 2_000_000_000, Ordering::Relaxed);
            }
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            let i = ALLOCS.fetch_add(1, Ordering::Relaxed);
            if i < 64 {
                SIZES[i].store(new_size + 1_000_000_000, Ordering::Relaxed);
            }
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Trainer {
    model: Mlp,
    opt: Optimizer,
    grads: Tensor,
    tape: Tape,
    x: Vec<f32>,
    y: Vec<f32>,
    batch: usize,
}

impl Trainer {
    fn new(batch: usize) -> Trainer {
        let lin = |units| LayerSpec::Linear {
            units,
            bias: true,
            init: Init::Auto,
            bias_init: BiasInit::Zeros,
        };
        let relu = || LayerSpec::Activation {
            activation: ActivationSpec::Relu,
        };
        let spec = MlpSpec {
            input_dim: 784,
            layers: vec![lin(256), relu(), lin(128), relu(), lin(10)],
        };
        let model = Mlp::new(spec, 1, DType::F32, Device::Cpu).unwrap();
        let opt = Optimizer::new(OptimizerSpec::adam(1e-3), &model.params).unwrap();
        let grads = model.params.zeros_like().unwrap();
        Trainer {
            model,
            opt,
            grads,
            tape: Tape::new(),
            x: (0..batch * 784)
                .map(|i| ((i * 37) % 101) as f32 / 101.0)
                .collect(),
            y: (0..batch).map(|i| (i % 10) as f32).collect(),
            batch,
        }
    }

    /// One training step; returns the loss when asked (reading it to the host allocates).
    fn step(&mut self, seed: u64, read_loss: bool) -> f32 {
        let Trainer {
            model,
            opt,
            grads,
            tape,
            x,
            y,
            batch,
        } = self;
        let mut loss_value = f32::NAN;
        {
            let Mlp {
                arch,
                params,
                buffers,
            } = model;
            let mut g = tape.graph(params, true, seed);
            let xv = g.input_from_slice(x, [*batch, 784]).unwrap();
            let yv = g.input_from_slice(y, [*batch]).unwrap();
            let out = arch.forward(&mut g, xv, buffers).unwrap();
            let loss = Loss::CrossEntropy.forward(&mut g, out, yv, None).unwrap();
            g.backward_fresh(loss, grads).unwrap();
            if read_loss {
                loss_value = g.to_vec_f64(loss).unwrap()[0] as f32;
            }
        }
        opt.step(&mut model.params, grads).unwrap();
        loss_value
    }
}

/// Allocations during `steps` training steps (after `warm` uncounted ones).
fn count(t: &mut Trainer, warm: u64, steps: u64) -> usize {
    for s in 0..warm {
        t.step(s, false);
    }
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    for s in warm..warm + steps {
        t.step(s, false);
    }
    COUNTING.store(false, Ordering::SeqCst);
    ALLOCS.load(Ordering::SeqCst)
}

#[test]
fn training_step_allocates_nothing_after_the_first() {
    // Strict: one kernel thread, steps 2..=5 allocate nothing at all.
    neurite_kernels::set_num_threads(1);
    let mut t = Trainer::new(128);
    let first = t.step(0, true);
    let n = count(&mut t, 0, 4);
    let sz: Vec<usize> = SIZES.iter().map(|a| a.load(Ordering::Relaxed)).collect();
    assert_eq!(n, 0, "steps 2..=5 allocated {n} times: {sz:?}");
    let last = t.step(5, true);
    assert!(last.is_finite() && last < first, "loss {first} -> {last}");

    // Threaded: amortised, well under one allocation per step (rayon's injector blocks).
    neurite_kernels::set_num_threads(2);
    let mut t = Trainer::new(128);
    let steps = 40;
    let n = count(&mut t, 2, steps);
    eprintln!("threaded: {n} allocations in {steps} steps");
    assert!(
        n < steps as usize / 4,
        "{n} allocations in {steps} threaded steps"
    );
    neurite_kernels::set_num_threads(0);
}
