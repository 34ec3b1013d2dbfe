//! A split's samples as held in memory (train or test), and batching from them.
//!
//! Pixel data stays as bytes (MNIST's 60000 images are 47 MB as u8, 188 MB as
//! f32) and is converted to f32 one batch at a time, by a 256-entry table that
//! holds each byte's scaled (and, if asked, normalised) value. A batch is
//! gathered straight from the stored rows into the caller's buffers: nothing
//! is allocated per batch.

use super::LabelKind;
use super::error::DataError;
use crate::real::first_non_finite;

/// Rows per evaluation batch: big enough for fast matmuls, small enough to keep
/// the tape a few MB. Here, below `train` and `lang`, for both: evaluation
/// batches by it, and the memory estimate counts a tape of that many rows.
pub const EVAL_BATCH: usize = 1000;

/// How a split holds its inputs.
#[derive(Clone, Debug, PartialEq)]
enum Inputs {
    /// Bytes; a byte `b` means the value `b * scale`.
    Bytes { data: Vec<u8>, scale: f64 },
    /// Values as they are (CSV, synthetic).
    Floats(Vec<f32>),
}

/// The labels of a split, one per sample.
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    /// Class indices, each below the set's number of classes.
    Classes(Vec<u32>),
    /// Regression targets, `width` values per sample, row-major.
    Targets { width: usize, values: Vec<f32> },
}

impl Labels {
    /// Number of samples labelled.
    pub fn len(&self) -> usize {
        match self {
            Labels::Classes(c) => c.len(),
            Labels::Targets { width, values } => values.len() / (*width).max(1),
        }
    }

    /// True when there are no labels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Labels of `kind` for `n` samples that have none (class 0, targets
    /// 0): a pass needs some, and a prediction does not use them.
    pub fn zeros(kind: LabelKind, n: usize) -> Labels {
        match kind {
            LabelKind::Classes(_) => Labels::Classes(vec![0; n]),
            LabelKind::Targets(width) => Labels::Targets {
                width,
                values: vec![0.0; n * width],
            },
        }
    }
}

/// How byte inputs become f32: by arithmetic that vectorises when it gives
/// exactly the table's values (it does for 1/255 and 1/16), else by the table.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ByteConvert {
    /// `b * factor`, then the normalisation.
    Multiply(f32),
    /// `b / divisor`, then the normalisation.
    Divide(f32),
    /// `table[b]` (the table includes the normalisation).
    Table,
}

/// An affine normalisation of every input value: `(x - mean) / std`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalization {
    pub mean: f32,
    pub std: f32,
}

impl Normalization {
    /// The normalised value of `x`.
    #[inline(always)]
    fn apply(self, x: f32) -> f32 {
        (x - self.mean) / self.std
    }
}

/// One split of a data set: `len()` samples of `features()` values and their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    rows: usize,
    features: usize,
    inputs: Inputs,
    labels: Labels,
    normalization: Option<Normalization>,
    /// For byte inputs: the f32 value of each byte, scaled and normalised.
    /// It defines the values; `convert` is a faster way to the same bits.
    table: Box<[f32; 256]>,
    convert: ByteConvert,
}

impl Split {
    /// A split of byte inputs (`rows * features` of them, row-major), each byte
    /// `b` standing for `b * scale` (e.g. 1/255 for pixels).
    pub fn from_bytes(
        features: usize,
        data: Vec<u8>,
        scale: f64,
        labels: Labels,
    ) -> Result<Split, DataError> {
        let rows = check_shape(features, data.len(), &labels)?;
        if !(scale.is_finite() && scale > 0.0) {
            return Err(DataError::Shape(format!(
                "the byte scale must be a positive number, got {scale}"
            )));
        }
        let mut split = Split {
            rows,
            features,
            inputs: Inputs::Bytes { data, scale },
            labels,
            normalization: None,
            table: Box::new([0.0; 256]),
            convert: ByteConvert::Table,
        };
        split.build_table();
        Ok(split)
    }

