//! Allocation budgets: an optimizer step in the steady state allocates
//! nothing, and a hostile file header cannot make a load allocate what it claims.

use netc::checkpoint::{CheckpointError, load_model};
use netc::optim::{AdamConfig, Optimizer, SgdConfig};
use netc::{
    BatchNorm, Conv2d, Conv2dGeom, DropoutMode, Linear, Params, Phase, Pool2dGeom, Tape, Tensor,
};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations (and their bytes) made by the current thread: tests run
/// in parallel threads.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

fn record(bytes: usize) {
    ALLOCATIONS.with(|n| n.set(n.get() + 1));
    BYTES.with(|n| n.set(n.get() + bytes));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(|n| n.get())
}

fn bytes_allocated() -> usize {
    BYTES.with(|n| n.get())
}

fn store() -> Params<f32> {
    let mut s = Params::new();
    s.add(
        "h1.weight",
        Tensor::from_fn(32, 128, |r, c| (r * c) as f32 * 1e-3),
    )
    .unwrap();
    s.add_with_dims("h1.bias", Tensor::from_fn(1, 32, |_, c| c as f32), vec![32])
        .unwrap();
    for p in s.iter_mut() {
        p.grad.as_mut_slice().fill(0.01);
    }
    s
}

#[test]
fn steps_after_the_first_do_not_allocate() {
    let optimizers = [
        Optimizer::sgd(SgdConfig::new(0.1)).unwrap(),
        Optimizer::sgd(SgdConfig {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
            ..SgdConfig::new(0.1)
        })
        .unwrap(),
        Optimizer::adam(AdamConfig::adam(1e-3)).unwrap(),
        Optimizer::adam(AdamConfig::adamw(1e-3)).unwrap(),
    ];
    for mut opt in optimizers {
        let mut s = store();
        opt.step(&mut s).unwrap();
        let before = allocations();
        for _ in 0..10 {
            opt.step(&mut s).unwrap();
        }
        assert_eq!(allocations() - before, 0, "{} allocated", opt.name());
    }
}

#[test]
fn a_training_step_after_the_first_does_not_allocate() {
    // Every kind of op a step records: stored layers, relu, dropout, both
    // penalties, log_softmax + nll and cross-entropy, then SGD with momentum.
    let mut rng = Pcg64Mcg::seed_from_u64(0);
    let mut params = Params::<f32>::new();
    let a = Linear::new(&mut params, "a", 20, 16, true, &mut rng).unwrap();
    let b = Linear::new(&mut params, "b", 16, 4, true, &mut rng).unwrap();
    let mut opt = Optimizer::sgd(SgdConfig {
        momentum: 0.9,
        ..SgdConfig::new(0.01)
    })
    .unwrap();
    let x = Tensor::from_fn(8, 20, |r, c| ((r * 3 + c) % 7) as f32 * 0.1);
    let labels = [0, 1, 2, 3, 0, 1, 2, 3];
    let mut tape = Tape::new();
    let mut step = |tape: &mut Tape<f32>, params: &mut Params<f32>| {
        tape.clear();
        let xi = tape
            .input_with(8, 20, |buf| buf.copy_from_slice(x.as_slice()))
            .unwrap();
        let h = a.forward(tape, params, xi).unwrap();
        let h = tape.relu(h).unwrap();
        let h = tape
            .dropout(h, 0.5, DropoutMode::Inverted, Phase::Train, &mut rng)
            .unwrap();
        let z = b.forward(tape, params, h).unwrap();
        let lp = tape.log_softmax(z).unwrap();
        let nll = tape.nll(lp, &labels).unwrap();
        let ce = tape.cross_entropy(z, &labels).unwrap();
        let l1 = tape.l1(h).unwrap();
        let l1 = tape.scale(l1, 1e-3).unwrap();
        let l2 = tape.l2(z).unwrap();
        let loss = tape.add(nll, ce).unwrap();
        let loss = tape.add(loss, l1).unwrap();
        let loss = tape.add(loss, l2).unwrap();
        tape.backward_replacing(loss, params).unwrap();
        opt.step(params).unwrap();
    };
    step(&mut tape, &mut params);
    step(&mut tape, &mut params);
    let before = allocations();
    for _ in 0..10 {
        step(&mut tape, &mut params);
    }
    assert_eq!(allocations() - before, 0);
}

