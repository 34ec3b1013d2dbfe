//! The training loop: shuffled batches on the tape, an optimizer step, and at
//! each evaluation point a metrics row, a checkpoint and the model, written
//! atomically into the run directory.

use super::early_stop::Watch;
use super::eval::{self, McScores, Scores};
use super::net::{Batch, Net};
use super::steering::Steering;
use super::{Config, Observer, TrainError};
use crate::checkpoint::{self, TrainState};
use crate::data::{self, Dataset, SearchDir, Split};
use crate::lang::lower::Mode;
use crate::lang::{Length, Model, lower};
use crate::optim::{Optimizer, OptimizerConfig};
use crate::params::Params;
use crate::run::{Row, RunDir, RunRecord, metadata, metrics};
use crate::tape::Tape;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub dir: PathBuf,
    pub rows: Vec<Row>,
    /// The last evaluation on the test split (dropout off).
    pub test: Scores,
    /// Monte-Carlo dropout on the test split, when the file asks for it.
    pub mc: Option<McScores>,
    pub steps: u64,
    /// Wall time of the whole command.
    pub wall: f64,
    /// Training samples per second of training time (evaluation excluded).
    pub samples_per_sec: f64,
    /// A resumed checkpoint was already at its last step: nothing was
    /// trained, the run's files were written again.
    pub nothing_left: bool,
    /// The observer stopped the run at an evaluation, before its last step
    /// (nobody was listening: the command line's stderr was closed); its
    /// checkpoint is written and resuming continues it.
    pub output_closed: bool,
    /// The row of the best validation evaluation (its weights are in
    /// `best.safetensors`), when the run holds out a validation split.
    pub best: Option<Row>,
    /// Early stopping ended the run (its metric had not improved for its
    /// `patience`).
    pub stopped_early: bool,
    /// Steps whose gradients were clipped, when the file clips them.
    pub clipped: Option<u64>,
}

/// Salts that split one seed into independent generator streams.
const SHUFFLE: u64 = 0x5348_5546;
const VALIDATION: u64 = 0x5641_4c49;
pub const DROPOUT_SALT: u64 = 0x4452_4f50;
pub const MC_SALT: u64 = 0x4d43_4d43;

/// A generator seed derived from the run's seed and a salt (SplitMix64).
pub fn stream(seed: u64, salt: u64) -> u64 {
    let mut z = seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Running sums of the current evaluation interval.
#[derive(Default)]
struct Interval {
    loss: f64,
    penalties: Vec<f64>,
    rows: usize,
    seconds: f64,
    clipped: u64,
}

/// Trains `model` as its file and `opts` say, writing the run directory and
/// telling `observer` how it goes.
pub fn train(
    model: &Model,
    opts: &Config,
    observer: &mut (dyn Observer + Send),
) -> Result<Outcome, TrainError> {
    let pool = pool_of(opts.threads)?;
    train_here(model, opts, observer, &pool)
}

/// The pool a run's work is shared on: `threads` threads, one on `--threads
/// 1`. Outside a pool of its own a run's parallel sections (the optimizer's
/// and the finiteness check's parts of a large parameter) would go to
/// rayon's global pool, a thread a core, on one thread too.
fn pool_of(threads: usize) -> Result<rayon::ThreadPool, TrainError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| TrainError::Settings(format!("cannot start {threads} threads: {e}")))
}

