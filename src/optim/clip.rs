//! Gradient clipping by the global norm, as PyTorch's `clip_grad_norm_`.

use crate::params::Params;
use crate::real::Real;

/// Scales every gradient by `max_norm / (total + 1e-6)` when that is below 1,
/// `total` being the Euclidean norm of all gradients together (the norm of
/// the per-parameter norms). Returns `total` and whether it clipped.
pub fn clip_grad_norm<T: Real>(params: &mut Params<T>, max_norm: f64) -> (f64, bool) {
    let total = params
        .iter()
        .map(|p| {
            let sq: f64 = p.grad.as_slice().iter().map(|g| g.to_f64().powi(2)).sum();
            sq
        })
        .sum::<f64>()
        .sqrt();
    let coef = max_norm / (total + 1e-6);
    if coef >= 1.0 {
        return (total, false);
    }
    let k = T::from_f64(coef);
    for p in params.iter_mut() {
        for g in p.grad.as_mut_slice() {
            *g *= k;
        }
    }
    (total, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    fn store(grads: &[&[f64]]) -> Params<f64> {
        let mut p = Params::new();
        for (i, g) in grads.iter().enumerate() {
            let id = p.add(format!("p{i}"), Tensor::zeros(1, g.len())).unwrap();
            p.get_mut(id).grad.as_mut_slice().copy_from_slice(g);
        }
        p
    }

    fn grads(p: &Params<f64>) -> Vec<f64> {
        p.iter().flat_map(|p| p.grad.as_slice().to_vec()).collect()
    }

    #[test]
    fn clips_as_clip_grad_norm_does() {
        // Norm of (3, 4, 12) is 13; clip_grad_norm_(max_norm=6.5) scales by
        // 6.5 / (13 + 1e-6).
        let mut p = store(&[&[3.0, 4.0], &[12.0]]);
        let (total, clipped) = clip_grad_norm(&mut p, 6.5);
        assert_eq!(total, 13.0);
        assert!(clipped);
        let k = 6.5 / (13.0 + 1e-6);
        assert_eq!(grads(&p), [3.0 * k, 4.0 * k, 12.0 * k]);
    }

    #[test]
    fn leaves_gradients_within_the_norm_alone() {
        let mut p = store(&[&[3.0, 4.0], &[12.0]]);
        // 13 / (13 + 1e-6) < 1 would clip; max_norm 13.00001 gives a coefficient above 1.
        assert_eq!(clip_grad_norm(&mut p, 13.00001), (13.0, false));
        assert_eq!(grads(&p), [3.0, 4.0, 12.0]);
        // Exactly at the norm, PyTorch's 1e-6 still scales (by just under 1).
        assert!(clip_grad_norm(&mut p, 13.0).1);
    }
}
