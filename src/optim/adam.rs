//! Adam and AdamW, as `torch.optim.Adam` and `torch.optim.AdamW`.

use super::state::{self, OptimState};
use super::{OptimError, require};
use crate::params::Params;
use crate::range::Range;
use crate::real::Real;

const EXP_AVG: &str = "exp_avg";
const EXP_AVG_SQ: &str = "exp_avg_sq";

/// Settings of [`Adam`]; the field names and meanings are PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (finite, > 0).
    pub lr: f64,
    /// Decay of the first moment (in [0, 1)).
    pub beta1: f64,
    /// Decay of the second moment (in [0, 1)).
    pub beta2: f64,
    /// Added to the bias-corrected sqrt of the second moment (finite, > 0).
    pub eps: f64,
    /// Weight decay (finite, >= 0): an L2 term added to the gradient for Adam,
    /// `p *= 1 - lr·weight_decay` before the update for AdamW.
    pub weight_decay: f64,
    /// `true` for AdamW (decoupled weight decay).
    pub decoupled: bool,
}

impl AdamConfig {
    /// `torch.optim.Adam` defaults: lr 0.001, betas (0.9, 0.999), eps 1e-8, weight decay 0.
    pub const ADAM: AdamConfig = AdamConfig {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        decoupled: false,
    };
    /// `torch.optim.AdamW` defaults: Adam's, with weight decay 0.01 (decoupled).
    pub const ADAMW: AdamConfig = AdamConfig {
        weight_decay: 0.01,
        decoupled: true,
        ..Self::ADAM
    };
    /// The range of `lr`.
    pub const LR: Range = Range::Positive;
    /// The range of each beta.
    pub const BETA: Range = Range::Prob;
    /// The range of `eps`.
    pub const EPS: Range = Range::Positive;
    /// The range of `weight_decay`.
    pub const WEIGHT_DECAY: Range = Range::NonNegative;

    /// `torch.optim.Adam` with learning rate `lr` and its defaults for the rest.
    pub fn adam(lr: f64) -> Self {
        AdamConfig { lr, ..Self::ADAM }
    }

    /// `torch.optim.AdamW` with learning rate `lr` and its defaults for the rest.
    pub fn adamw(lr: f64) -> Self {
        AdamConfig { lr, ..Self::ADAMW }
    }

    /// `"adam"` or `"adamw"`.
    pub fn name(&self) -> &'static str {
        if self.decoupled { "adamw" } else { "adam" }
    }

    /// Checks every setting.
    pub fn validate(&self) -> Result<(), OptimError> {
        let name = self.name();
        require(name, "lr", self.lr, Self::LR)?;
        require(name, "beta1", self.beta1, Self::BETA)?;
        require(name, "beta2", self.beta2, Self::BETA)?;
        require(name, "eps", self.eps, Self::EPS)?;
        require(name, "weight_decay", self.weight_decay, Self::WEIGHT_DECAY)?;
        Ok(())
    }
}

/// Adam (or AdamW when `config.decoupled`).
///
/// Per element at step `t`, with `d` the gradient: `p *= 1 - lr·wd` (AdamW) or
/// `d += wd·p` (Adam), when wd ≠ 0; `m = lerp(m, d, 1 - β1)`;
/// `v = β2·v + (1 - β2)·d·d`; `p += -(lr / (1 - β1^t))·m / (sqrt(v) / sqrt(1 - β2^t) + eps)`.
#[derive(Clone, Debug)]
pub struct Adam<T> {
    pub(super) config: AdamConfig,
    steps: u64,
    /// First moments, one per parameter; empty before the first step.
    exp_avg: Vec<Vec<T>>,
    /// Second moments, one per parameter; empty before the first step.
    exp_avg_sq: Vec<Vec<T>>,
}