/// Runs `f` on `pool` when there is one, else on this thread.
fn on<R: Send>(pool: Option<&rayon::ThreadPool>, f: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

/// Whether the optimizer and the finiteness check share out a parameter of
/// `params` among the pool's threads (they do from a size on, however many
/// the pool has).
fn params_shared_out(params: &Params<f32>) -> bool {
    params
        .iter()
        .any(|p| crate::optim::part_of(p.value.len(), 1) < p.value.len())
}

fn train_here(
    model: &Model,
    opts: &Config,
    observer: &mut (dyn Observer + Send),
    pool: &rayon::ThreadPool,
) -> Result<Outcome, TrainError> {
    let wall = Instant::now();
    let dir = opts.dir.clone();
    let spec = &model.train;
    let mut seed = opts.seed.unwrap_or(spec.seed);
    let mut data = load_data(model, &opts.data_places)?;
    let mut params = lower::init_params::<f32>(model, seed)?;
    let net = Net::new(model, &params)?;
    let mut optim = make_optimizer(&spec.optimizer)?;
    let mut dropout_rng = Pcg64Mcg::seed_from_u64(stream(seed, DROPOUT_SALT));
    let labels: Vec<String> = model.loss.penalties.iter().map(|p| p.to_string()).collect();
    let mut step = 0u64;
    let mut rows = Vec::new();
    if let Some(path) = &opts.resume {
        let r = resume(path, opts.seed, labels.len(), &mut params, &mut optim)?;
        (seed, step, rows) = (r.seed, r.step, r.rows);
        dropout_rng = Pcg64Mcg::new(r.dropout);
    }
    // Carved by the run's seed, which a resumed run has only now.
    let val = carve_validation(model, &mut data, seed)?;
    let n = data.train.len();
    if n == 0 || data.test.is_empty() {
        return Err(TrainError::Settings(format!(
            "the data set `{}` has {} training and {} test samples; both must be non-empty",
            data.name,
            n,
            data.test.len()
        )));
    }
    let per_epoch = n.div_ceil(spec.batch) as u64;
    let total = match (opts.steps, opts.epochs, spec.length) {
        (Some(s), _, _) | (None, None, Length::Steps(s)) => s as u64,
        // An epoch count is any number a user types: the product may not fit.
        (None, Some(e), _) | (None, None, Length::Epochs(e)) => {
            (e as u64).checked_mul(per_epoch).ok_or_else(|| {
                TrainError::Settings(format!(
                    "{e} epochs of {per_epoch} steps are more steps than netc can count"
                ))
            })?
        }
    };
    if let Some(path) = opts.resume.as_ref().filter(|_| step > total) {
        return Err(TrainError::Resume {
            path: path.clone(),
            why: format!("it is at step {step}, past the {total} steps this run would take"),
        });
    }
    let every = spec.eval.every.map(|e| e as u64);
    let files = RunDir::new(&dir);
    let steering = Steering::new(model, &params, per_epoch, total)?;
    let base_lr = spec.optimizer.lr();
    let mut watch = Watch::new(&spec.controls);
    if let Some(w) = watch.as_mut() {
        w.replay(&rows);
    }
    // Only now, so that a refused resume leaves no directory behind.
    files.create()?;

    let mut tape = Tape::new();
    tape.set_threads(opts.threads);
    let mut batch = Batch::default();
    let mut order = Vec::new();
    let mut order_epoch = u64::MAX;
    let mut interval = Interval {
        penalties: vec![0.0; labels.len()],
        ..Interval::default()
    };
    let (mut train_secs, mut trained) = (0.0, 0usize);
    observer.started(total, step);
    if let Some(w) = absent_classes_warning(model, &data) {
        observer.warning(&w);
    }
    let mut last_test = rows.last().map(|r: &Row| Scores {
        loss: r.test_loss,
        acc: r.test_acc,
    });
    // A checkpoint of a finished run (killed before its model file was
    // written, say, or stopped early) has nothing left to train: its files
    // are written again.
    let stopped = watch.as_ref().is_some_and(Watch::should_stop);
    let finished_on_resume = (step == total || stopped) && opts.resume.is_some();
    let mut output_closed = false;
    let mut stopped_early = stopped;
    // The loop runs on the pool, so the thread recording a step is one of
    // those sharing each op's parts (its caches warm), not another waiting.
    // A net whose step shares nothing out runs its loop here instead: on a
    // pool it paid for the hand-offs alone (the MNIST epoch 2% slower on two
    // threads than on one). The first step tells, being the largest batch.
    // Such a net then trains as on one thread, its evaluations too: on the
    // pool, each moved the loop's buffers to another core and back (the
    // digits net, which evaluates every 29 steps, 3% slower on two threads).
    let first = total.min(step + 1);
    let mut steps = |until: u64, pool: Option<&rayon::ThreadPool>| -> Result<bool, TrainError> {
        if pool.is_none() {
            tape.set_threads(1);
        }
        while step < until && !stopped_early && !output_closed {
            let epoch = step / per_epoch;
            if epoch != order_epoch {
                let mut rng = Pcg64Mcg::seed_from_u64(stream(seed, SHUFFLE ^ epoch));
                data::shuffled_indices(n, &mut rng, &mut order);
                order_epoch = epoch;
            }
            let lo = ((step % per_epoch) as usize) * spec.batch;
            let idx = &order[lo..(lo + spec.batch).min(n)];

            let t0 = Instant::now();
            // The other threads spin through the step, ready for each op's parts.
            let (pass, loss) = crate::tape::awake(|| -> Result<_, TrainError> {
                steering.before_step(&mut optim, base_lr, step);
                tape.clear();
                let pass = net.record(
                    &mut tape,
                    &mut params,
                    &data.train,
                    idx,
                    &mut batch,
                    Mode::Train,
                    &mut dropout_rng,
                )?;
                let loss = tape.scalar(pass.loss)?;
                let stop = |(what, value): (String, f32)| TrainError::NonFinite {
                    step: step + 1,
                    epoch: epoch + 1,
                    what,
                    value,
                    kept: files.checkpoint.exists().then(|| files.checkpoint.clone()),
                };
                if !loss.is_finite() {
                    return Err(stop(non_finite_term(model, &tape, &pass)?));
                }
                // Sets the gradients (no zeroing pass before).
                tape.backward_replacing(pass.loss, &mut params)?;
                if let Some(bad) = non_finite_grad(&params) {
                    return Err(stop(bad));
                }
                interval.clipped += u64::from(steering.clip(&mut params));
                optim.step_max_norm(&mut params, steering.max_norms())?;
                Ok((pass, loss))
            })?;
            step += 1;

            let rows_in = idx.len();
            interval.loss += loss as f64 * rows_in as f64;
            for (sum, &p) in interval.penalties.iter_mut().zip(&pass.penalties) {
                *sum += tape.scalar(p)? as f64 * rows_in as f64;
            }
            interval.rows += rows_in;
            let dt = t0.elapsed().as_secs_f64();
            interval.seconds += dt;
            train_secs += dt;
            trained += rows_in;
            if step.is_multiple_of(32) {
                observer.stepped(
                    step,
                    interval.loss / interval.rows as f64,
                    trained as f64 / train_secs,
                );
            }

            let at_eval = step.is_multiple_of(per_epoch)
                || every.is_some_and(|e| step.is_multiple_of(e))
                || step == total;
            if at_eval {
                let (train_scores, val_scores, test_scores) = on(pool, || {
                    let mut scores =
                        |split| eval::evaluate(&net, &mut params, &mut tape, split, &mut batch);
                    let train_scores = scores(&data.train)?;
                    let val_scores = match &val {
                        Some(v) => Some(scores(v)?),
                        None => None,
                    };
                    Ok::<_, TrainError>((train_scores, val_scores, scores(&data.test)?))
                })?;
                let k = interval.rows.max(1) as f64;
                let row = Row {
                    epoch: step as f64 / per_epoch as f64,
                    step,
                    train_loss: interval.loss / k,
                    penalties: interval.penalties.iter().map(|p| p / k).collect(),
                    train_acc: train_scores.acc,
                    val_loss: val_scores.map(|v| v.loss),
                    val_acc: val_scores.and_then(|v| v.acc),
                    test_loss: test_scores.loss,
                    test_acc: test_scores.acc,
                    lr: Some(optim.lr()),
                    momentum: optim.momentum(),
                    clipped: steering.clips().then_some(interval.clipped),
                    seconds: interval.seconds,
                };
                let shown = observer.evaluated(&row, &labels);
                let improved = watch.as_mut().is_some_and(|w| w.observe(&row));
                rows.push(row);
                last_test = Some(test_scores);
                let state = train_state(step, per_epoch, &dropout_rng);
                let record = run_record(model, opts, seed, &state, total);
                if improved {
                    files.write_best(&record, &params)?;
                }
                files.write_evaluation(&record, &params, &optim, &state, &labels, &rows)?;
                observer.written(&files, &labels, &rows)?;
                stopped_early = watch.as_ref().is_some_and(Watch::should_stop);
                interval = Interval {
                    penalties: vec![0.0; labels.len()],
                    ..Interval::default()
                };
                if !shown {
                    // Nobody reads on: stop here, resumable from the checkpoint
                    // just written.
                    output_closed = true;
                    break;
                }
            }
        }
        Ok(tape.take_shared_out() || params_shared_out(&params))
    };
    let shared = pool.install(|| steps(first, Some(pool)))?;
    let pool = Some(pool).filter(|_| shared);
    on(pool, || steps(total, pool))?;
    if finished_on_resume {
        let state = train_state(step, per_epoch, &dropout_rng);
        let record = run_record(model, opts, seed, &state, total);
        files.write_evaluation(&record, &params, &optim, &state, &labels, &rows)?;
        observer.written(&files, &labels, &rows)?;
    }
    observer.finished();
    let test = match last_test {
        Some(t) => t,
        None => on(pool, || {
            eval::evaluate(&net, &mut params, &mut tape, &data.test, &mut batch)
        })?,
    };
    let mc = match spec.eval.mc_passes {
        Some(m) if !output_closed => {
            let mut rng = Pcg64Mcg::seed_from_u64(stream(seed, MC_SALT));
            Some(on(pool, || {
                eval::evaluate_mc(
                    &net,
                    &mut params,
                    &mut tape,
                    &data.test,
                    &mut batch,
                    m,
                    &mut rng,
                )
            })?)
        }
        _ => None,
    };
    let best = watch
        .as_ref()
        .and_then(Watch::best)
        .and_then(|i| rows.get(i).cloned());
    let clipped = steering
        .clips()
        .then(|| rows.iter().filter_map(|r| r.clipped).sum());
    Ok(Outcome {
        best,
        stopped_early,
        clipped,
        output_closed,
        nothing_left: finished_on_resume,
        dir,
        rows,
        test,
        mc,
        steps: step,
        wall: wall.elapsed().as_secs_f64(),
        samples_per_sec: if train_secs > 0.0 {
            trained as f64 / train_secs
        } else {
            0.0
        },
    })
}

/// Classes the label declares that the training split never has: the net
/// cannot learn them, and a `classes(n)` too large is often a typo.
fn absent_classes_warning(model: &Model, data: &Dataset) -> Option<String> {
    const SHOWN: usize = 10;
    let (count, first) = data.absent_classes(SHOWN);
    if count == 0 {
        return None;
    }
    let mut names: Vec<String> = first.iter().map(u32::to_string).collect();
    if count > names.len() {
        names.push(format!("{} more", count - names.len()));
    }
    let list = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    };
    let (these, occur) = if count == 1 {
        ("class", "never occurs")
    } else {
        ("classes", "never occur")
    };
    Some(format!(
        "`{}` declares `label {}: {}`, but {these} {list} {occur} in the {} training samples of `{}`: the net cannot learn {}",
        model.path,
        model.label.name,
        model.label.kind,
        data.train.len(),
        data.name,
        if count == 1 { "it" } else { "them" }
    ))
}