    /// A split of f32 inputs (`rows * features` of them, row-major).
    pub fn from_floats(
        features: usize,
        data: Vec<f32>,
        labels: Labels,
    ) -> Result<Split, DataError> {
        let rows = check_shape(features, data.len(), &labels)?;
        // A NaN input would reach the loss through every op (ReLU passes it
        // on, as PyTorch's does); refused here, it is named where it stands.
        if let Some((row, col, v)) = first_non_finite(&data, features) {
            return Err(DataError::Shape(format!(
                "sample {row}, feature {col} is {v}: inputs must be finite numbers"
            )));
        }
        if let Labels::Targets { width, values } = &labels
            && let Some((row, col, v)) = first_non_finite(values, *width)
        {
            return Err(DataError::Shape(format!(
                "sample {row}, target {col} is {v}: targets must be finite numbers"
            )));
        }
        Ok(Split {
            rows,
            features,
            inputs: Inputs::Floats(data),
            labels,
            normalization: None,
            table: Box::new([0.0; 256]),
            convert: ByteConvert::Table,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True for a split without samples (never for a constructed one).
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Values per sample.
    pub fn features(&self) -> usize {
        self.features
    }

    /// The labels of every sample.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// The class labels, if the split has classes.
    pub fn classes(&self) -> Option<&[u32]> {
        match &self.labels {
            Labels::Classes(c) => Some(c),
            Labels::Targets { .. } => None,
        }
    }

    /// The raw bytes and their scale, if the split stores bytes.
    pub fn bytes(&self) -> Option<(&[u8], f64)> {
        match &self.inputs {
            Inputs::Bytes { data, scale } => Some((data, *scale)),
            Inputs::Floats(_) => None,
        }
    }

    /// The normalisation applied by the gather functions, if any.
    pub fn normalization(&self) -> Option<Normalization> {
        self.normalization
    }

    /// Makes every gathered value `(x - mean) / std` (or the plain scaled
    /// value with `None`). A non-positive or non-finite `std` is refused.
    pub fn set_normalization(&mut self, norm: Option<Normalization>) -> Result<(), DataError> {
        if let Some(n) = norm
            && !(n.mean.is_finite() && n.std.is_finite() && n.std > 0.0)
        {
            return Err(DataError::Shape(format!(
                "normalisation needs a finite mean and a positive std, got mean {} std {}",
                n.mean, n.std
            )));
        }
        self.normalization = norm;
        self.build_table();
        Ok(())
    }

    /// Mean and standard deviation (population) of every input value, scaled
    /// but not normalised. A constant split reports std 1, so normalising by
    /// it only centres the data.
    pub fn input_stats(&self) -> Normalization {
        let (mean, var) = match &self.inputs {
            Inputs::Bytes { data, scale } => {
                // A histogram makes this exact and one cheap pass.
                let mut counts = [0u64; 256];
                for &b in data {
                    counts[usize::from(b)] += 1;
                }
                let n = data.len() as f64;
                let value = |b: usize| b as f64 * scale;
                let mean = (0..256).map(|b| counts[b] as f64 * value(b)).sum::<f64>() / n;
                let var = (0..256)
                    .map(|b| counts[b] as f64 * (value(b) - mean).powi(2))
                    .sum::<f64>()
                    / n;
                (mean, var)
            }
            Inputs::Floats(data) => {
                let n = data.len() as f64;
                let mean = data.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
                let var = data
                    .iter()
                    .map(|&v| (f64::from(v) - mean).powi(2))
                    .sum::<f64>()
                    / n;
                (mean, var)
            }
        };
        let std = var.sqrt() as f32;
        Normalization {
            mean: mean as f32,
            std: if std > 0.0 && std.is_finite() {
                std
            } else {
                1.0
            },
        }
    }

    /// Writes the inputs of the samples `indices` into `x_out`
    /// (`indices.len() * features()` values, row-major), as f32.
    pub fn gather_inputs(&self, indices: &[usize], x_out: &mut [f32]) -> Result<(), DataError> {
        let f = self.features;
        self.check_out("x_out", indices.len(), f, x_out.len())?;
        for (k, (&i, out)) in indices.iter().zip(x_out.chunks_exact_mut(f)).enumerate() {
            self.check_index(i)?;
            let start = i * f;
            match &self.inputs {
                Inputs::Bytes { data, .. } => {
                    // Rows are scattered over a large set: ask for a later row
                    // now so it is in cache when its turn comes.
                    if let Some(&next) = indices.get(k + PREFETCH_AHEAD)
                        && next < self.rows
                    {
                        prefetch(&data[next * f..(next + 1) * f]);
                    }
                    self.convert_row(&data[start..start + f], out);
                }
                Inputs::Floats(data) => {
                    let row = &data[start..start + f];
                    match self.normalization {
                        None => out.copy_from_slice(row),
                        Some(n) => {
                            for (o, &v) in out.iter_mut().zip(row) {
                                *o = n.apply(v);
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Converts one row of bytes to f32 values (scaled, normalised).
    #[inline(always)]
    fn convert_row(&self, row: &[u8], out: &mut [f32]) {
        match self.convert {
            ByteConvert::Multiply(factor) => {
                for (o, &b) in out.iter_mut().zip(row) {
                    *o = f32::from(b) * factor;
                }
            }
            ByteConvert::Divide(divisor) => {
                for (o, &b) in out.iter_mut().zip(row) {
                    *o = f32::from(b) / divisor;
                }
            }
            ByteConvert::Table => {
                // A 256-entry array indexed by a byte: no bounds check.
                let table: &[f32; 256] = &self.table;
                for (o, &b) in out.iter_mut().zip(row) {
                    *o = table[usize::from(b)];
                }
                return;
            }
        }
        if let Some(n) = self.normalization {
            for o in out.iter_mut() {
                *o = n.apply(*o);
            }
        }
    }

    /// Gathers a batch of a split with class labels: inputs into `x_out`,
    /// classes into `y_out` (`indices.len()` of them).
    pub fn gather(
        &self,
        indices: &[usize],
        x_out: &mut [f32],
        y_out: &mut [u32],
    ) -> Result<(), DataError> {
        let Labels::Classes(classes) = &self.labels else {
            return Err(DataError::Shape(
                "this split has regression targets, not classes".into(),
            ));
        };
        self.check_out("y_out", indices.len(), 1, y_out.len())?;
        self.gather_inputs(indices, x_out)?;
        for (&i, y) in indices.iter().zip(y_out.iter_mut()) {
            *y = classes[i];
        }
        Ok(())
    }

    /// Gathers a batch of a split with regression targets: inputs into
    /// `x_out`, targets into `y_out` (`indices.len() * width` of them).
    pub fn gather_targets(
        &self,
        indices: &[usize],
        x_out: &mut [f32],
        y_out: &mut [f32],
    ) -> Result<(), DataError> {
        let Labels::Targets { width, values } = &self.labels else {
            return Err(DataError::Shape(
                "this split has classes, not regression targets".into(),
            ));
        };
        let w = *width;
        self.check_out("y_out", indices.len(), w, y_out.len())?;
        self.gather_inputs(indices, x_out)?;
        for (&i, y) in indices.iter().zip(y_out.chunks_exact_mut(w)) {
            y.copy_from_slice(&values[i * w..(i + 1) * w]);
        }
        Ok(())
    }

    /// A new split holding the samples `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Result<Split, DataError> {
        for &i in indices {
            self.check_index(i)?;
        }
        let f = self.features;
        let labels = match &self.labels {
            Labels::Classes(c) => Labels::Classes(indices.iter().map(|&i| c[i]).collect()),
            Labels::Targets { width, values } => Labels::Targets {
                width: *width,
                values: indices
                    .iter()
                    .flat_map(|&i| &values[i * width..(i + 1) * width])
                    .copied()
                    .collect(),
            },
        };
        let mut split = match &self.inputs {
            Inputs::Bytes { data, scale } => {
                let rows = indices.iter().flat_map(|&i| &data[i * f..(i + 1) * f]);
                Split::from_bytes(f, rows.copied().collect(), *scale, labels)?
            }
            Inputs::Floats(data) => {
                let rows = indices.iter().flat_map(|&i| &data[i * f..(i + 1) * f]);
                Split::from_floats(f, rows.copied().collect(), labels)?
            }
        };
        split.set_normalization(self.normalization)?;
        Ok(split)
    }

    /// Recomputes the byte table after a change of scale or normalisation,
    /// and picks the fastest conversion that reproduces it bit for bit.
    fn build_table(&mut self) {
        let Inputs::Bytes { scale, .. } = self.inputs else {
            return;
        };
        let norm = self.normalization;
        // In f64 then rounded once: for scale 1/255 this is exactly the f32
        // quotient `b / 255.0` a reference implementation computes.
        let scaled: [f32; 256] = std::array::from_fn(|b| (b as f64 * scale) as f32);
        for (entry, &x) in self.table.iter_mut().zip(&scaled) {
            *entry = norm.map_or(x, |n| n.apply(x));
        }
        let factor = scale as f32;
        let divisor = (1.0 / scale) as f32;
        let all = |f: &dyn Fn(f32) -> f32| (0..256).all(|b| f(b as f32) == scaled[b]);
        self.convert = if all(&|b| b * factor) {
            ByteConvert::Multiply(factor)
        } else if all(&|b| b / divisor) {
            ByteConvert::Divide(divisor)
        } else {
            ByteConvert::Table
        };
    }

    fn check_index(&self, i: usize) -> Result<(), DataError> {
        if i >= self.rows {
            return Err(DataError::Shape(format!(
                "sample index {i} is out of range for a split of {}",
                self.rows
            )));
        }
        Ok(())
    }

    fn check_out(&self, name: &str, n: usize, width: usize, len: usize) -> Result<(), DataError> {
        if n.checked_mul(width) != Some(len) {
            return Err(DataError::Shape(format!(
                "{name} holds {len} values, a batch of {n} needs {n} x {width}"
            )));
        }
        Ok(())
    }
}

/// How many rows ahead of the one being converted to prefetch.
const PREFETCH_AHEAD: usize = 4;

/// Hints the processor to bring `row` into cache; a hint only, so it cannot
/// change a result.
#[inline(always)]
fn prefetch(row: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in row.chunks(64) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch never faults and reads nothing observable; the
        // pointer is in bounds anyway, and SSE is part of every x86_64.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// Checks `len` input values of width `features` against the labels, and
/// returns the number of samples.
fn check_shape(features: usize, len: usize, labels: &Labels) -> Result<usize, DataError> {
    if features == 0 {
        return Err(DataError::Shape(
            "a sample needs at least one feature".into(),
        ));
    }
    if let Labels::Targets { width: 0, .. } = labels {
        return Err(DataError::Shape(
            "regression targets need a width of at least 1".into(),
        ));
    }
    if !len.is_multiple_of(features) {
        return Err(DataError::Shape(format!(
            "{len} input values are not a whole number of samples of {features}"
        )));
    }
    let rows = len / features;
    if let Labels::Targets { width, values } = labels
        && rows.checked_mul(*width) != Some(values.len())
    {
        return Err(DataError::Shape(format!(
            "{} target values for {rows} samples of width {width}",
            values.len()
        )));
    }
    if labels.len() != rows {
        return Err(DataError::Shape(format!(
            "{} labels for {rows} samples",
            labels.len()
        )));
    }
    if rows == 0 {
        return Err(DataError::Shape("a split needs at least one sample".into()));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_split() -> Split {
        let data = vec![0, 255, 51, 102, 7, 8];
        Split::from_bytes(2, data, 1.0 / 255.0, Labels::Classes(vec![1, 0, 2])).unwrap()
    }

    #[test]
    fn gathers_rows_in_index_order_scaled() {
        let s = bytes_split();
        let mut x = [0.0f32; 4];
        let mut y = [0u32; 2];
        s.gather(&[2, 0], &mut x, &mut y).unwrap();
        assert_eq!(x, [7.0 / 255.0, 8.0 / 255.0, 0.0, 1.0]);
        assert_eq!(y, [2, 1]);
    }

    #[test]
    fn byte_values_equal_f32_division() {
        let data: Vec<u8> = (0..=255).collect();
        let s = Split::from_bytes(1, data, 1.0 / 255.0, Labels::Classes(vec![0; 256])).unwrap();
        let idx: Vec<usize> = (0..256).collect();
        let mut x = vec![0.0f32; 256];
        s.gather_inputs(&idx, &mut x).unwrap();
        for (b, v) in x.iter().enumerate() {
            assert_eq!(*v, b as f32 / 255.0, "byte {b}");
        }
    }

    #[test]
    fn fast_conversions_give_the_table_bits() {
        let data: Vec<u8> = (0..=255).collect();
        let idx: Vec<usize> = (0..256).collect();
        let norm = Some(Normalization {
            mean: 0.1307,
            std: 0.3081,
        });
        for scale in [
            1.0 / 255.0,
            1.0 / 16.0,
            0.1,
            1.0 / 3.0,
            1.0,
            0.3,
            std::f64::consts::PI,
        ] {
            for n in [None, norm] {
                let mut s =
                    Split::from_bytes(1, data.clone(), scale, Labels::Classes(vec![0; 256]))
                        .unwrap();
                s.set_normalization(n).unwrap();
                let mut x = vec![0.0f32; 256];
                s.gather_inputs(&idx, &mut x).unwrap();
                for (b, got) in x.iter().enumerate() {
                    let v = (b as f64 * scale) as f32;
                    let v = n.map_or(v, |n| (v - n.mean) / n.std);
                    assert_eq!(got.to_bits(), v.to_bits(), "scale {scale} byte {b} {n:?}");
                }
            }
        }
        // The common scales take the vectorisable paths.
        let one = |scale| Split::from_bytes(1, vec![0], scale, Labels::Classes(vec![0])).unwrap();
        assert_eq!(one(1.0 / 255.0).convert, ByteConvert::Divide(255.0));
        assert_eq!(one(1.0 / 16.0).convert, ByteConvert::Multiply(0.0625));
        // And an odd scale falls back on the table (checked bit for bit above).
        assert_eq!(one(0.3).convert, ByteConvert::Table);
    }

    #[test]
    fn normalisation_applies_to_bytes_and_floats() {
        let mut s = bytes_split();
        let n = Normalization {
            mean: 0.5,
            std: 0.25,
        };
        s.set_normalization(Some(n)).unwrap();
        let mut x = [0.0f32; 2];
        s.gather_inputs(&[0], &mut x).unwrap();
        assert_eq!(x, [-2.0, 2.0]);

        let mut f = Split::from_floats(1, vec![1.0, 3.0], Labels::Classes(vec![0, 0])).unwrap();
        let stats = f.input_stats();
        assert_eq!(
            stats,
            Normalization {
                mean: 2.0,
                std: 1.0
            }
        );
        f.set_normalization(Some(stats)).unwrap();
        let mut x = [0.0f32; 2];
        f.gather_inputs(&[0, 1], &mut x).unwrap();
        assert_eq!(x, [-1.0, 1.0]);
        assert!(
            f.set_normalization(Some(Normalization {
                mean: 0.0,
                std: 0.0
            }))
            .is_err()
        );
    }

    #[test]
    fn byte_stats_match_the_values() {
        let s = Split::from_bytes(
            2,
            vec![0, 255, 0, 255],
            1.0 / 255.0,
            Labels::Classes(vec![0, 0]),
        )
        .unwrap();
        assert_eq!(
            s.input_stats(),
            Normalization {
                mean: 0.5,
                std: 0.5
            }
        );
        let constant = Split::from_bytes(1, vec![9, 9], 1.0, Labels::Classes(vec![0, 0])).unwrap();
        assert_eq!(
            constant.input_stats(),
            Normalization {
                mean: 9.0,
                std: 1.0
            }
        );
    }

    #[test]
    fn targets_gather_by_width() {
        let labels = Labels::Targets {
            width: 2,
            values: vec![1.0, 2.0, 3.0, 4.0],
        };
        let s = Split::from_floats(1, vec![10.0, 20.0], labels).unwrap();
        let mut x = [0.0f32; 2];
        let mut y = [0.0f32; 4];
        s.gather_targets(&[1, 0], &mut x, &mut y).unwrap();
        assert_eq!(x, [20.0, 10.0]);
        assert_eq!(y, [3.0, 4.0, 1.0, 2.0]);
        let mut yc = [0u32; 2];
        assert!(s.gather(&[0, 1], &mut x, &mut yc).is_err());
    }

    #[test]
    fn bad_buffers_and_indices_are_errors() {
        let s = bytes_split();
        let mut x = [0.0f32; 3];
        let mut y = [0u32; 2];
        let e = s.gather(&[0, 1], &mut x, &mut y).unwrap_err();
        assert!(e.to_string().contains("x_out holds 3 values"), "{e}");
        let mut x = [0.0f32; 4];
        let e = s.gather(&[0, 3], &mut x, &mut y).unwrap_err();
        assert!(e.to_string().contains("index 3 is out of range"), "{e}");
        let mut y1 = [0u32; 1];
        assert!(s.gather(&[0, 1], &mut x, &mut y1).is_err());
    }

    #[test]
    fn construction_checks_shapes() {
        let c = |n| Labels::Classes(vec![0; n]);
        assert!(Split::from_floats(0, vec![], c(0)).is_err());
        assert!(Split::from_floats(2, vec![1.0; 3], c(1)).is_err());
        assert!(Split::from_floats(2, vec![1.0; 4], c(3)).is_err());
        assert!(Split::from_floats(2, vec![], c(0)).is_err());
        assert!(Split::from_bytes(1, vec![1], 0.0, c(1)).is_err());
        let t = Labels::Targets {
            width: 0,
            values: vec![],
        };
        assert!(Split::from_floats(1, vec![1.0], t).is_err());
    }

    #[test]
    fn select_keeps_rows_labels_and_normalisation() {
        let mut s = bytes_split();
        let n = Normalization {
            mean: 0.0,
            std: 2.0,
        };
        s.set_normalization(Some(n)).unwrap();
        let sub = s.select(&[2, 1]).unwrap();
        assert_eq!(sub.len(), 2);
        assert_eq!(sub.classes(), Some(&[2, 0][..]));
        assert_eq!(
            sub.bytes().map(|(b, _)| b.to_vec()),
            Some(vec![7, 8, 51, 102])
        );
        assert_eq!(sub.normalization(), Some(n));
        assert!(s.select(&[5]).is_err());
    }
}
