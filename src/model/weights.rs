//! The word and output tables as served: f32 as trained, f16 (`HAMLET_MODEL_WEIGHTS=f16`), half
//! the memory for the million-word vocabularies of OCR'd collections (benches/scale.sh), or i8
//! (`HAMLET_MODEL_WEIGHTS=i8`): each row scaled to its largest value and rounded to 8 bits, in
//! one 64-byte cache line (52 dimensions: 64 bytes a row instead of 104 in f16 and 208 in f32).
//! Inference reads rows through `kernel::Rows`, converting them to f32, and learns only its own
//! vector, so the tables are never written. Document vectors stay f32: most-similar for known
//! documents is exact at every precision.

use std::borrow::Cow;

use half::f16;
use half::slice::HalfFloatSliceExt;

/// How the word and output tables are kept in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    F16,
    I8,
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Precision, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" => Ok(Precision::F32),
            "f16" => Ok(Precision::F16),
            "i8" => Ok(Precision::I8),
            other => Err(format!("{other:?}: use f32, f16 or i8")),
        }
    }
}

/// A `[rows * dim]` table of weights.
#[derive(Debug, Clone, PartialEq)]
pub enum Weights {
    F32(Vec<f32>),
    F16(Vec<f16>),
    I8(Quantized),
}

/// A 64-byte cache line, so that a quantized row never straddles two.
#[derive(Clone, Copy, PartialEq)]
#[repr(C, align(64))]
pub struct Line([u8; 64]);

/// Rows of `dim` values quantized to i8 with one f32 scale per row: each row is the scale's
/// four bytes then the values, padded to whole cache lines.
#[derive(Clone, PartialEq)]
pub struct Quantized {
    dim: usize,
    lines_per_row: usize,
    lines: Vec<Line>,
    rows: usize,
    /// Values of a row not yet complete while the table is read in pieces.
    pending: Vec<f32>,
}

impl std::fmt::Debug for Quantized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Quantized({} rows of {})", self.rows, self.dim)
    }
}

impl Quantized {
    fn with_capacity(dim: usize, rows: usize) -> Quantized {
        let lines_per_row = (4 + dim).div_ceil(64);
        Quantized {
            dim,
            lines_per_row,
            lines: Vec::with_capacity(rows * lines_per_row),
            rows: 0,
            pending: Vec::with_capacity(dim),
        }
    }

    /// Appends values; false if one is not finite.
    fn extend(&mut self, mut values: &[f32]) -> bool {
        let finite = values.iter().all(|x| x.is_finite());
        if !self.pending.is_empty() {
            let take = (self.dim - self.pending.len()).min(values.len());
            self.pending.extend_from_slice(&values[..take]);
            values = &values[take..];
            if self.pending.len() == self.dim {
                let row = std::mem::take(&mut self.pending);
                self.push_row(&row);
                self.pending = row;
                self.pending.clear();
            }
        }
        let mut rows = values.chunks_exact(self.dim);
        for row in &mut rows {
            self.push_row(row);
        }
        self.pending.extend_from_slice(rows.remainder());
        finite
    }

    /// Quantizes one row: scale = largest magnitude / 127, values rounded to the nearest
    /// step (half away from zero, by truncating casts, which vectorise where `round` calls libm).
    fn push_row(&mut self, values: &[f32]) {
        let max = values.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 && max.is_finite() {
            max / 127.0
        } else {
            1.0
        };
        let inv = 1.0 / scale;
        let start = self.lines.len();
        self.lines.resize(start + self.lines_per_row, Line([0; 64]));
        let row = &mut self.lines[start..];
        let quantize = |x: f32| {
            let v = x * inv;
            ((v + 0.5f32.copysign(v)) as i32).clamp(-127, 127) as i8 as u8
        };
        if let [line] = row {
            line.0[..4].copy_from_slice(&scale.to_le_bytes());
            for (b, &x) in line.0[4..4 + self.dim].iter_mut().zip(values) {
                *b = quantize(x);
            }
        } else {
            let bytes = scale
                .to_le_bytes()
                .into_iter()
                .chain(values.iter().map(|&x| quantize(x)));
            for (k, b) in bytes.enumerate() {
                row[k / 64].0[k % 64] = b;
            }
        }
        self.rows += 1;
    }