/// Holds out the file's `validation` samples of the training split, chosen
/// by a shuffle seeded from the run's seed; `None` without one.
fn carve_validation(
    model: &Model,
    data: &mut Dataset,
    seed: u64,
) -> Result<Option<Split>, TrainError> {
    let Some(v) = model.train.controls.validation else {
        return Ok(None);
    };
    let n = data.train.len();
    let held = v.count(n);
    if held >= n {
        return Err(TrainError::Settings(format!(
            "`validation` holds out {held} of the {n} training samples of `{}`: none would be left to train on",
            data.name
        )));
    }
    let (kept, out) = data::carve(n, held, stream(seed, VALIDATION));
    let val = data.train.select(&out)?;
    data.train = data.train.select(&kept)?;
    Ok(Some(val))
}

/// Where the run is, for its checkpoint.
fn train_state(step: u64, per_epoch: u64, dropout: &Pcg64Mcg) -> TrainState {
    TrainState {
        step,
        epoch: step / per_epoch,
        rngs: BTreeMap::from([("dropout".to_string(), dropout.state())]),
    }
}

/// Loads the file's data source for this net's input width and labels,
/// looking for a named set in `places`, in order, and normalised by its
/// training split's statistics if the source says so (recomputed on every
/// load, so evaluation sees what training saw).
pub fn load_data(model: &Model, places: &[SearchDir]) -> Result<Dataset, TrainError> {
    let mut set = data::load(
        &model.train.data,
        model.input.features,
        model.label.kind,
        places,
    )?;
    if model.train.normalize {
        set.normalize()?;
    }
    Ok(set)
}