impl<T: Real> Adam<T> {
    pub(crate) const BUFFER_KINDS: &'static [&'static str] = &[EXP_AVG, EXP_AVG_SQ];

    /// A new optimizer (no state until the first step).
    pub fn new(config: AdamConfig) -> Result<Self, OptimError> {
        config.validate()?;
        Ok(Adam {
            config,
            steps: 0,
            exp_avg: Vec::new(),
            exp_avg_sq: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// `"adam"` or `"adamw"`.
    pub fn name(&self) -> &'static str {
        self.config.name()
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One update of every parameter from its gradient.
    pub fn step(&mut self, params: &mut Params<T>) -> Result<(), OptimError> {
        let name = self.name();
        if self.exp_avg.is_empty() {
            state::check_store(name, params, &[])?;
            // PyTorch starts both moments at zero; sized once from the store.
            self.exp_avg = params
                .iter()
                .map(|p| vec![T::ZERO; p.value.len()])
                .collect();
            self.exp_avg_sq = self.exp_avg.clone();
        } else {
            state::check_store(name, params, &self.exp_avg)?;
            state::check_store(name, params, &self.exp_avg_sq)?;
        }
        let c = self.config;
        let steps = self.steps.saturating_add(1);
        // Python computes these scalars in double; the kernels round them to T.
        let t = steps as f64;
        let bias_correction1 = 1.0 - c.beta1.powf(t);
        let bias_correction2 = 1.0 - c.beta2.powf(t);
        let neg_step_size = T::from_f64(-(c.lr / bias_correction1));
        let bias_correction2_sqrt = T::from_f64(bias_correction2.powf(0.5));
        let k = Coeffs {
            neg_step_size,
            bias_correction2_sqrt,
            shrink: T::from_f64(1.0 - c.lr * c.weight_decay),
            wd: T::from_f64(c.weight_decay),
            w1: T::from_f64(1.0 - c.beta1),
            beta2: T::from_f64(c.beta2),
            w2: T::from_f64(1.0 - c.beta2),
            eps: T::from_f64(c.eps),
        };
        let decay = match (c.weight_decay != 0.0, c.decoupled) {
            (false, _) => Decay::None,
            (true, false) => Decay::L2,
            (true, true) => Decay::Decoupled,
        };
        let small = k.w1.abs() < T::from_f64(0.5);
        for (i, p) in params.iter_mut().enumerate() {
            let grad = p.grad.as_slice();
            let value = p.value.as_mut_slice();
            let (m, v2) = (&mut self.exp_avg[i], &mut self.exp_avg_sq[i]);
            match (decay, small) {
                (Decay::None, true) => update::<T, NONE, true>(value, grad, m, v2, &k),
                (Decay::None, false) => update::<T, NONE, false>(value, grad, m, v2, &k),
                (Decay::L2, true) => update::<T, L2, true>(value, grad, m, v2, &k),
                (Decay::L2, false) => update::<T, L2, false>(value, grad, m, v2, &k),
                (Decay::Decoupled, true) => update::<T, DECOUPLED, true>(value, grad, m, v2, &k),
                (Decay::Decoupled, false) => update::<T, DECOUPLED, false>(value, grad, m, v2, &k),
            }
        }
        self.steps = steps;
        Ok(())
    }

    /// A copy of the step count and both moments.
    pub fn export_state(&self, params: &Params<T>) -> OptimState<T> {
        state::export(
            params,
            self.steps,
            Self::BUFFER_KINDS,
            &[&self.exp_avg, &self.exp_avg_sq],
        )
    }

    /// Restores an exported state (checked first; unchanged on error).
    pub fn import_state(
        &mut self,
        params: &Params<T>,
        state: OptimState<T>,
    ) -> Result<(), OptimError> {
        let steps = state.steps;
        let mut taken = state::take(self.name(), params, Self::BUFFER_KINDS, state)?.into_iter();
        self.steps = steps;
        self.exp_avg = taken.next().unwrap_or_default();
        self.exp_avg_sq = taken.next().unwrap_or_default();
        Ok(())
    }
}

/// How weight decay enters the update.
#[derive(Clone, Copy)]
enum Decay {
    None,
    L2,
    Decoupled,
}

// `Decay` as const-generic flags, so each kernel loop is branch-free.
const NONE: u8 = 0;
const L2: u8 = 1;
const DECOUPLED: u8 = 2;

/// The step's scalars, rounded to `T`.
struct Coeffs<T> {
    neg_step_size: T,
    bias_correction2_sqrt: T,
    shrink: T,
    wd: T,
    w1: T,
    beta2: T,
    w2: T,
    eps: T,
}

/// The update of one parameter; `SMALL` says which branch of `torch.lerp` the
/// weight `1 - β1` takes (it is the same for every element).
fn update<T: Real, const DECAY: u8, const SMALL: bool>(
    value: &mut [T],
    grad: &[T],
    exp_avg: &mut [T],
    exp_avg_sq: &mut [T],
    k: &Coeffs<T>,
) {
    let moments = exp_avg.iter_mut().zip(exp_avg_sq.iter_mut());
    for ((v, &g), (m, v2)) in value.iter_mut().zip(grad).zip(moments) {
        let mut d = g;
        if DECAY == DECOUPLED {
            *v *= k.shrink;
        } else if DECAY == L2 {
            d += k.wd * *v;
        }
        *m = lerp::<T, SMALL>(*m, d, k.w1);
        *v2 = *v2 * k.beta2 + k.w2 * d * d;
        let denom = v2.sqrt() / k.bias_correction2_sqrt + k.eps;
        *v += k.neg_step_size * *m / denom;
    }
}

/// `torch.lerp(start, end, weight)` as ATen computes it: the formula switches at
/// |weight| = 0.5 (`SMALL` below it) so that both ends are exact.
#[inline(always)]
fn lerp<T: Real, const SMALL: bool>(start: T, end: T, weight: T) -> T {
    if SMALL {
        start + weight * (end - start)
    } else {
        end - (end - start) * (T::ONE - weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;

    /// Runs one step per gradient on a single f64 parameter starting at `p0`.
    fn run(config: AdamConfig, p0: f64, grads: &[f64]) -> Vec<f64> {
        let mut s = Params::new();
        s.add_with_dims("w", Tensor::from_vec(1, 1, vec![p0]).unwrap(), vec![1])
            .unwrap();
        let mut opt = Adam::new(config).unwrap();
        let mut out = Vec::new();
        for &g in grads {
            s.iter_mut().next().unwrap().grad.as_mut_slice()[0] = g;
            opt.step(&mut s).unwrap();
            out.push(s.iter().next().unwrap().value.as_slice()[0]);
        }
        out
    }

    fn close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "got {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn adam_bias_correction_by_hand() {
        let got = run(AdamConfig::adam(0.1), 1.0, &[0.5, -0.25]);
        // step 1: m = 0.1*0.5 = 0.05, v = 0.001*0.25 = 0.00025,
        //         bc1 = 1 - 0.9 = 0.1, bc2 = 1 - 0.999 = 0.001
        let p1 = 1.0 - (0.1 / 0.1) * 0.05 / ((0.00025f64).sqrt() / (0.001f64).sqrt() + 1e-8);
        // step 2: m = 0.9*0.05 + 0.1*(-0.25) = 0.02,
        //         v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225,
        //         bc1 = 1 - 0.81 = 0.19, bc2 = 1 - 0.998001 = 0.001999
        let p2 = p1 - (0.1 / 0.19) * 0.02 / ((0.00031225f64).sqrt() / (0.001999f64).sqrt() + 1e-8);
        close(&got, &[p1, p2]);
        // The bias-corrected first step moves by lr·sign(g), up to eps.
        assert!((got[0] - 0.9).abs() < 1e-8);
    }

    #[test]
    fn adam_weight_decay_is_l2_on_the_gradient() {
        let c = AdamConfig {
            weight_decay: 0.5,
            ..AdamConfig::adam(0.1)
        };
        let got = run(c, 1.0, &[0.5, 0.5]);
        // step 1: d = 0.5 + 0.5*1 = 1, m = 0.1, v = 0.001
        let p1 = 1.0 - (0.1 / 0.1) * 0.1 / ((0.001f64).sqrt() / (0.001f64).sqrt() + 1e-8);
        // step 2: d = 0.5 + 0.5*p1
        let d = 0.5 + 0.5 * p1;
        let m = 0.9 * 0.1 + 0.1 * d;
        let v = 0.999 * 0.001 + 0.001 * d * d;
        let p2 = p1 - (0.1 / 0.19) * m / (v.sqrt() / (0.001999f64).sqrt() + 1e-8);
        close(&got, &[p1, p2]);
    }

    #[test]
    fn adamw_decays_the_weight_before_the_update() {
        let c = AdamConfig {
            weight_decay: 0.5,
            ..AdamConfig::adamw(0.1)
        };
        let got = run(c, 1.0, &[0.5, -0.25]);
        // step 1: p *= 1 - 0.1*0.5 = 0.95; the gradient is untouched, so the
        //         moments are those of the plain Adam test.
        let p1 = 1.0 * 0.95 - (0.1 / 0.1) * 0.05 / ((0.00025f64).sqrt() / (0.001f64).sqrt() + 1e-8);
        let p2 = p1 * 0.95
            - (0.1 / 0.19) * 0.02 / ((0.00031225f64).sqrt() / (0.001999f64).sqrt() + 1e-8);
        close(&got, &[p1, p2]);
    }

    #[test]
    fn adamw_defaults_are_pytorchs() {
        let c = AdamConfig::adamw(1e-3);
        assert_eq!(
            (c.beta1, c.beta2, c.eps, c.weight_decay),
            (0.9, 0.999, 1e-8, 0.01)
        );
        let c = AdamConfig::adam(1e-3);
        assert_eq!(
            (c.beta1, c.beta2, c.eps, c.weight_decay),
            (0.9, 0.999, 1e-8, 0.0)
        );
    }

    #[test]
    fn small_beta1_uses_the_other_lerp_branch() {
        let c = AdamConfig {
            beta1: 0.25,
            beta2: 0.5,
            ..AdamConfig::adam(0.1)
        };
        let got = run(c, 0.0, &[2.0, 1.0]);
        // step 1: m = 0.75*2 = 1.5, v = 0.5*4 = 2, bc1 = 0.75, bc2 = 0.5
        let p1 = 0.0 - (0.1 / 0.75) * 1.5 / ((2.0f64).sqrt() / (0.5f64).sqrt() + 1e-8);
        // step 2: m = 0.25*1.5 + 0.75*1 = 1.125, v = 0.5*2 + 0.5*1 = 1.5,
        //         bc1 = 1 - 0.0625 = 0.9375, bc2 = 1 - 0.25 = 0.75
        let p2 = p1 - (0.1 / 0.9375) * 1.125 / ((1.5f64).sqrt() / (0.75f64).sqrt() + 1e-8);
        close(&got, &[p1, p2]);
    }

    #[test]
    fn lerp_is_exact_at_both_ends() {
        assert_eq!(lerp::<f32, true>(0.3, 0.7, 0.0), 0.3);
        assert_eq!(lerp::<f32, false>(0.3, 0.7, 1.0), 0.7);
        assert_eq!(lerp::<f32, true>(1.0, 3.0, 0.25), 1.5);
        assert_eq!(lerp::<f32, false>(1.0, 3.0, 0.75), 2.5);
    }

    #[test]
    fn settings_are_validated() {
        let bad = |c: AdamConfig| Adam::<f32>::new(c).unwrap_err().to_string();
        let base = AdamConfig::adam(1e-3);
        assert_eq!(
            bad(AdamConfig { beta1: 1.0, ..base }),
            "adam: beta1 must be in [0, 1), got 1"
        );
        assert_eq!(
            bad(AdamConfig {
                beta2: -0.1,
                ..base
            }),
            "adam: beta2 must be in [0, 1), got -0.1"
        );
        assert_eq!(
            bad(AdamConfig { eps: 0.0, ..base }),
            "adam: eps must be greater than 0, got 0"
        );
        assert_eq!(
            bad(AdamConfig::adamw(f64::INFINITY)),
            "adamw: lr must be greater than 0, got inf"
        );
        assert_eq!(
            bad(AdamConfig {
                weight_decay: -1.0,
                ..base
            }),
            "adam: weight_decay must be 0 or more, got -1"
        );
    }
}
