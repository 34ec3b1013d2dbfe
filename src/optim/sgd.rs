//! Stochastic gradient descent, as `torch.optim.SGD`.

use super::max_norm;
use super::state::{self, OptimState};
use super::{OptimError, require};
use crate::params::{ParamId, Params};
use crate::range::Range;
use crate::real::Real;
use rayon::prelude::*;

pub(super) const NAME: &str = "sgd";
const MOMENTUM_BUFFER: &str = "momentum_buffer";

/// Settings of [`Sgd`]; the field names and meanings are PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate (finite, > 0).
    pub lr: f64,
    /// Momentum factor (in [0, 1); 0 disables momentum).
    pub momentum: f64,
    /// Dampening of the momentum (in [0, 1]).
    pub dampening: f64,
    /// Nesterov momentum (needs momentum > 0 and dampening = 0).
    pub nesterov: bool,
    /// L2 penalty added to the gradient: `g + weight_decay * p` (finite, >= 0).
    pub weight_decay: f64,
}

impl SgdConfig {
    /// PyTorch's defaults: learning rate 0.001, everything else off.
    pub const DEFAULT: SgdConfig = SgdConfig {
        lr: 1e-3,
        momentum: 0.0,
        dampening: 0.0,
        nesterov: false,
        weight_decay: 0.0,
    };
    /// The range of `lr`.
    pub const LR: Range = Range::Positive;
    /// The range of `momentum`. PyTorch accepts any momentum >= 0, but from 1
    /// on the momentum buffer never decays (a constant gradient makes every
    /// step larger than the last), so netc refuses it.
    pub const MOMENTUM: Range = Range::Prob;
    /// The range of `dampening`.
    pub const DAMPENING: Range = Range::Closed;
    /// The range of `weight_decay`.
    pub const WEIGHT_DECAY: Range = Range::NonNegative;

    /// Plain SGD with learning rate `lr` (PyTorch's defaults for the rest: all off).
    pub fn new(lr: f64) -> Self {
        SgdConfig {
            lr,
            ..Self::DEFAULT
        }
    }

    /// Checks every setting, with PyTorch's rule for nesterov.
    pub fn validate(&self) -> Result<(), OptimError> {
        require(NAME, "lr", self.lr, Self::LR)?;
        require(NAME, "momentum", self.momentum, Self::MOMENTUM)?;
        require(NAME, "dampening", self.dampening, Self::DAMPENING)?;
        require(NAME, "weight_decay", self.weight_decay, Self::WEIGHT_DECAY)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(OptimError::Nesterov {
                momentum: self.momentum,
                dampening: self.dampening,
            });
        }
        Ok(())
    }
}

/// SGD with optional momentum, dampening, nesterov and weight decay.
///
/// Per element, with `d` the gradient:
/// `d += wd·p` (if wd ≠ 0); with momentum, `b = d` on the first step, else
/// `b = momentum·b + (1 - dampening)·d`, then `d = d + momentum·b` (nesterov) or
/// `d = b`; finally `p += (-lr)·d`.
#[derive(Clone, Debug)]
pub struct Sgd<T> {
    pub(super) config: SgdConfig,
    steps: u64,
    /// One per parameter once momentum is in use; empty before the first step.
    momentum_buffers: Vec<Vec<T>>,
}