/// The optimizer a file's `optimizer:` names.
pub fn make_optimizer(spec: &OptimizerConfig) -> Result<Optimizer<f32>, TrainError> {
    Ok(Optimizer::new(*spec)?)
}

/// The first term of the loss that is not finite (data term first, then penalties).
fn non_finite_term(
    model: &Model,
    tape: &Tape<f32>,
    pass: &crate::lang::lower::Pass,
) -> Result<(String, f32), TrainError> {
    let data = tape.scalar(pass.data)?;
    if !data.is_finite() {
        let d = &model.loss.data;
        return Ok((
            format!(
                "the loss term `{}({}, {})`",
                d.kind.name(),
                d.on,
                model.label.name
            ),
            data,
        ));
    }
    for (p, &id) in model.loss.penalties.iter().zip(&pass.penalties) {
        let v = tape.scalar(id)?;
        if !v.is_finite() {
            return Ok((format!("the penalty term `{p}`"), v));
        }
    }
    Ok(("the loss".to_string(), tape.scalar(pass.loss)?))
}

/// The first parameter whose gradient holds a NaN or infinity. The check
/// runs every step over every gradient, so its parts are shared out among
/// the pool's threads.
fn non_finite_grad(params: &Params<f32>) -> Option<(String, f32)> {
    use rayon::prelude::*;
    params.iter().find_map(|p| {
        let grad = p.grad.as_slice();
        // Parts as the optimizer's passes take them: a small gradient (the
        // MNIST net's) is not worth a hand-over.
        let part = crate::optim::part_of(grad.len(), 1);
        let finite = if part >= grad.len() {
            crate::real::all_finite(grad)
        } else {
            grad.par_chunks(part).all(crate::real::all_finite)
        };
        if finite {
            return None;
        }
        let bad = p.grad.as_slice().iter().copied().find(|v| !v.is_finite())?;
        Some((format!("the gradient of `{}`", p.name), bad))
    })
}

