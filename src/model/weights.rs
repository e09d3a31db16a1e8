//! The word and output tables as served: f32 as trained, or f16 (`HAMLET_MODEL_WEIGHTS=f16`),
//! half the memory for the million-word vocabularies of OCR'd collections (bench/scale.sh).
//! Inference reads rows through `sgd::Rows`, converting f16 rows to f32 (F16C instructions
//! where the CPU has them), and learns only its own vector, so the tables are never written.
//! Document vectors stay f32: most-similar for known documents is exact either way.

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
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Precision, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" => Ok(Precision::F32),
            "f16" => Ok(Precision::F16),
            other => Err(format!("{other:?}: use f32 or f16")),
        }
    }
}

/// A `[rows * dim]` table of weights.
#[derive(Debug, Clone, PartialEq)]
pub enum Weights {
    F32(Vec<f32>),
    F16(Vec<f16>),
}

impl Weights {
    /// The table from little-endian f32 bytes, kept at `precision`. `None` if a value is not
    /// finite.
    pub fn from_le_bytes(bytes: &[u8], precision: Precision) -> Option<Weights> {
        let mut table = Weights::with_capacity(precision, bytes.len() / 4);
        table.push_le_bytes(bytes).then_some(table)
    }

    /// An empty table at `precision` with room for `values`.
    pub fn with_capacity(precision: Precision, values: usize) -> Weights {
        match precision {
            Precision::F32 => Weights::F32(Vec::with_capacity(values)),
            Precision::F16 => Weights::F16(Vec::with_capacity(values)),
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
            Weights::F16(v) => {
                // A block at a time through half's slice conversion, which uses the CPU's F16C
                // instructions on 8 values at once (one call per value was a fifth of loading
                // a million-word model: bench/scale.sh).
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
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn precision(&self) -> Precision {
        match self {
            Weights::F32(_) => Precision::F32,
            Weights::F16(_) => Precision::F16,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        match self {
            Weights::F32(v) => v.len() * 4,
            Weights::F16(v) => v.len() * 2,
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
        }
    }

    /// The table at `precision`.
    pub fn into_precision(self, precision: Precision) -> Weights {
        match (self, precision) {
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

impl super::sgd::Rows for Weights {
    #[inline]
    fn read(&self, row: usize, dim: usize, out: &mut [f32]) {
        match self {
            Weights::F32(v) => v.read(row, dim, out),
            Weights::F16(v) => {
                for (o, h) in out[..dim].iter_mut().zip(&v[row * dim..(row + 1) * dim]) {
                    *o = widen(h.to_bits());
                }
            }
        }
    }

    fn add(&self, _: usize, _: usize, _: &[f32]) {
        unreachable!("served tables are never updated: inference learns only its own vector");
    }

    fn store(&self, _: usize, _: usize, _: &[f32]) {
        unreachable!("served tables are never updated: inference learns only its own vector");
    }

    #[inline]
    fn prefetch(&self, row: usize, dim: usize) {
        match self {
            Weights::F32(v) => v.prefetch(row, dim),
            Weights::F16(v) => {
                if let Some(r) = v.get(row * dim..(row + 1) * dim) {
                    super::sgd::prefetch_slice(r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sgd::Rows;

    #[test]
    fn f16_rows_read_back_close_to_f32() {
        let values: Vec<f32> = (0..40).map(|i| (i as f32 - 20.0) / 37.0).collect();
        let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        let full = Weights::from_le_bytes(&bytes, Precision::F32).unwrap();
        let half = Weights::from_le_bytes(&bytes, Precision::F16).unwrap();
        assert_eq!(half.bytes() * 2, full.bytes());
        let (mut a, mut b) = (vec![0.0; 8], vec![0.0; 8]);
        full.read(3, 8, &mut a);
        half.read(3, 8, &mut b);
        assert_eq!(a, values[24..32]);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-3, "{x} vs {y}");
        }
        assert_eq!(full.clone().into_precision(Precision::F16), half);
        let mut nan = bytes.clone();
        nan[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Weights::from_le_bytes(&nan, Precision::F16).is_none());
        assert_eq!("F16".parse::<Precision>(), Ok(Precision::F16));
        let big: Vec<u8> = 1e6f32.to_le_bytes().to_vec();
        assert!(
            Weights::from_le_bytes(&big, Precision::F16).is_none(),
            "beyond f16"
        );
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
        let Some(Weights::F16(half)) = Weights::from_le_bytes(&bytes, Precision::F16) else {
            panic!("all finite in f16");
        };
        let one_by_one: Vec<f16> = values.iter().map(|&x| f16::from_f32(x)).collect();
        assert_eq!(half, one_by_one);
        for bad in [65520.0f32, f32::INFINITY, f32::NAN] {
            let mut with_bad = bytes.clone();
            with_bad.extend(bad.to_le_bytes());
            assert!(
                Weights::from_le_bytes(&with_bad, Precision::F16).is_none(),
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