    #[inline(always)]
    fn read(&self, row: usize, out: &mut [f32]) {
        let lines = &self.lines[row * self.lines_per_row..(row + 1) * self.lines_per_row];
        let first = &lines[0].0;
        let scale = f32::from_le_bytes([first[0], first[1], first[2], first[3]]);
        if let [line] = lines {
            // The common case (up to 60 dimensions): one line, a loop the compiler vectorises.
            for (o, &b) in out[..self.dim].iter_mut().zip(&line.0[4..4 + self.dim]) {
                *o = f32::from(b as i8) * scale;
            }
        } else {
            // Wider rows (the engine's 100 dimensions: two lines), a line at a time, each a
            // loop that vectorises like the one above. (A byte iterator flattened over the
            // lines did not, and made i8 inference slower than f16 at 100 dimensions.)
            let mut at = 0;
            for (k, line) in lines.iter().enumerate() {
                let bytes = if k == 0 { &line.0[4..] } else { &line.0[..] };
                let n = bytes.len().min(self.dim - at);
                for (o, &b) in out[at..at + n].iter_mut().zip(&bytes[..n]) {
                    *o = f32::from(b as i8) * scale;
                }
                at += n;
            }
        }
    }

    fn len(&self) -> usize {
        self.rows * self.dim + self.pending.len()
    }
}

impl Weights {
    /// The table from little-endian f32 bytes, kept at `precision`. `None` if a value is not
    /// finite.
    pub fn from_le_bytes(bytes: &[u8], precision: Precision, dim: usize) -> Option<Weights> {
        let mut table = Weights::with_capacity(precision, bytes.len() / 4 / dim.max(1), dim);
        table.push_le_bytes(bytes).then_some(table)
    }

    /// An empty table at `precision` with room for `rows` rows of `dim` values.
    pub fn with_capacity(precision: Precision, rows: usize, dim: usize) -> Weights {
        match precision {
            Precision::F32 => Weights::F32(Vec::with_capacity(rows * dim)),
            Precision::F16 => Weights::F16(Vec::with_capacity(rows * dim)),
            Precision::I8 => Weights::I8(Quantized::with_capacity(dim.max(1), rows)),
        }
    }

    /// Appends little-endian f32 values (a multiple of 4 bytes); false if one is not finite
    /// (in f16: beyond its range, 65504, a weight would become infinite).
    pub fn push_le_bytes(&mut self, bytes: &[u8]) -> bool {
        let values = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let mut finite = true;
        match self {
            Weights::F32(v) => v.extend(values.inspect(|x| finite &= x.is_finite())),
            Weights::I8(q) => {
                let mut block = [0.0f32; 1024];
                for piece in bytes.chunks(block.len() * 4) {
                    let n = piece.len() / 4;
                    for (out, b) in block.iter_mut().zip(piece.chunks_exact(4)) {
                        *out = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    }
                    finite &= q.extend(&block[..n]);
                }
            }
            Weights::F16(v) => {
                // A block at a time through half's slice conversion, which uses the CPU's F16C
                // instructions on 8 values at once (one call per value was a fifth of loading
                // a million-word model: benches/scale.sh).
                let mut block = [0.0f32; 1024];
                for piece in bytes.chunks(block.len() * 4) {
                    let n = piece.len() / 4;
                    for (out, b) in block.iter_mut().zip(piece.chunks_exact(4)) {
                        *out = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    }
                    let start = v.len();
                    v.resize(start + n, f16::ZERO);
                    v[start..].convert_from_f32_slice(&block[..n]);
                    // Exponent all ones: infinite or NaN (or beyond f16's range, 65504).
                    finite &= v[start..].iter().all(|h| h.to_bits() & 0x7c00 != 0x7c00);
                }
            }
        }
        finite
    }

