//! Max and average pooling over `kernel × kernel` windows, as PyTorch's
//! `max_pool2d` and `avg_pool2d` without padding (output sizes rounded down).
//! The max's gradient goes to the first maximum of its window in row-major
//! order, as PyTorch's does; backward finds it again rather than keeping it.

use super::conv::{check_input, check_window, out_size};
use crate::error::Result;
use crate::real::Real;
use crate::tape::{Back, NodeId, Op, Tape};

/// The shapes of a pooling: input `[c, h, w]`, window `kernel × kernel`, stride.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool2dGeom {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kernel: usize,
    pub stride: usize,
}

impl Pool2dGeom {
    /// Output rows: `(h − kernel) / stride + 1`, rounded down.
    pub fn out_h(&self) -> usize {
        out_size(self.h, self.kernel, self.stride)
    }

    /// Output columns, as [`Pool2dGeom::out_h`].
    pub fn out_w(&self) -> usize {
        out_size(self.w, self.kernel, self.stride)
    }

    /// Values per sample out: `c · out_h · out_w`.
    pub fn out_len(&self) -> usize {
        self.c * self.out_h() * self.out_w()
    }

    /// A stride or kernel of 0, no channels, or a kernel larger than the
    /// input are refused.
    pub fn validate(&self) -> Result<()> {
        check_window("pool2d", self.c, self.h, self.w, self.kernel, self.stride)
    }
}

/// Which pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pooling {
    Max,
    Avg,
}

impl<T: Real> Tape<T> {
    /// The maximum of each window, per channel: `[n, c·h·w] -> [n, c·out_h·out_w]`.
    /// A NaN in a window is its maximum, as in PyTorch.
    pub fn max_pool2d(&mut self, x: NodeId, g: Pool2dGeom) -> Result<NodeId> {
        self.pool(x, g, Pooling::Max)
    }

    /// The mean of each window, per channel.
    pub fn avg_pool2d(&mut self, x: NodeId, g: Pool2dGeom) -> Result<NodeId> {
        self.pool(x, g, Pooling::Avg)
    }

    fn pool(&mut self, x: NodeId, g: Pool2dGeom, kind: Pooling) -> Result<NodeId> {
        g.validate()?;
        let n = *self.node(x)?;
        check_input("pool2d", n.cols, g.c, g.h, g.w)?;
        let op = Op::Pool2d { x, g, kind };
        let id = self.push_uninit(op, n.rows, g.out_len(), n.needs_grad);
        let (before, out) = self.io(id);
        let inv = T::ONE / T::from_f64((g.kernel * g.kernel) as f64);
        let x = &before[n.range()];
        windows(&g, n.rows, |plane, at, o| {
            let xp = &x[plane..];
            out[o] = match kind {
                Pooling::Max => xp[first_max(xp, at, &g)],
                Pooling::Avg => window_sum(xp, at, &g) * inv,
            };
        });
        Ok(id)
    }
}

/// Calls `f(plane start, window's first index in the plane, output index)`
/// for every window of every channel of every sample, in output order.
#[inline(always)]
fn windows(g: &Pool2dGeom, n: usize, mut f: impl FnMut(usize, usize, usize)) {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut o = 0;
    for plane in 0..n * g.c {
        for oy in 0..oh {
            for ox in 0..ow {
                f(plane * g.h * g.w, oy * g.stride * g.w + ox * g.stride, o);
                o += 1;
            }
        }
    }
}

/// The index in the plane of the window's first maximum (row-major), a NaN
/// counting as the maximum.
#[inline(always)]
fn first_max<T: Real>(plane: &[T], at: usize, g: &Pool2dGeom) -> usize {
    let mut best = at;
    for r in 0..g.kernel {
        let row = at + r * g.w;
        for (j, &v) in plane[row..row + g.kernel].iter().enumerate() {
            let b = plane[best];
            #[allow(clippy::eq_op)]
            let nan = v != v && b == b;
            if v > b || nan {
                best = row + j;
            }
        }
    }
    best
}

#[inline(always)]
fn window_sum<T: Real>(plane: &[T], at: usize, g: &Pool2dGeom) -> T {
    let mut s = T::ZERO;
    for r in 0..g.kernel {
        let row = at + r * g.w;
        for &v in &plane[row..row + g.kernel] {
            s += v;
        }
    }
    s
}

/// Max: each output's gradient to its window's first maximum. Avg: spread
/// evenly over the window. Windows may overlap: contributions add.
pub(crate) fn backward<T: Real>(b: &mut Back<'_, T>, x: NodeId, g: Pool2dGeom, kind: Pooling) {
    let (gy, xv, n) = (b.gy, b.value(x), b.out.rows);
    let Some(d) = b.grads.of(x) else { return };
    let dx = d.zeroed();
    let inv = T::ONE / T::from_f64((g.kernel * g.kernel) as f64);
    windows(&g, n, |plane, at, o| match kind {
        Pooling::Max => dx[plane + first_max(&xv[plane..], at, &g)] += gy[o],
        Pooling::Avg => {
            let v = gy[o] * inv;
            for r in 0..g.kernel {
                let row = plane + at + r * g.w;
                dx[row..row + g.kernel].iter_mut().for_each(|d| *d += v);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;
    use crate::tensor::Tensor;

    #[test]
    fn the_max_gradient_goes_to_the_first_maximum_and_nan_wins() {
        // one 2x4 plane, two 2x2 windows: ties in the first, a NaN in the second
        let x = [1.0, 3.0, 2.0, 0.5, 3.0, 3.0, f64::NAN, 9.0];
        let mut params = Params::new();
        let id = params
            .add("x", Tensor::from_vec(1, 8, x.to_vec()).unwrap())
            .unwrap();
        let mut tape = Tape::new();
        let xn = tape.param(&params, id);
        let g = Pool2dGeom {
            c: 1,
            h: 2,
            w: 4,
            kernel: 2,
            stride: 2,
        };
        let y = tape.max_pool2d(xn, g).unwrap();
        let v = tape.value(y).unwrap();
        assert_eq!(v[0], 3.0);
        assert!(v[1].is_nan());
        let s = tape.sum(y).unwrap();
        tape.backward(s, &mut params).unwrap();
        assert_eq!(
            params.grad(id).as_slice(),
            &[0., 1., 0., 0., 0., 0., 1., 0.]
        );
    }

    #[test]
    fn output_sizes_round_down_as_pytorch() {
        let g = Pool2dGeom {
            c: 6,
            h: 28,
            w: 27,
            kernel: 2,
            stride: 2,
        };
        assert_eq!((g.out_h(), g.out_w()), (14, 13));
        let g = Pool2dGeom {
            c: 1,
            h: 5,
            w: 5,
            kernel: 3,
            stride: 1,
        };
        assert_eq!((g.out_h(), g.out_w(), g.out_len()), (3, 3, 9));
        let e = Pool2dGeom { kernel: 6, ..g }.validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "pool2d: a 6x6 kernel does not fit the 5x5 input (padding included)"
        );
    }
}
