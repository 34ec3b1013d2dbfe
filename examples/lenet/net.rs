//! LeNet built on the tape by hand (no `.net` file), shared by the `lenet`
//! example and the `step/lenet` bench: conv 6@5×5 (padding 2) → relu →
//! max-pool 2 → conv 16@5×5 → relu → max-pool 2 → 120 → relu → dropout 0.5 →
//! 84 → relu → 10, log_softmax + nll, on `[1, 28, 28]` images.

use netc::{
    Conv2d, Conv2dGeom, DropoutMode, Linear, NodeId, Params, Phase, Pool2dGeom, Tape, Tensor,
};

/// The layers of LeNet, their parameters in a store of the caller's.
pub struct LeNet {
    c1: Conv2d,
    c2: Conv2d,
    f1: Linear,
    f2: Linear,
    f3: Linear,
}

const POOL1: Pool2dGeom = Pool2dGeom {
    c: 6,
    h: 28,
    w: 28,
    kernel: 2,
    stride: 2,
};
const POOL2: Pool2dGeom = Pool2dGeom {
    c: 16,
    h: 10,
    w: 10,
    kernel: 2,
    stride: 2,
};

impl LeNet {
    /// Adds the parameters, PyTorch's initialisation, seeded by `rng`.
    pub fn new<R: rand::Rng>(params: &mut Params<f32>, rng: &mut R) -> netc::Result<Self> {
        let conv = |in_c, in_h, out_c, padding| Conv2dGeom {
            in_c,
            in_h,
            in_w: in_h,
            out_c,
            kernel: 5,
            stride: 1,
            padding,
        };
        Ok(LeNet {
            c1: Conv2d::new(params, "c1", conv(1, 28, 6, 2), true, rng)?,
            c2: Conv2d::new(params, "c2", conv(6, 14, 16, 0), true, rng)?,
            f1: Linear::new(params, "f1", 400, 120, true, rng)?,
            f2: Linear::new(params, "f2", 120, 84, true, rng)?,
            f3: Linear::new(params, "f3", 84, 10, true, rng)?,
        })
    }

    /// Records a training pass on the batch `x` `[n, 784]`; returns the loss.
    pub fn record<R: rand::Rng>(
        &self,
        tape: &mut Tape<f32>,
        params: &Params<f32>,
        x: &Tensor<f32>,
        y: &[u32],
        rng: &mut R,
    ) -> netc::Result<NodeId> {
        let h = tape.input(x);
        let h = self.c1.forward(tape, params, h)?;
        let h = tape.relu(h)?;
        let h = tape.max_pool2d(h, POOL1)?;
        let h = self.c2.forward(tape, params, h)?;
        let h = tape.relu(h)?;
        let h = tape.max_pool2d(h, POOL2)?;
        let h = self.f1.forward(tape, params, h)?;
        let h = tape.relu(h)?;
        let h = tape.dropout(h, 0.5, DropoutMode::Inverted, Phase::Train, rng)?;
        let h = self.f2.forward(tape, params, h)?;
        let h = tape.relu(h)?;
        let z = self.f3.forward(tape, params, h)?;
        let lp = tape.log_softmax(z)?;
        tape.nll(lp, y)
    }
}
