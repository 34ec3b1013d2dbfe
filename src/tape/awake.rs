//! Keeping a pool's threads awake through a step.
//!
//! A step shares out its large ops one after another, each a parallel
//! section of its own (about twenty in a LeNet step), with serial work
//! between them. Left alone, rayon's idle threads fall asleep in those
//! gaps and each section waits for one to wake, or is done by the stepping
//! thread alone. [`awake`] keeps them looking for work instead, for as long
//! as the step runs.

use std::sync::atomic::{AtomicBool, Ordering};

/// Runs `step` on this thread while the other threads of the current rayon
/// pool wait for its work spinning, not asleep: each takes its part of a
/// section the moment it is shared out. Off a pool, or in a pool of one
/// thread, it just runs `step`. The numbers do not change (the parts do
/// not depend on which thread takes them); the price is that the other
/// threads use their cores through the whole step, which on a machine
/// busy with other work can cost more than it saves.
pub fn awake<R: Send>(step: impl FnOnce() -> R + Send) -> R {
    let Some(me) = rayon::current_thread_index() else {
        return step();
    };
    let others = rayon::current_num_threads().saturating_sub(1);
    if others == 0 {
        return step();
    }
    let done = AtomicBool::new(false);
    rayon::scope(|s| {
        for _ in 0..others {
            let done = &done;
            s.spawn(move |_| {
                // The stepping thread itself may pick a spinner up while it
                // waits in a section: spinning there would wait on itself.
                if rayon::current_thread_index() == Some(me) {
                    return;
                }
                while !done.load(Ordering::Acquire) {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        // Not the OS's yield: with another process on the
                        // machine it handed the core over at every look
                        // (the two-thread example step 30% slower than this).
                        std::hint::spin_loop();
                    }
                }
            });
        }
        // Set however the step ends, so a panic in it ends the spinners too
        // (and reaches the caller instead of leaving the scope waiting).
        let _done = Done(&done);
        step()
    })
}

/// Sets its flag when dropped.
struct Done<'a>(&'a AtomicBool);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    /// The step's own sections, nested ones too, run to the same result on
    /// one, two and three threads, off a pool and on it: the spinners take
    /// work and never wait on the step.
    #[test]
    fn a_step_with_sections_returns_its_result_on_any_pool() {
        let step = || {
            let a: u64 = (0..100_000u64).into_par_iter().map(|i| i * i % 7).sum();
            let (b, c) = rayon::join(
                || (0..1000u64).into_par_iter().sum::<u64>(),
                rayon::current_thread_index,
            );
            (a, b, c.is_some())
        };
        let want = (0..100_000u64).map(|i| i * i % 7).sum::<u64>();
        assert_eq!(awake(step), (want, 499_500, true));
        for threads in [1, 2, 3] {
            for _ in 0..50 {
                assert_eq!(pool(threads).install(|| awake(step)), (want, 499_500, true));
            }
        }
    }

    /// A step that panics ends its spinners and the panic reaches the
    /// caller.
    #[test]
    fn a_panicking_step_does_not_leave_the_pool_spinning() {
        let pool = pool(2);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| awake(|| panic!("the step failed")))
        }));
        assert!(caught.is_err());
        assert_eq!(pool.install(|| awake(|| 7)), 7);
    }
}