impl<T: Real> Sgd<T> {
    /// A new optimizer (no state until the first step).
    pub fn new(config: SgdConfig) -> Result<Self, OptimError> {
        config.validate()?;
        Ok(Sgd {
            config,
            steps: 0,
            momentum_buffers: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The kinds of buffer this optimizer keeps per parameter.
    pub(crate) fn buffer_kinds(&self) -> &'static [&'static str] {
        if self.config.momentum != 0.0 {
            &[MOMENTUM_BUFFER]
        } else {
            &[]
        }
    }

    /// One update of every parameter from its gradient.
    pub fn step(&mut self, params: &mut Params<T>) -> Result<(), OptimError> {
        self.step_max_norm(params, &[])
    }

    /// [`Sgd::step`], each parameter `id` of `max_norms` then kept to rows of
    /// norm at most `c`, row by row as they are updated (see
    /// [`super::Optimizer::step_max_norm`]).
    pub fn step_max_norm(
        &mut self,
        params: &mut Params<T>,
        max_norms: &[(ParamId, f64)],
    ) -> Result<(), OptimError> {
        let c = self.config;
        let use_momentum = c.momentum != 0.0;
        let first = self.momentum_buffers.is_empty();
        if use_momentum && first {
            state::check_store(NAME, params, &[])?;
            // Sized once from the store; the first step overwrites every value.
            self.momentum_buffers = params
                .iter()
                .map(|p| vec![T::ZERO; p.value.len()])
                .collect();
        } else {
            state::check_store(NAME, params, &self.momentum_buffers)?;
        }
        // Python computes these scalars in double; the kernels round them to T.
        let k = Coeffs {
            neg_lr: T::from_f64(-c.lr),
            wd: T::from_f64(c.weight_decay),
            momentum: T::from_f64(c.momentum),
            keep: T::from_f64(1.0 - c.dampening),
        };
        let decay = c.weight_decay != 0.0;
        for (i, p) in params.iter_mut().enumerate() {
            let bound = max_norms.iter().find(|m| m.0.index() == i).map(|m| m.1);
            // With a bound, parts and pieces are whole rows: each row is
            // constrained as soon as it is updated.
            let cols = if bound.is_some() { p.value.cols() } else { 1 };
            let part = max_norm::part_of(p.value.len(), cols);
            let piece = if bound.is_some() { cols.max(1) } else { part };
            let constrain = |v: &mut [T]| {
                if let Some(c) = bound {
                    max_norm::constrain(v, c);
                }
            };
            let (value, grad) = (p.value.as_mut_slice(), p.grad.as_slice());
            let one = part >= value.len();
            if use_momentum {
                let buf = &mut self.momentum_buffers[i][..];
                let update = |((v, g), b): ((&mut [T], &[T]), &mut [T])| {
                    let pieces = v
                        .chunks_mut(piece)
                        .zip(g.chunks(piece))
                        .zip(b.chunks_mut(piece));
                    for ((v, g), b) in pieces {
                        with_momentum(v, g, b, &k, decay, first, c.nesterov);
                        constrain(v);
                    }
                };
                if one {
                    update(((value, grad), buf));
                } else {
                    let parts = value.par_chunks_mut(part).zip(grad.par_chunks(part));
                    parts.zip(buf.par_chunks_mut(part)).for_each(update);
                }
            } else {
                let update = |(v, g): (&mut [T], &[T])| {
                    for (v, g) in v.chunks_mut(piece).zip(g.chunks(piece)) {
                        if decay {
                            plain::<T, true>(v, g, &k);
                        } else {
                            plain::<T, false>(v, g, &k);
                        }
                        constrain(v);
                    }
                };
                if one {
                    update((value, grad));
                } else {
                    let parts = value.par_chunks_mut(part).zip(grad.par_chunks(part));
                    parts.for_each(update);
                }
            }
        }
        self.steps = self.steps.saturating_add(1);
        Ok(())
    }

    /// A copy of the step count and momentum buffers.
    pub fn export_state(&self, params: &Params<T>) -> OptimState<T> {
        state::export(
            params,
            self.steps,
            self.buffer_kinds(),
            &[&self.momentum_buffers],
        )
    }

    /// Restores an exported state (checked first; unchanged on error).
    pub fn import_state(
        &mut self,
        params: &Params<T>,
        state: OptimState<T>,
    ) -> Result<(), OptimError> {
        let steps = state.steps;
        let mut taken = state::take(NAME, params, self.buffer_kinds(), state)?;
        self.steps = steps;
        self.momentum_buffers = taken.pop().unwrap_or_default();
        Ok(())
    }
}

/// The step's scalars, rounded to `T`.
struct Coeffs<T> {
    neg_lr: T,
    wd: T,
    momentum: T,
    keep: T,
}

// The kernels below are monomorphized on their flags, so every loop is free of
// branches and vectorizes; the arithmetic and its order are the same in all.

/// `p += -lr·(g + wd·p)` (the decay term only when `DECAY`).
fn plain<T: Real, const DECAY: bool>(value: &mut [T], grad: &[T], k: &Coeffs<T>) {
    for (v, &g) in value.iter_mut().zip(grad) {
        let d = if DECAY { g + k.wd * *v } else { g };
        *v += k.neg_lr * d;
    }
}

/// Dispatches to the momentum kernel for these flags.
fn with_momentum<T: Real>(
    value: &mut [T],
    grad: &[T],
    buf: &mut [T],
    k: &Coeffs<T>,
    decay: bool,
    first: bool,
    nesterov: bool,
) {
    match (decay, first, nesterov) {
        (false, false, false) => momentum::<T, false, false, false>(value, grad, buf, k),
        (false, false, true) => momentum::<T, false, false, true>(value, grad, buf, k),
        (false, true, false) => momentum::<T, false, true, false>(value, grad, buf, k),
        (false, true, true) => momentum::<T, false, true, true>(value, grad, buf, k),
        (true, false, false) => momentum::<T, true, false, false>(value, grad, buf, k),
        (true, false, true) => momentum::<T, true, false, true>(value, grad, buf, k),
        (true, true, false) => momentum::<T, true, true, false>(value, grad, buf, k),
        (true, true, true) => momentum::<T, true, true, true>(value, grad, buf, k),
    }
}

/// The momentum update of one parameter.
fn momentum<T: Real, const DECAY: bool, const FIRST: bool, const NESTEROV: bool>(
    value: &mut [T],
    grad: &[T],
    buf: &mut [T],
    k: &Coeffs<T>,
) {
    for ((v, &g), b) in value.iter_mut().zip(grad).zip(buf.iter_mut()) {
        let d = if DECAY { g + k.wd * *v } else { g };
        // PyTorch clones the gradient into the buffer on the first step.
        *b = if FIRST {
            d
        } else {
            *b * k.momentum + k.keep * d
        };
        let d = if NESTEROV { d + k.momentum * *b } else { *b };
        *v += k.neg_lr * d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;

    /// One parameter `w` of shape [n] with values `p`.
    fn store(p: &[f32]) -> Params<f32> {
        let mut s = Params::new();
        let t = Tensor::from_vec(1, p.len(), p.to_vec()).unwrap();
        s.add_with_dims("w", t, vec![p.len()]).unwrap();
        s
    }

    /// Runs one step per gradient and returns `w` after each step.
    fn run(config: SgdConfig, p0: &[f32], grads: &[&[f32]]) -> Vec<Vec<f32>> {
        let mut s = store(p0);
        let mut opt = Sgd::new(config).unwrap();
        let mut out = Vec::new();
        for g in grads {
            s.iter_mut()
                .next()
                .unwrap()
                .grad
                .as_mut_slice()
                .copy_from_slice(g);
            opt.step(&mut s).unwrap();
            out.push(s.iter().next().unwrap().value.as_slice().to_vec());
        }
        out
    }

    // The hand computations below use dyadic numbers (sums of powers of two), so
    // every intermediate is exact in f32 and the comparisons are exact.

    /// A parameter larger than a thread's part, stepped in pools of one and
    /// of three threads: the same bits, every update and flag.
    #[test]
    fn threads_share_out_a_large_parameter_without_changing_a_bit() {
        let n = 3 * max_norm::CHUNK + (1 << 18);
        let p0: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        let grads: Vec<Vec<f32>> = (0..3)
            .map(|s| (0..n).map(|i| ((i * 7 + s) as f32 * 0.11).cos()).collect())
            .collect();
        let grads: Vec<&[f32]> = grads.iter().map(Vec::as_slice).collect();
        for (momentum, weight_decay, nesterov) in
            [(0.0, 0.0, false), (0.0, 0.01, false), (0.9, 0.01, true)]
        {
            let c = SgdConfig {
                momentum,
                weight_decay,
                nesterov,
                ..SgdConfig::new(0.1)
            };
            let on = |threads| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| run(c, &p0, &grads))
            };
            assert!(on(1) == on(3), "{c:?}");
        }
    }

    /// Constraining each row as it is updated gives the numbers of a step
    /// and then `constrain_rows`, bit for bit, on one thread and on three;
    /// a parameter without a bound is left as the step left it.
    #[test]
    fn max_norm_in_the_step_is_the_step_then_the_constraint() {
        use crate::optim::{Optimizer, constrain_rows};
        let (rows, cols) = (400, 700);
        let init = |p: &mut Params<f32>| {
            let w = Tensor::from_fn(rows, cols, |r, c| {
                ((r * cols + c) as f32 * 0.37).sin() * 0.3
            });
            let b = Tensor::from_fn(1, rows, |_, c| c as f32);
            let (w, b) = (p.add("w", w).unwrap(), p.add("b", b).unwrap());
            for id in [w, b] {
                let g = p.get_mut(id).grad.as_mut_slice();
                for (i, g) in g.iter_mut().enumerate() {
                    *g = ((i * 7) as f32 * 0.11).cos() * (i % 3) as f32;
                }
            }
            w
        };
        for momentum in [0.0, 0.9] {
            let c = SgdConfig {
                momentum,
                ..SgdConfig::new(0.5)
            };
            let (mut apart, mut fused) = (Params::new(), Params::new());
            let w = init(&mut apart);
            init(&mut fused);
            let mut opt = Optimizer::sgd(c).unwrap();
            for _ in 0..2 {
                opt.step(&mut apart).unwrap();
                assert!(constrain_rows(&mut apart.get_mut(w).value, 3.0) > 0);
            }
            for threads in [1, 3] {
                let mut fused = fused.clone();
                let mut opt = Optimizer::sgd(c).unwrap();
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                for _ in 0..2 {
                    pool.install(|| opt.step_max_norm(&mut fused, &[(w, 3.0)]))
                        .unwrap();
                }
                for (a, f) in apart.iter().zip(fused.iter()) {
                    assert!(
                        a.value.as_slice() == f.value.as_slice(),
                        "{} on {threads}",
                        a.name
                    );
                }
            }
        }
    }

    #[test]
    fn plain_sgd_is_p_minus_lr_g() {
        let got = run(
            SgdConfig::new(0.5),
            &[1.0, -2.0],
            &[&[0.5, 0.25], &[-1.0, 2.0]],
        );
        assert_eq!(got[0], vec![1.0 - 0.5 * 0.5, -2.0 - 0.5 * 0.25]); // [0.75, -2.125]
        assert_eq!(got[1], vec![0.75 + 0.5 * 1.0, -2.125 - 0.5 * 2.0]); // [1.25, -3.125]
    }

    #[test]
    fn momentum_first_buffer_is_the_gradient() {
        let c = SgdConfig {
            momentum: 0.5,
            ..SgdConfig::new(0.5)
        };
        let got = run(c, &[3.0], &[&[1.0], &[2.0], &[-1.0]]);
        // b1 = g1 = 1;              p1 = 3 - 0.5*1 = 2.5
        // b2 = 0.5*1 + 2 = 2.5;     p2 = 2.5 - 0.5*2.5 = 1.25
        // b3 = 0.5*2.5 - 1 = 0.25;  p3 = 1.25 - 0.5*0.25 = 1.125
        assert_eq!(got, vec![vec![2.5], vec![1.25], vec![1.125]]);
    }

    #[test]
    fn dampening_skips_the_first_step() {
        let c = SgdConfig {
            momentum: 0.5,
            dampening: 0.5,
            ..SgdConfig::new(0.5)
        };
        let got = run(c, &[3.0], &[&[1.0], &[2.0], &[-1.0]]);
        // b1 = g1 = 1 (not 0.5*1);          p1 = 3 - 0.5*1 = 2.5
        // b2 = 0.5*1 + 0.5*2 = 1.5;         p2 = 2.5 - 0.5*1.5 = 1.75
        // b3 = 0.5*1.5 + 0.5*(-1) = 0.25;   p3 = 1.75 - 0.5*0.25 = 1.625
        assert_eq!(got, vec![vec![2.5], vec![1.75], vec![1.625]]);
    }

    #[test]
    fn nesterov_looks_ahead() {
        let c = SgdConfig {
            momentum: 0.5,
            nesterov: true,
            ..SgdConfig::new(0.5)
        };
        let got = run(c, &[3.0], &[&[1.0], &[2.0]]);
        // b1 = 1;          d1 = 1 + 0.5*1 = 1.5;      p1 = 3 - 0.5*1.5 = 2.25
        // b2 = 0.5 + 2;    d2 = 2 + 0.5*2.5 = 3.25;   p2 = 2.25 - 0.5*3.25 = 0.625
        assert_eq!(got, vec![vec![2.25], vec![0.625]]);
    }

    #[test]
    fn weight_decay_is_added_to_the_gradient_before_momentum() {
        let c = SgdConfig {
            momentum: 0.5,
            weight_decay: 0.25,
            ..SgdConfig::new(0.5)
        };
        let got = run(c, &[2.0], &[&[1.0], &[1.0]]);
        // d1 = 1 + 0.25*2 = 1.5;        b1 = 1.5;                      p1 = 2 - 0.5*1.5 = 1.25
        // d2 = 1 + 0.25*1.25 = 1.3125;  b2 = 0.5*1.5 + 1.3125 = 2.0625; p2 = 1.25 - 0.5*2.0625 = 0.21875
        assert_eq!(got, vec![vec![1.25], vec![0.21875]]);
    }

    #[test]
    fn weight_decay_without_momentum() {
        let c = SgdConfig {
            weight_decay: 0.5,
            ..SgdConfig::new(0.25)
        };
        let got = run(c, &[4.0], &[&[0.0], &[0.0]]);
        // p1 = 4 - 0.25*(0 + 0.5*4) = 3.5;  p2 = 3.5 - 0.25*(0.5*3.5) = 3.0625
        assert_eq!(got, vec![vec![3.5], vec![3.0625]]);
    }

    #[test]
    fn gradients_are_read_not_cleared() {
        let mut s = store(&[1.0]);
        s.iter_mut().next().unwrap().grad.as_mut_slice()[0] = 0.5;
        Sgd::new(SgdConfig::new(1.0)).unwrap().step(&mut s).unwrap();
        assert_eq!(s.iter().next().unwrap().grad.as_slice(), &[0.5]);
    }

    #[test]
    fn settings_are_validated() {
        let bad = |c: SgdConfig| Sgd::<f32>::new(c).unwrap_err();
        for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = bad(SgdConfig::new(lr));
            assert!(
                matches!(e, OptimError::BadSetting { setting: "lr", .. }),
                "{e}"
            );
        }
        let e = bad(SgdConfig {
            momentum: -0.1,
            ..SgdConfig::new(0.1)
        });
        assert_eq!(e.to_string(), "sgd: momentum must be in [0, 1), got -0.1");
        // From 1 on the momentum buffer would never decay (PyTorch allows it).
        for momentum in [1.0, 1.5] {
            let e = bad(SgdConfig {
                momentum,
                ..SgdConfig::new(0.1)
            });
            assert!(
                matches!(
                    e,
                    OptimError::BadSetting {
                        setting: "momentum",
                        ..
                    }
                ),
                "{e}"
            );
        }
        let e = bad(SgdConfig {
            dampening: 1.5,
            ..SgdConfig::new(0.1)
        });
        assert_eq!(e.to_string(), "sgd: dampening must be in [0, 1], got 1.5");
        let e = bad(SgdConfig {
            weight_decay: f64::NAN,
            ..SgdConfig::new(0.1)
        });
        assert!(matches!(
            e,
            OptimError::BadSetting {
                setting: "weight_decay",
                ..
            }
        ));
    }