/// What the run's files record about it.
fn run_record(
    model: &Model,
    opts: &Config,
    seed: u64,
    state: &TrainState,
    total: u64,
) -> RunRecord {
    RunRecord {
        net: model.source.clone(),
        net_name: model.name.clone(),
        seed,
        epoch: state.epoch,
        step: state.step,
        total_steps: total,
        overrides: opts.overrides.clone(),
    }
}

struct Resumed {
    seed: u64,
    step: u64,
    dropout: u128,
    rows: Vec<Row>,
}

fn resume(
    path: &Path,
    seed_asked: Option<u64>,
    penalties: usize,
    params: &mut Params<f32>,
    optim: &mut Optimizer<f32>,
) -> Result<Resumed, TrainError> {
    let err = |why: String| TrainError::Resume {
        path: path.to_path_buf(),
        why,
    };
    let loaded = checkpoint::load_checkpoint(path, params, optim, &["dropout"])?;
    let seed = metadata::number(&loaded.metadata, metadata::SEED)
        .ok_or_else(|| err("it records no seed (is it a netc checkpoint?)".into()))?;
    if let Some(asked) = seed_asked.filter(|&s| s != seed) {
        return Err(TrainError::SeedMismatch {
            path: path.to_path_buf(),
            recorded: seed,
            asked,
        });
    }
    let rows = loaded
        .metadata
        .get(metadata::METRICS)
        .and_then(|m| metrics::read(m))
        .filter(|(labels, _)| labels.len() == penalties)
        .map(|(_, rows)| rows)
        .ok_or_else(|| err("its metrics do not match this net's penalty terms".into()))?;
    let dropout = *loaded
        .state
        .rngs
        .get("dropout")
        .ok_or_else(|| err("it holds no dropout generator state".into()))?;
    Ok(Resumed {
        seed,
        step: loaded.state.step,
        dropout,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;

    /// A bad value in any part of a gradient larger than a thread's share
    /// is found, and named with its parameter, on two threads as on one.
    #[test]
    fn a_non_finite_gradient_is_found_in_any_part() {
        let n = (1 << 18) + (3 << 15);
        for (at, bad) in [
            (None, 0.0),
            (Some(0), f32::NAN),
            (Some(n - 1), f32::INFINITY),
        ] {
            let mut params = Params::<f32>::new();
            params.add("a", Tensor::from_fn(1, 5, |_, _| 1.0)).unwrap();
            let b = params.add("b", Tensor::from_fn(1, n, |_, _| 1.0)).unwrap();
            if let Some(i) = at {
                params.get_mut(b).grad.as_mut_slice()[i] = bad;
            }
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let found = pool.install(|| non_finite_grad(&params));
                match at {
                    None => assert!(found.is_none()),
                    Some(_) => {
                        let (name, v) = found.unwrap();
                        assert_eq!(name, "the gradient of `b`");
                        assert_eq!(v.to_bits(), bad.to_bits());
                    }
                }
            }
        }
    }

    /// Where the loop ran its steps: the pool's thread index (`None` off the
    /// pool), and the threads its parallel sections would use.
    #[derive(Default)]
    struct Threads(Vec<(Option<usize>, usize)>);

    impl Observer for Threads {
        fn stepped(&mut self, _: u64, _: f64, _: f64) {
            self.0
                .push((rayon::current_thread_index(), rayon::current_num_threads()));
        }
    }

    fn threads_of(body: &str, threads: usize) -> Vec<(Option<usize>, usize)> {
        let text = format!(
            "net t v1\n{body}\nloss = cross_entropy(out, y)\ntrain {{\n    \
             data: synthetic(samples: 128)\n    batch: 64\n    steps: 64\n    \
             optimizer: sgd(lr: 0.01)\n}}\n"
        );
        let model = crate::lang::parse_and_check("t.net", &text).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let config = Config {
            dir: tmp.path().join("run"),
            threads,
            ..Config::default()
        };
        let mut seen = Threads::default();
        train(&model, &config, &mut seen).unwrap();
        assert_eq!(seen.0.len(), 2);
        seen.0
    }

    /// On two threads a net whose step shares nothing out trains on the
    /// calling thread, and one whose convolution splits trains on the pool.
    #[test]
    fn the_loop_runs_on_the_pool_only_when_a_step_shares_work_out() {
        let small = threads_of("input x: 4\nlabel y: classes(2)\nout = linear(x, 2)", 2);
        assert!(small.iter().all(|&(at, _)| at.is_none()), "{small:?}");
        let conv = threads_of(
            "input x: 1x28x28\nlabel y: classes(2)\nc = conv2d(x, 6, 5, padding: 2)\n\
             out = linear(flatten(c), 2)",
            2,
        );
        assert!(
            conv.iter().all(|&(at, n)| at.is_some() && n == 2),
            "{conv:?}"
        );
    }

    /// On one thread, a net with a parameter large enough for the optimizer
    /// to share out trains on a pool of one thread, not next to rayon's
    /// global pool (a thread a core), which would take those parts.
    #[test]
    fn one_thread_is_one_thread_for_the_optimizer_too() {
        let wide = "input x: 1024\nlabel y: classes(2)\nh = relu(linear(x, 300))\n\
                    out = linear(h, 2)";
        assert!(
            crate::optim::part_of(300 * 1024, 1) < 300 * 1024,
            "shared out"
        );
        let seen = threads_of(wide, 1);
        assert!(
            seen.iter().all(|&(at, n)| at.is_some() && n == 1),
            "{seen:?}"
        );
    }
}
