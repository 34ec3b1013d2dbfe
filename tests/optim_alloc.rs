//! An optimizer step in the steady state does not allocate.

use netc::optim::{AdamConfig, Optimizer, SgdConfig};
use netc::{Params, Tensor};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made by the current thread (tests run in parallel).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(|n| n.get())
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