    #[test]
    fn nesterov_needs_momentum_and_no_dampening() {
        let no_momentum = SgdConfig {
            nesterov: true,
            ..SgdConfig::new(0.1)
        };
        let e = Sgd::<f32>::new(no_momentum).unwrap_err();
        assert_eq!(
            e,
            OptimError::Nesterov {
                momentum: 0.0,
                dampening: 0.0
            }
        );
        let damped = SgdConfig {
            nesterov: true,
            momentum: 0.9,
            dampening: 0.1,
            ..SgdConfig::new(0.1)
        };
        let e = Sgd::<f32>::new(damped).unwrap_err();
        assert!(matches!(e, OptimError::Nesterov { .. }), "{e}");
        assert!(e.to_string().contains("dampening = 0"), "{e}");
    }

    #[test]
    fn a_changed_store_is_an_error_not_a_panic() {
        let c = SgdConfig {
            momentum: 0.9,
            ..SgdConfig::new(0.1)
        };
        let mut s = store(&[1.0, 2.0]);
        let mut opt = Sgd::new(c).unwrap();
        opt.step(&mut s).unwrap();
        s.add("extra", Tensor::zeros(1, 3)).unwrap();
        let e = opt.step(&mut s).unwrap_err();
        assert!(matches!(e, OptimError::StoreChanged { .. }), "{e}");
        assert!(e.to_string().contains("2 parameters"), "{e}");
    }

    #[test]
    fn a_gradient_of_the_wrong_length_is_an_error() {
        let mut s = store(&[1.0, 2.0]);
        s.iter_mut().next().unwrap().grad = Tensor::zeros(1, 1);
        let e = Sgd::new(SgdConfig::new(0.1))
            .unwrap()
            .step(&mut s)
            .unwrap_err();
        assert!(e.to_string().contains("gradient of 1"), "{e}");
    }
}
