//! The similarity scan: cosine of one query against every document, top k. libtorch holds the
//! L2-normalised document matrix `[docs, dim]`; a query is one matrix-vector product and a
//! top-k.
//!
//! `tch::Tensor` is `Send` but not `Sync`, and one `Mutex<Tensor>` would serialise every
//! request. Instead each concurrent caller borrows its own shallow clone (a second handle on
//! the same read-only storage) from a small pool, so requests on different threads scan in
//! parallel and the matrix exists once.

use std::sync::Mutex;

use tch::{Kind, Tensor};

pub(crate) struct Scanner {
    /// The matrix itself; only locked to make another handle on it.
    master: Mutex<Tensor>,
    /// Handles not in use at the moment.
    spare: Mutex<Vec<Tensor>>,
    /// Document rows (the first `rows` rows of the matrix); any rows after them are the
    /// default engine's citation targets (`with_targets`).
    rows: usize,
    total_rows: usize,
    dim: usize,
}

impl Scanner {
    /// Normalises each row of `vectors` (`rows * dim` values) and keeps them in libtorch.
    pub(crate) fn new(vectors: &[f32], dim: usize) -> Scanner {
        Scanner::with_targets(vectors, dim, &[])
    }

    /// `new`, with `targets` (`k * dim` values, kept as they are) stacked under the normalised
    /// document rows, so one product (`products`) scores a query against both.
    pub(crate) fn with_targets(vectors: &[f32], dim: usize, targets: &[f32]) -> Scanner {
        let rows = vectors.len() / dim.max(1);
        let mut stacked = Vec::with_capacity(vectors.len() + targets.len());
        stacked.extend_from_slice(vectors);
        crate::model::kernel::normalise_rows(&mut stacked, dim);
        stacked.extend_from_slice(targets);
        let total_rows = stacked.len() / dim.max(1);
        let master = Tensor::from_slice(&stacked).view([total_rows as i64, dim as i64]);
        Scanner {
            master: Mutex::new(master),
            spare: Mutex::new(Vec::new()),
            rows,
            total_rows,
            dim,
        }
    }

    /// Every row of the matrix (documents normalised, then any targets) times `query` as it is.
    pub(crate) fn products(&self, query: &[f32]) -> Vec<f32> {
        if query.len() != self.dim || self.total_rows == 0 {
            return vec![0.0; self.total_rows];
        }
        let m = self.take();
        let out = tch::no_grad(|| {
            Vec::<f32>::try_from(&m.mv(&Tensor::from_slice(query))).unwrap_or_default()
        });
        self.give_back(m);
        out
    }

    /// The `k` rows most similar to `query` as (row, cosine), best first.
    pub(crate) fn top(&self, query: &[f32], k: usize) -> Vec<(usize, f32)> {
        let k = k.min(self.rows);
        if k == 0 || query.len() != self.dim {
            return Vec::new();
        }
        let norm = crate::model::kernel::dot(query, query).sqrt();
        if norm == 0.0 {
            return Vec::new();
        }
        let q: Vec<f32> = query.iter().map(|x| x / norm).collect();
        let docs = self.take();
        let result = tch::no_grad(|| {
            let matrix = if self.total_rows > self.rows {
                docs.narrow(0, 0, self.rows as i64)
            } else {
                docs.shallow_clone()
            };
            let scores = matrix.mv(&Tensor::from_slice(&q));
            let (values, indices) = scores.topk(k as i64, 0, true, true);
            let values = Vec::<f32>::try_from(&values.to_kind(Kind::Float)).unwrap_or_default();
            let indices = Vec::<i64>::try_from(&indices).unwrap_or_default();
            indices
                .into_iter()
                .map(|i| i as usize)
                .zip(values)
                .collect()
        });
        self.give_back(docs);
        result
    }

    fn take(&self) -> Tensor {
        if let Some(t) = self.spare.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return t;
        }
        self.master
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .shallow_clone()
    }

    fn give_back(&self, t: Tensor) {
        self.spare.lock().unwrap_or_else(|e| e.into_inner()).push(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_top_k_from_many_threads() {
        // Row i points along axis i % 3 with a small tilt: row 0 is closest to axis 0.
        let mut v = Vec::new();
        for i in 0..30 {
            let mut row = [0.1 * i as f32 / 30.0; 3];
            row[i % 3] = 1.0;
            v.extend_from_slice(&row);
        }
        let s = Scanner::new(&v, 3);
        let top = s.top(&[1.0, 0.0, 0.0], 3);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [0, 3, 6]);
        assert!((top[0].1 - 1.0).abs() < 1e-6);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        assert_eq!(s.top(&[0.0, 2.0, 0.0], 1)[0].0, 1);
                    }
                });
            }
        });
        assert!(s.top(&[0.0, 0.0, 0.0], 3).is_empty());
    }

    #[test]
    fn targets_stack_under_the_documents() {
        let s = Scanner::with_targets(&[2.0, 0.0, 0.0, 3.0], 2, &[1.0, 1.0]);
        assert_eq!(s.products(&[1.0, 2.0]), [1.0, 2.0, 3.0]);
        // top only ever sees the document rows.
        assert_eq!(s.top(&[1.0, 1.0], 5).len(), 2);
    }
}
