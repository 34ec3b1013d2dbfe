//! Optimizer state as named buffers, for checkpoints.

use super::OptimError;
use crate::params::Params;
use crate::real::Real;
use std::collections::BTreeMap;

/// One state buffer, named `optim/<param>/<kind>` and shaped like its parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct StateBuffer<T> {
    pub name: String,
    pub dims: Vec<usize>,
    pub data: Vec<T>,
}

/// All an optimizer needs to continue exactly: its step count and its buffers.
///
/// Before the first step (`steps == 0`) there are no buffers, as in PyTorch,
/// whose state is empty until then.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct OptimState<T> {
    pub steps: u64,
    pub buffers: Vec<StateBuffer<T>>,
}

/// The checkpoint name of `param`'s buffer `kind` (e.g. `optim/h1.weight/exp_avg`).
pub fn buffer_name(param: &str, kind: &str) -> String {
    format!("optim/{param}/{kind}")
}

/// Names and shapes of the buffers `kinds` after `steps` steps, kind by kind.
pub(crate) fn layout<T: Real>(
    params: &Params<T>,
    kinds: &[&str],
    steps: u64,
) -> Vec<(String, Vec<usize>)> {
    if steps == 0 {
        return Vec::new();
    }
    kinds
        .iter()
        .flat_map(|kind| {
            params
                .iter()
                .map(move |p| (buffer_name(&p.name, kind), p.dims.clone()))
        })
        .collect()
}

/// Copies `buffers[k][i]` (kind `k`, parameter `i`) into a named state.
pub(crate) fn export<T: Real>(
    params: &Params<T>,
    steps: u64,
    kinds: &[&str],
    buffers: &[&[Vec<T>]],
) -> OptimState<T> {
    let mut out = Vec::new();
    if steps > 0 {
        for (kind, bufs) in kinds.iter().zip(buffers) {
            for (p, data) in params.iter().zip(bufs.iter()) {
                out.push(StateBuffer {
                    name: buffer_name(&p.name, kind),
                    dims: p.dims.clone(),
                    data: data.clone(),
                });
            }
        }
    }
    OptimState {
        steps,
        buffers: out,
    }
}

/// Takes the buffers `kinds` out of `state`, as `[kind][param]`, after checking
/// that they are exactly the ones `params` needs (all problems are listed).
pub(crate) fn take<T: Real>(
    optimizer: &'static str,
    params: &Params<T>,
    kinds: &[&str],
    state: OptimState<T>,
) -> Result<Vec<Vec<Vec<T>>>, OptimError> {
    let mut problems = Vec::new();
    let mut given: BTreeMap<String, StateBuffer<T>> = BTreeMap::new();
    for b in state.buffers {
        if given.contains_key(&b.name) {
            problems.push(format!("buffer `{}` appears twice", b.name));
        } else {
            given.insert(b.name.clone(), b);
        }
    }
    let mut out: Vec<Vec<Vec<T>>> = Vec::new();
    if state.steps > 0 {
        for kind in kinds {
            let mut per_param = Vec::with_capacity(params.len());
            for p in params.iter() {
                let name = buffer_name(&p.name, kind);
                match given.remove(&name) {
                    None => problems.push(format!("missing buffer `{name}`")),
                    Some(b) if b.dims != p.dims || b.data.len() != p.value.len() => {
                        problems.push(format!(
                            "buffer `{name}` has shape {:?} ({} values), expected {:?}",
                            b.dims,
                            b.data.len(),
                            p.dims
                        ))
                    }
                    Some(b) => per_param.push(b.data),
                }
            }
            out.push(per_param);
        }
    }
    for name in given.keys() {
        problems.push(format!("unexpected buffer `{name}`"));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(OptimError::BadState {
            optimizer,
            problems,
        })
    }
}

/// Checks that `params` still has the layout the buffers were sized from, and
/// that every gradient matches its value (a step must never read out of bounds
/// or silently skip elements).
pub(crate) fn check_store<T: Real>(
    optimizer: &'static str,
    params: &Params<T>,
    buffers: &[Vec<T>],
) -> Result<(), OptimError> {
    let changed = |detail: String| OptimError::StoreChanged { optimizer, detail };
    if !buffers.is_empty() && buffers.len() != params.len() {
        return Err(changed(format!(
            "{} parameters, the optimizer state has {}",
            params.len(),
            buffers.len()
        )));
    }
    for (i, p) in params.iter().enumerate() {
        if p.grad.len() != p.value.len() {
            return Err(changed(format!(
                "`{}` has {} values but a gradient of {}",
                p.name,
                p.value.len(),
                p.grad.len()
            )));
        }
        if let Some(b) = buffers.get(i)
            && b.len() != p.value.len()
        {
            return Err(changed(format!(
                "`{}` has {} values, its optimizer state {}",
                p.name,
                p.value.len(),
                b.len()
            )));
        }
    }
    Ok(())
}
