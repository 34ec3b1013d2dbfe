//! Dense row-major matrices `[rows, cols]`, viewed by faer without copies.

use crate::error::{Error, Result};
use crate::real::Real;
use faer::{MatMut, MatRef};

/// A dense row-major matrix. Batches are `[batch, features]`; a bias is `[1, out]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor<T> {
    rows: usize,
    cols: usize,
    data: Vec<T>,
}

impl<T: Real> Tensor<T> {
    /// A `rows x cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Tensor {
            rows,
            cols,
            data: vec![T::ZERO; rows * cols],
        }
    }

    /// Wraps row-major `data`; its length must be `rows * cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<T>) -> Result<Self> {
        check_len(rows, cols, data.len())?;
        Ok(Tensor { rows, cols, data })
    }

    /// A `rows x cols` matrix with `f(row, col)` at each place.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> T) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                data.push(f(r, c));
            }
        }
        Tensor { rows, cols, data }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }
    /// A faer view of the same memory.
    pub fn view(&self) -> MatRef<'_, T> {
        MatRef::from_row_major_slice(&self.data, self.rows, self.cols)
    }
    /// A mutable faer view of the same memory.
    pub fn view_mut(&mut self) -> MatMut<'_, T> {
        MatMut::from_row_major_slice_mut(&mut self.data, self.rows, self.cols)
    }
}

/// `Ok` when `len` values fill a `rows x cols` matrix exactly.
pub(crate) fn check_len(rows: usize, cols: usize, len: usize) -> Result<()> {
    if rows.checked_mul(cols) == Some(len) {
        return Ok(());
    }
    Err(Error::BadLength {
        rows,
        cols,
        expected: rows.saturating_mul(cols),
        got: len,
    })
}