#[test]
fn an_image_step_after_the_first_does_not_allocate() {
    // conv (its workspace), max pooling (its argmax), dropout2d, batch norm
    // in training (its statistics), average pooling, then SGD.
    let mut rng = Pcg64Mcg::seed_from_u64(0);
    let mut params = Params::<f32>::new();
    let geom = Conv2dGeom {
        in_c: 2,
        in_h: 9,
        in_w: 9,
        out_c: 4,
        kernel: 3,
        stride: 1,
        padding: 1,
    };
    let conv = Conv2d::new(&mut params, "c", geom, true, &mut rng).unwrap();
    let bn = BatchNorm::new(&mut params, "bn", 4, 16).unwrap();
    let out = Linear::new(&mut params, "out", 4 * 2 * 2, 3, true, &mut rng).unwrap();
    let pool = |c, side, kernel| Pool2dGeom {
        c,
        h: side,
        w: side,
        kernel,
        stride: kernel,
    };
    let mut opt = Optimizer::sgd(SgdConfig {
        momentum: 0.9,
        ..SgdConfig::new(0.01)
    })
    .unwrap();
    let x = Tensor::from_fn(5, 162, |r, c| ((r * 3 + c) % 7) as f32 * 0.1);
    let labels = [0, 1, 2, 0, 1];
    let mut tape = Tape::new();
    let mut step = |tape: &mut Tape<f32>, params: &mut Params<f32>| {
        tape.clear();
        let xi = tape.input(&x);
        let h = conv.forward(tape, params, xi).unwrap();
        let h = tape.relu(h).unwrap();
        let h = tape.max_pool2d(h, pool(4, 9, 2)).unwrap();
        let h = tape
            .dropout2d(h, 4, 0.25, DropoutMode::Inverted, Phase::Train, &mut rng)
            .unwrap();
        let h = bn.forward(tape, params, h, Phase::Train).unwrap();
        let h = tape.avg_pool2d(h, pool(4, 4, 2)).unwrap();
        let z = out.forward(tape, params, h).unwrap();
        let loss = tape.cross_entropy(z, &labels).unwrap();
        tape.backward_replacing(loss, params).unwrap();
        opt.step(params).unwrap();
    };
    step(&mut tape, &mut params);
    step(&mut tape, &mut params);
    let before = allocations();
    for _ in 0..10 {
        step(&mut tape, &mut params);
    }
    assert_eq!(allocations() - before, 0);
}

#[test]
fn the_counter_sees_allocations() {
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 100]);
    assert!(allocations() > before);
    drop(v);
}

#[test]
fn a_header_claiming_99_mb_allocates_next_to_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.safetensors");
    let mut bytes = 99_000_000u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{\"w\":");
    std::fs::write(&path, &bytes).unwrap();
    let mut params = store();
    let before = bytes_allocated();
    let err = load_model(&path, &mut params).unwrap_err();
    let used = bytes_allocated() - before;
    assert!(matches!(err, CheckpointError::Truncated { .. }), "{err}");
    assert!(used < 64 * 1024, "{used} bytes allocated");
}

#[test]
fn a_big_header_that_fits_its_file_is_read_within_the_file_size() {
    // 4 MB of header whitespace: the load reads the file (4 MB), no more.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("padded.safetensors");
    let mut header = b"{}".to_vec();
    header.resize(4 << 20, b' ');
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&header);
    std::fs::write(&path, &bytes).unwrap();
    let mut params = store();
    let before = bytes_allocated();
    let err = load_model(&path, &mut params).unwrap_err();
    let used = bytes_allocated() - before;
    assert!(matches!(err, CheckpointError::Mismatch { .. }), "{err}");
    assert!(
        used < 2 * bytes.len(),
        "{used} bytes allocated for a {}-byte file",
        bytes.len()
    );
}
