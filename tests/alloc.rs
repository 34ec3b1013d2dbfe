//! Allocation budgets: an optimizer step in the steady state allocates
//! nothing, and a hostile file header cannot make a load allocate what it claims.

use netc::checkpoint::{CheckpointError, load_model};
use netc::optim::{AdamConfig, Optimizer, SgdConfig};
use netc::{Params, Tensor};
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