    pub fn len(&self) -> usize {
        match self {
            Weights::F32(v) => v.len(),
            Weights::F16(v) => v.len(),
            Weights::I8(q) => q.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn precision(&self) -> Precision {
        match self {
            Weights::F32(_) => Precision::F32,
            Weights::F16(_) => Precision::F16,
            Weights::I8(_) => Precision::I8,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        match self {
            Weights::F32(v) => v.len() * 4,
            Weights::F16(v) => v.len() * 2,
            Weights::I8(q) => q.lines.len() * 64,
        }
    }

    /// The values as f32 (borrowed when they are f32).
    pub fn to_f32(&self) -> Cow<'_, [f32]> {
        match self {
            Weights::F32(v) => Cow::Borrowed(v),
            Weights::F16(v) => {
                let mut out = vec![0.0; v.len()];
                v.convert_to_f32_slice(&mut out);
                Cow::Owned(out)
            }
            Weights::I8(q) => {
                let mut out = vec![0.0; q.rows * q.dim];
                for (r, row) in out.chunks_mut(q.dim).enumerate() {
                    q.read(r, row);
                }
                Cow::Owned(out)
            }
        }
    }

    /// The table at `precision`, with rows of `dim` values.
    pub fn into_precision(self, precision: Precision, dim: usize) -> Weights {
        match (self, precision) {
            (same, p) if same.precision() == p => same,
            (table, Precision::I8) => {
                let values = table.to_f32();
                let mut q = Quantized::with_capacity(dim.max(1), values.len() / dim.max(1));
                q.extend(&values);
                Weights::I8(q)
            }
            (Weights::I8(q), p) => {
                Weights::F32(Weights::I8(q).to_f32().into_owned()).into_precision(p, dim)
            }
            (Weights::F32(v), Precision::F16) => {
                let mut out = vec![f16::ZERO; v.len()];
                out.convert_from_f32_slice(&v);
                Weights::F16(out)
            }
            (Weights::F16(v), Precision::F32) => {
                let mut out = vec![0.0; v.len()];
                v.convert_to_f32_slice(&mut out);
                Weights::F32(out)
            }
            (same, _) => same,
        }
    }
}

/// f16 bits to f32 for finite values (the tables hold no others: `from_le_bytes` refuses
/// them): the exponent and mantissa moved into f32 position and rescaled by 2^112, which also
/// turns f16 subnormals into the right f32. Branch-free, so the row loop vectorises; half's
/// F16C path calls a non-inlined function per 4 values, which made inference 25% slower.
#[inline(always)]
fn widen(h: u16) -> f32 {
    let h = u32::from(h);
    let magnitude = f32::from_bits((h & 0x7fff) << 13) * f32::from_bits(0x7780_0000); // 2^112
    f32::from_bits(magnitude.to_bits() | ((h & 0x8000) << 16))
}

impl crate::model::kernel::Rows for Weights {
    #[inline(always)]
    fn read(&self, row: usize, dim: usize, out: &mut [f32]) {
        match self {
            Weights::F32(v) => v.read(row, dim, out),
            Weights::F16(v) => {
                for (o, h) in out[..dim].iter_mut().zip(&v[row * dim..(row + 1) * dim]) {
                    *o = widen(h.to_bits());
                }
            }
            Weights::I8(q) => q.read(row, out),
        }
    }

    fn add(&self, _: usize, _: usize, _: &[f32]) {
        unreachable!("served tables are never updated: inference learns only its own vector");
    }

    fn store(&self, _: usize, _: usize, _: &[f32]) {
        unreachable!("served tables are never updated: inference learns only its own vector");
    }

    fn merge(&self, _: usize, _: usize, _: &[f32], _: &[f32]) {
        unreachable!("served tables are never updated: inference learns only its own vector");
    }

    #[inline(always)]
    fn prefetch(&self, row: usize, dim: usize) {
        match self {
            Weights::F32(v) => v.prefetch(row, dim),
            Weights::F16(v) => {
                if let Some(r) = v.get(row * dim..(row + 1) * dim) {
                    crate::model::kernel::prefetch_slice(r);
                }
            }
            Weights::I8(q) => {
                if let Some(r) = q
                    .lines
                    .get(row * q.lines_per_row..(row + 1) * q.lines_per_row)
                {
                    crate::model::kernel::prefetch_slice(r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kernel::Rows;

    #[test]
    fn f16_rows_read_back_close_to_f32() {
        let values: Vec<f32> = (0..40).map(|i| (i as f32 - 20.0) / 37.0).collect();
        let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        let full = Weights::from_le_bytes(&bytes, Precision::F32, 8).unwrap();
        let half = Weights::from_le_bytes(&bytes, Precision::F16, 8).unwrap();
        assert_eq!(half.bytes() * 2, full.bytes());
        let (mut a, mut b) = (vec![0.0; 8], vec![0.0; 8]);
        full.read(3, 8, &mut a);
        half.read(3, 8, &mut b);
        assert_eq!(a, values[24..32]);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-3, "{x} vs {y}");
        }
        assert_eq!(full.clone().into_precision(Precision::F16, 8), half);
        let mut nan = bytes.clone();
        nan[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Weights::from_le_bytes(&nan, Precision::F16, 1).is_none());
        assert_eq!("F16".parse::<Precision>(), Ok(Precision::F16));
        let big: Vec<u8> = 1e6f32.to_le_bytes().to_vec();
        assert!(
            Weights::from_le_bytes(&big, Precision::F16, 1).is_none(),
            "beyond f16"
        );
    }

    #[test]
    fn i8_rows_read_back_within_half_a_step_of_their_scale() {
        // One line a row (52), two (the engine's 100) and three (150).
        for (dim, lines) in [(52, 1), (100, 2), (150, 3)] {
            i8_rows_read_back(dim, lines);
        }
        let dim = 52;
        let mut row = vec![0.0; dim];
        // A zero row and a non-finite value.
        let zeros = Weights::from_le_bytes(&[0u8; 4 * 52], Precision::I8, dim).unwrap();
        zeros.read(0, dim, &mut row);
        assert!(row.iter().all(|&x| x == 0.0));
        let nan: Vec<u8> = [1.0f32, f32::NAN]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert!(Weights::from_le_bytes(&nan, Precision::I8, 2).is_none());
    }

    fn i8_rows_read_back(dim: usize, lines: usize) {
        let values: Vec<f32> = (0..dim * 30)
            .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 300.0 * (1 + i / dim) as f32)
            .collect();
        let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        // Read in pieces that cut rows anywhere, as the file reader does.
        let mut q = Weights::with_capacity(Precision::I8, 30, dim);
        for piece in bytes.chunks(4 * 37) {
            assert!(q.push_le_bytes(piece));
        }
        assert_eq!(q.len(), values.len());
        assert_eq!(q.bytes(), 30 * 64 * lines, "whole cache lines a row");
        let mut row = vec![0.0; dim];
        for r in 0..30 {
            q.read(r, dim, &mut row);
            let want = &values[r * dim..(r + 1) * dim];
            let step = want.iter().fold(0.0f32, |m, x| m.max(x.abs())) / 127.0;
            for (a, b) in row.iter().zip(want) {
                assert!((a - b).abs() <= step / 2.0 + 1e-6, "row {r}: {a} vs {b}");
            }
        }
        let full = Weights::from_le_bytes(&bytes, Precision::F32, dim).unwrap();
        assert_eq!(full.clone().into_precision(Precision::I8, dim), q);
        assert_eq!(q.to_f32().len(), values.len());
    }

    #[test]
    fn block_conversion_rounds_as_one_value_at_a_time() {
        // More than one block, with values at f16's edges: subnormals, the largest finite
        // value, halfway cases.
        let mut values: Vec<f32> = (0..3000)
            .map(|i| ((i as f32) * 0.731).sin() * 10f32.powi(i % 9 - 6))
            .collect();
        values.extend([
            65504.0,
            -65504.0,
            65519.0,
            6.0e-8,
            -3.0e-8,
            1.0 + 1.0 / 2048.0,
            0.0,
        ]);
        let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        let Some(Weights::F16(half)) = Weights::from_le_bytes(&bytes, Precision::F16, 8) else {
            panic!("all finite in f16");
        };
        let one_by_one: Vec<f16> = values.iter().map(|&x| f16::from_f32(x)).collect();
        assert_eq!(half, one_by_one);
        for bad in [65520.0f32, f32::INFINITY, f32::NAN] {
            let mut with_bad = bytes.clone();
            with_bad.extend(bad.to_le_bytes());
            assert!(
                Weights::from_le_bytes(&with_bad, Precision::F16, 1).is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn widening_matches_half_for_every_finite_f16() {
        for bits in 0..=u16::MAX {
            let h = f16::from_bits(bits);
            if h.is_finite() {
                assert_eq!(widen(bits).to_bits(), h.to_f32().to_bits(), "{bits:#06x}");
            }
        }
        assert!("bf16".parse::<Precision>().is_err());
    }
}
