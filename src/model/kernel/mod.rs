//! The math kernels both training (`train/`) and inference (`infer`, `query`, `scan`, `layout`,
//! `eval`) use: vector arithmetic (`dot`, `axpy`, `normalise_rows`), the sigmoid table, the
//! random stream (`Rng`, `splitmix`), the tables' row access (`Rows`, the Hogwild
//! `SharedTable`, `prefetch`), and the paragraph-vector update rules (Le & Mikolov 2014,
//! "Distributed Representations of Sentences and Documents"; negative sampling from Mikolov
//! et al. 2013), as gensim's `doc2vec_inner.pyx` applies them. Nothing here knows a model,
//! a collection or a query.
//!
//! Shapes: every table is a flat `[rows * dim]` array of f32. Training shares the tables
//! between threads without locks (Hogwild, Recht et al. 2011): rows live in relaxed atomics
//! (`SharedTable`), so concurrent updates may overwrite each other (as in word2vec and gensim)
//! but there is no undefined behaviour. Each step copies the
//! rows it needs into local buffers, computes there (vectorisable), and writes back deltas.
//! Inference reads plain `[f32]` tables and updates only its own document vector.

pub(crate) mod prefetch;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::text::vocab::AliasTable;

/// Sigmoid inputs beyond +-MAX_EXP saturate, as in word2vec.
const MAX_EXP: f32 = 6.0;
const EXP_TABLE_SIZE: usize = 1024;

/// A table of `dim`-wide rows that a step can read and (when training) update.
pub(crate) trait Rows {
    fn read(&self, row: usize, dim: usize, out: &mut [f32]);
    fn add(&self, row: usize, dim: usize, delta: &[f32]);
    /// Overwrites the row with `values` (the row as this step read it, plus its update): one
    /// pass of stores instead of re-reading the row to add to it.
    fn store(&self, row: usize, dim: usize, values: &[f32]);
    /// Writes back a row that was read as `before` and has become `after` in a local copy:
    /// stores `after` where the row still holds `before`, and adds the difference where
    /// another thread has changed it meanwhile (so its update is not lost).
    fn merge(&self, row: usize, dim: usize, before: &[f32], after: &[f32]);
    /// Hints that the row will be read soon.
    fn prefetch(&self, row: usize, dim: usize);
}

/// Prefetches `bytes` bytes from `p`, a cache line at a time.
#[inline(always)]
fn prefetch_bytes<T>(p: *const T, bytes: usize) {
    let p = p.cast::<u8>();
    let mut offset = 0;
    while offset < bytes {
        crate::model::kernel::prefetch::prefetch(p.wrapping_add(offset));
        offset += 64;
    }
}

/// Prefetches a slice's bytes.
#[inline(always)]
pub(crate) fn prefetch_slice<T>(s: &[T]) {
    prefetch_bytes(s.as_ptr(), std::mem::size_of_val(s));
}

/// A table shared by training threads: rows of `stride` values (the model's dimension rounded
/// up to even), kept as pairs of f32 bit patterns in relaxed `AtomicU64`s. Pairs halve the
/// number of atomic loads and stores, which LLVM cannot merge or vectorise: on this workload
/// that is most of the cost. The padding lane of an odd dimension starts at 0 and stays 0
/// (every update to it is a product with another padding lane).
pub(crate) struct SharedTable {
    cells: Vec<AtomicU64>,
    dim: usize,
    stride: usize,
}

impl SharedTable {
    /// The even row width used for a model dimension. (Padding to a multiple of 8, for
    /// dot products without a scalar tail, measured no faster: within the noise of 3 runs.)
    pub(crate) fn stride(dim: usize) -> usize {
        dim + dim % 2
    }

    /// A table of `values.len() / dim` rows.
    pub(crate) fn new(values: &[f32], dim: usize) -> SharedTable {
        let stride = SharedTable::stride(dim);
        let mut cells = Vec::with_capacity(values.len() / dim.max(1) * stride / 2);
        for row in values.chunks(dim.max(1)) {
            let mut padded = row.to_vec();
            padded.resize(stride, 0.0);
            cells.extend(padded.chunks(2).map(|p| AtomicU64::new(pack(p[0], p[1]))));
        }
        SharedTable { cells, dim, stride }
    }

    /// The rows as plain `dim`-wide values (after training, when no thread writes any more).
    pub(crate) fn to_plain(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.cells.len() * 2 / self.stride.max(1) * self.dim);
        let mut row = vec![0.0f32; self.stride];
        for r in 0..self.cells.len() * 2 / self.stride.max(1) {
            self.read(r, self.stride, &mut row);
            out.extend_from_slice(&row[..self.dim]);
        }
        out
    }
}

/// Two f32 as one u64, the first in the low half: the same bits as the pair in memory on a
/// little-endian machine, which the cast paths in `read` and `store` rely on.
#[inline(always)]
fn pack(a: f32, b: f32) -> u64 {
    u64::from(a.to_bits()) | (u64::from(b.to_bits()) << 32)
}

/// Writes a pair back that this thread changed from `old` to `new`: stores it when no other
/// thread changed it meanwhile, else adds this thread's change to theirs.
#[inline(always)]
fn merge_cell(c: &AtomicU64, old: u64, new: u64) {
    if c.load(Ordering::Relaxed) == old {
        c.store(new, Ordering::Relaxed);
    } else {
        merge_pair(c, old, new);
    }
}

/// Adds `new - old` (pairs of f32) to a pair another thread has changed since it was `old`.
#[cold]
fn merge_pair(c: &AtomicU64, old: u64, new: u64) {
    let bits = c.load(Ordering::Relaxed);
    let lane = |x: u64, half: u32| f32::from_bits((x >> half) as u32);
    c.store(
        pack(
            lane(bits, 0) + (lane(new, 0) - lane(old, 0)),
            lane(bits, 32) + (lane(new, 32) - lane(old, 32)),
        ),
        Ordering::Relaxed,
    );
}

impl Rows for SharedTable {
    #[inline(always)]
    fn read(&self, row: usize, stride: usize, out: &mut [f32]) {
        let cells = &self.cells[row * stride / 2..(row + 1) * stride / 2];
        // Scratch rows start 8-byte aligned (heap buffers, even offsets): move the pairs as they
        // are. The checked cast falls back to unpacking when they do not.
        if let Ok(out64) = bytemuck::try_cast_slice_mut::<f32, u64>(out) {
            for (o, c) in out64.iter_mut().zip(cells) {
                *o = c.load(Ordering::Relaxed);
            }
            return;
        }
        for (pair, c) in out.chunks_exact_mut(2).zip(cells) {
            let bits = c.load(Ordering::Relaxed);
            pair[0] = f32::from_bits(bits as u32);
            pair[1] = f32::from_bits((bits >> 32) as u32);
        }
    }

    #[inline(always)]
    fn add(&self, row: usize, stride: usize, delta: &[f32]) {
        let cells = &self.cells[row * stride / 2..(row + 1) * stride / 2];
        for (d, c) in delta.chunks_exact(2).zip(cells) {
            let bits = c.load(Ordering::Relaxed);
            let (a, b) = (
                f32::from_bits(bits as u32),
                f32::from_bits((bits >> 32) as u32),
            );
            c.store(pack(a + d[0], b + d[1]), Ordering::Relaxed);
        }
    }

    #[inline(always)]
    fn store(&self, row: usize, stride: usize, values: &[f32]) {
        let cells = &self.cells[row * stride / 2..(row + 1) * stride / 2];
        if let Ok(v64) = bytemuck::try_cast_slice::<f32, u64>(values) {
            for (v, c) in v64.iter().zip(cells) {
                c.store(*v, Ordering::Relaxed);
            }
            return;
        }
        for (v, c) in values.chunks_exact(2).zip(cells) {
            c.store(pack(v[0], v[1]), Ordering::Relaxed);
        }
    }

    #[inline(always)]
    fn merge(&self, row: usize, stride: usize, before: &[f32], after: &[f32]) {
        let cells = &self.cells[row * stride / 2..(row + 1) * stride / 2];
        // Window rows are 8-byte aligned: compare and store the pairs as they are.
        if let (Ok(b64), Ok(a64)) = (
            bytemuck::try_cast_slice::<f32, u64>(before),
            bytemuck::try_cast_slice::<f32, u64>(after),
        ) {
            for ((&old, &new), c) in b64.iter().zip(a64).zip(cells) {
                merge_cell(c, old, new);
            }
            return;
        }
        for ((b, a), c) in before.chunks_exact(2).zip(after.chunks_exact(2)).zip(cells) {
            merge_cell(c, pack(b[0], b[1]), pack(a[0], a[1]));
        }
    }

    #[inline(always)]
    fn prefetch(&self, row: usize, stride: usize) {
        if let Some(cells) = self.cells.get(row * stride / 2..(row + 1) * stride / 2) {
            prefetch_bytes(cells.as_ptr(), stride * 4);
        }
    }
}

impl Rows for [f32] {
    #[inline(always)]
    fn read(&self, row: usize, dim: usize, out: &mut [f32]) {
        out.copy_from_slice(&self[row * dim..(row + 1) * dim]);
    }

    fn add(&self, _: usize, _: usize, _: &[f32]) {
        unreachable!("read-only tables are never updated: inference learns only its own vector");
    }

    fn store(&self, _: usize, _: usize, _: &[f32]) {
        unreachable!("read-only tables are never updated: inference learns only its own vector");
    }

    fn merge(&self, _: usize, _: usize, _: &[f32], _: &[f32]) {
        unreachable!("read-only tables are never updated: inference learns only its own vector");
    }

    #[inline(always)]
    fn prefetch(&self, row: usize, dim: usize) {
        if let Some(r) = self.get(row * dim..(row + 1) * dim) {
            prefetch_bytes(r.as_ptr(), dim * 4);
        }
    }
}

/// The dot product, summed as eight lanes (element `i` into lane `i % 8`; a remainder of
/// fewer than eight elements into the first lanes) added as a tree at the end:
/// `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`. Every build adds in this order, so
/// every build gives the same bits.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    #[cfg(target_arch = "x86_64")]
    {
        // The lanes as two SSE registers. Written as plain code over a length fixed at compile
        // time (the trainer's 52), LLVM unrolled the loop and vectorized the lanes two at a
        // time: 138 instructions per dot product, where these take about 40.
        #[expect(unsafe_code, reason = "SSE intrinsics; see SAFETY")]
        // SAFETY: SSE is part of x86-64 itself (every x86-64 CPU has it; Rust's x86-64 targets
        // enable it), and the intrinsics used touch no memory: they work on values.
        unsafe {
            use std::arch::x86_64::{
                __m128, _mm_add_ps, _mm_movehl_ps, _mm_mul_ps, _mm_setzero_ps,
            };
            let quad = |x: &[f32]| -> __m128 {
                let x: [f32; 4] = x.try_into().expect("four lanes");
                bytemuck::cast(x)
            };
            let (mut lo, mut hi) = (_mm_setzero_ps(), _mm_setzero_ps());
            for (x, y) in ac.zip(bc) {
                lo = _mm_add_ps(lo, _mm_mul_ps(quad(&x[..4]), quad(&y[..4])));
                hi = _mm_add_ps(hi, _mm_mul_ps(quad(&x[4..]), quad(&y[4..])));
            }
            let (mut ar, mut br, mut first) = (ar, br, 0);
            if ar.len() >= 4 {
                lo = _mm_add_ps(lo, _mm_mul_ps(quad(&ar[..4]), quad(&br[..4])));
                (ar, br, first) = (&ar[4..], &br[4..], 4);
            }
            if !ar.is_empty() {
                let mut lanes: [f32; 8] = bytemuck::cast([lo, hi]);
                for (l, (x, y)) in ar.iter().zip(br).enumerate() {
                    lanes[first + l] += x * y;
                }
                [lo, hi] = bytemuck::cast(lanes);
            }
            // (l0 + l4, l1 + l5, l2 + l6, l3 + l7), then its halves added, then the two sums.
            let s = _mm_add_ps(lo, hi);
            let t: [f32; 4] = bytemuck::cast(_mm_add_ps(s, _mm_movehl_ps(s, s)));
            t[0] + t[1]
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut acc = [0.0f32; 8];
        for (x, y) in ac.zip(bc) {
            for l in 0..8 {
                acc[l] += x[l] * y[l];
            }
        }
        for (l, (x, y)) in ar.iter().zip(br).enumerate() {
            acc[l] += x * y;
        }
        ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
    }
}

#[inline(always)]
pub(crate) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// The precomputed logistic function over [-MAX_EXP, MAX_EXP].
pub(crate) struct Sigmoid([f32; EXP_TABLE_SIZE]);

impl Sigmoid {
    pub(crate) fn new() -> Sigmoid {
        let mut t = [0.0f32; EXP_TABLE_SIZE];
        for (i, v) in t.iter_mut().enumerate() {
            let x = (i as f32 / EXP_TABLE_SIZE as f32 * 2.0 - 1.0) * MAX_EXP;
            *v = 1.0 / (1.0 + (-x).exp());
        }
        Sigmoid(t)
    }

    #[inline(always)]
    fn at(&self, f: f32) -> f32 {
        if f >= MAX_EXP {
            1.0
        } else if f <= -MAX_EXP {
            0.0
        } else {
            // Rounding can land just past the end for f a hair below MAX_EXP.
            // (`as u32`: a float to 64-bit unsigned conversion takes x86-64 two conversions.)
            let i = ((f + MAX_EXP) * (EXP_TABLE_SIZE as f32 / MAX_EXP / 2.0)) as u32 as usize;
            self.0[i.min(EXP_TABLE_SIZE - 1)]
        }
    }
}

/// A small, fast generator (64-bit LCG as in word2vec, output mixed), seeded per document so
/// results do not depend on which thread processed which document.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(splitmix(seed))
    }

    #[inline(always)]
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let x = self.0;
        (x ^ (x >> 29)).wrapping_mul(0xBF58476D1CE4E5B9) ^ (x >> 32)
    }

    /// Uniform in [0, n).
    #[inline(always)]
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        (((self.next() >> 32) * u64::from(n)) >> 32) as u32
    }

    #[inline(always)]
    pub(crate) fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Scales each `dim`-long row of `rows` to unit length (zero rows stay zero).
pub(crate) fn normalise_rows(rows: &mut [f32], dim: usize) {
    for row in rows.chunks_mut(dim.max(1)) {
        let norm = dot(row, row).sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|x| *x /= norm);
        }
    }
}

pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D049BB133111EB);
    x ^ (x >> 31)
}

/// What a step may change: word (input) vectors, output weights.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Learn {
    pub words: bool,
    pub hidden: bool,
}

/// The fixed parts of every step.
pub(crate) struct Ctx<'a> {
    pub dim: usize,
    pub window: usize,
    pub negative: usize,
    pub sigmoid: &'a Sigmoid,
    pub noise: &'a AliasTable,
    pub learn: Learn,
}

/// Scratch buffers of one worker.
pub(crate) struct Scratch {
    l1: Vec<f32>,
    work: Vec<f32>,
    row: Vec<f32>,
    /// PV-DM: the rows of the words inside the widest window.
    window: Window,
    /// Negative sampling: this step's target words and their output rows, and the next
    /// step's targets, drawn ahead.
    targets: Vec<u32>,
    next: Vec<u32>,
    /// Whether a noise word may be drawn twice among `targets` (and `next`).
    targets_repeat: bool,
    next_repeat: bool,
    rows: Vec<f32>,
}

impl Scratch {
    pub(crate) fn new(dim: usize, window: usize, negative: usize) -> Scratch {
        Scratch {
            l1: vec![0.0; dim],
            work: vec![0.0; dim],
            row: vec![0.0; dim],
            window: Window::new(dim, window),
            targets: Vec::with_capacity(16),
            next: Vec::with_capacity(16),
            targets_repeat: false,
            next_repeat: false,
            rows: vec![0.0; (negative + 1) * dim],
        }
    }
}

/// PV-DM's context rows, held locally while their words are inside the widest window
/// (`window` positions each side of the centre word). Consecutive predictions share most of
/// their context, so each word's row is read from the table once, when its position enters the
/// window, updated here by every prediction that uses it, and written back once, when the
/// last position holding it leaves: one row read and one write per word instead of about
/// five of each. A word found at several positions shares one entry, so its updates add up
/// as they do in the table. With one thread the model is the same bit for bit as reading and
/// writing the table at every prediction; with more, other threads see a word's updates when
/// it leaves the window (a few microseconds later), and `Rows::merge` keeps theirs.
struct Window {
    /// Per entry: its word (`FREE` when unused) and how many window positions hold it.
    words: Vec<u32>,
    refs: Vec<u32>,
    /// Per entry: the row as read from the table, and as updated since.
    before: Vec<f32>,
    rows: Vec<f32>,
    /// The entry of each window position, by position modulo `at.len()`: the window's width
    /// rounded up to a power of two, so the modulo is a mask, not a division (about ten per
    /// word; no faster measurably, but no slower).
    at: Vec<usize>,
    mask: usize,
}

impl Window {
    const FREE: u32 = u32::MAX;

    fn new(dim: usize, window: usize) -> Window {
        let width = 2 * window.max(1) + 1;
        Window {
            words: vec![Window::FREE; width],
            refs: vec![0; width],
            before: vec![0.0; width * dim],
            rows: vec![0.0; width * dim],
            at: vec![0; width.next_power_of_two()],
            mask: width.next_power_of_two() - 1,
        }
    }

    /// Position `p` (holding `word`) enters the window (`write` false: inference, which
    /// needs no copy of the row as read, since it never writes the row back).
    #[inline(always)]
    fn enter<W: Rows + ?Sized>(&mut self, input: &W, dim: usize, p: usize, word: u32, write: bool) {
        let e = match self.words.iter().position(|&w| w == word) {
            Some(e) => e,
            None => {
                let e = self
                    .words
                    .iter()
                    .position(|&w| w == Window::FREE)
                    .expect("a window never holds more words than positions");
                self.words[e] = word;
                let row = &mut self.rows[e * dim..(e + 1) * dim];
                input.read(word as usize, dim, row);
                if write {
                    self.before[e * dim..(e + 1) * dim].copy_from_slice(row);
                }
                e
            }
        };
        self.refs[e] += 1;
        self.at[p & self.mask] = e;
    }

    /// Position `p` leaves the window; its word's row goes back to the table when no other
    /// position holds it (`write` false: inference, which never changes the table).
    #[inline(always)]
    fn leave<W: Rows + ?Sized>(&mut self, input: &W, dim: usize, p: usize, write: bool) {
        let e = self.at[p & self.mask];
        self.refs[e] -= 1;
        if self.refs[e] == 0 {
            if write {
                let range = e * dim..(e + 1) * dim;
                input.merge(
                    self.words[e] as usize,
                    dim,
                    &self.before[range.clone()],
                    &self.rows[range],
                );
            }
            self.words[e] = Window::FREE;
        }
    }

    /// The row of the word at position `p` (inside the window).
    #[inline(always)]
    fn row(&self, dim: usize, p: usize) -> &[f32] {
        let e = self.at[p & self.mask];
        &self.rows[e * dim..(e + 1) * dim]
    }

    #[inline(always)]
    fn row_mut(&mut self, dim: usize, p: usize) -> &mut [f32] {
        let e = self.at[p & self.mask];
        &mut self.rows[e * dim..(e + 1) * dim]
    }
}

/// Draws the targets of one prediction: the word itself, then `negative` noise words (a noise
/// word equal to the target is dropped, as gensim does). Returns whether a noise word may
/// have been drawn twice: a 64-bit filter on the words' low bits, so that the rare prediction
/// that needs the duplicate rule (`negative_sampling`) is the only one that pays for it.
#[inline(always)]
fn draw_targets(ctx: &Ctx, target: u32, rng: &mut Rng, into: &mut Vec<u32>) -> bool {
    into.clear();
    into.push(target);
    let (mut seen, mut repeat) = (0u64, 0u64);
    for _ in 0..ctx.negative {
        let w = ctx.noise.sample(rng.next());
        if w != target {
            into.push(w);
            let bit = 1u64 << (w & 63);
            repeat |= seen & bit;
            seen |= bit;
        }
    }
    repeat != 0
}

/// Draws the targets for `target` into `s.next` and prefetches their output rows, so they are
/// on their way while the current prediction is computed.
#[inline(always)]
fn draw_ahead<O: Rows + ?Sized>(ctx: &Ctx, out: &O, target: u32, rng: &mut Rng, s: &mut Scratch) {
    s.next_repeat = draw_targets(ctx, target, rng, &mut s.next);
    for &w in &s.next {
        out.prefetch(w as usize, ctx.dim);
    }
}

/// The prediction of `s.targets` (drawn by `draw_targets`) from `input`: accumulates the
/// input's gradient in `work` and, when learning the hidden layer, updates the output rows.
///
/// All rows are loaded before any arithmetic: they are scattered over tens of MB, and loads
/// issued together wait for memory in parallel.
#[inline(always)]
fn negative_sampling<O: Rows + ?Sized>(
    ctx: &Ctx,
    out: &O,
    input: &[f32],
    alpha: f32,
    s: &mut Scratch,
) {
    // Every slice is cut to `dim`: where the caller fixes it at compile time (the trainer's
    // common widths), the loops below unroll.
    let dim = ctx.dim;
    let input = &input[..dim];
    for (k, &w) in s.targets.iter().enumerate() {
        out.read(w as usize, dim, &mut s.rows[k * dim..(k + 1) * dim]);
    }
    for (k, &w) in s.targets.iter().enumerate() {
        // A noise word drawn twice sees its first update, as in gensim (which works on the
        // table itself); a copy read before that update would also lose it when stored.
        if ctx.learn.hidden && s.targets_repeat {
            if let Some(m) = s.targets[..k].iter().rposition(|&t| t == w) {
                s.rows.copy_within(m * dim..(m + 1) * dim, k * dim);
            }
        }
        let row = &mut s.rows[k * dim..(k + 1) * dim];
        let label = if k == 0 { 1.0 } else { 0.0 };
        let f = dot(input, row);
        if !(-MAX_EXP..MAX_EXP).contains(&f) {
            // Saturated: gensim skips the update whatever the label (word2vec.c would still
            // push a wrong saturated guess back). We follow gensim, the model we must match.
            continue;
        }
        let g = (label - ctx.sigmoid.at(f)) * alpha;
        axpy(g, row, &mut s.work[..dim]);
        if ctx.learn.hidden {
            axpy(g, input, row);
            out.store(w as usize, dim, row);
        }
    }
}

/// PV-DBOW over one document: the document vector `doc` predicts each of its words.
#[inline(always)]
pub(crate) fn dbow_document<O: Rows + ?Sized>(
    ctx: &Ctx,
    out: &O,
    words: &[u32],
    doc: &mut [f32],
    alpha: f32,
    rng: &mut Rng,
    s: &mut Scratch,
) {
    let Some(&first) = words.first() else { return };
    draw_ahead(ctx, out, first, rng, s);
    for i in 0..words.len() {
        std::mem::swap(&mut s.targets, &mut s.next);
        std::mem::swap(&mut s.targets_repeat, &mut s.next_repeat);
        if let Some(&w) = words.get(i + 1) {
            draw_ahead(ctx, out, w, rng, s);
            // Nothing else draws from `rng` here, so the word after that will draw the next
            // `negative` numbers: their noise slots are asked for now, a step ahead, as its
            // rows will be. (A copy of the generator: the draws themselves are unchanged.)
            let mut peek = rng.clone();
            for _ in 0..ctx.negative {
                if let Some(slot) = ctx.noise.slot_for(peek.next()) {
                    crate::model::kernel::prefetch::prefetch(slot);
                }
            }
        }
        s.work[..ctx.dim].fill(0.0);
        negative_sampling(ctx, out, doc, alpha, s);
        axpy(1.0, &s.work[..ctx.dim], &mut doc[..ctx.dim]);
    }
}

/// Skip-gram over one document's words (PV-DBOW with word training, gensim's `dbow_words`).
#[inline(always)]
pub(crate) fn skipgram_document<W: Rows + ?Sized, O: Rows + ?Sized>(
    ctx: &Ctx,
    input: &W,
    out: &O,
    words: &[u32],
    alpha: f32,
    rng: &mut Rng,
    s: &mut Scratch,
) {
    let n = words.len();
    for i in 0..n {
        let b = rng.below(ctx.window as u32) as usize;
        let (lo, hi) = (
            (i + b).saturating_sub(ctx.window),
            (i + ctx.window + 1 - b).min(n),
        );
        for j in lo..hi {
            if j == i {
                continue;
            }
            input.read(words[j] as usize, ctx.dim, &mut s.row);
            s.work[..ctx.dim].fill(0.0);
            let l1 = std::mem::take(&mut s.row);
            let mut targets = std::mem::take(&mut s.targets);
            s.targets_repeat = draw_targets(ctx, words[i], rng, &mut targets);
            s.targets = targets;
            negative_sampling(ctx, out, &l1, alpha, s);
            s.row = l1;
            if ctx.learn.words {
                input.add(words[j] as usize, ctx.dim, &s.work);
            }
        }
    }
}

/// PV-DM over one document: the sum (or mean) of the document vector and the context word
/// vectors within a randomly reduced window predicts the centre word.
#[expect(
    clippy::too_many_arguments,
    reason = "the hot loop takes its tables as separate borrows"
)]
#[inline(always)]
pub(crate) fn dm_document<W: Rows + ?Sized, O: Rows + ?Sized>(
    ctx: &Ctx,
    input: &W,
    out: &O,
    words: &[u32],
    doc: &mut [f32],
    alpha: f32,
    mean: bool,
    rng: &mut Rng,
    s: &mut Scratch,
) {
    let (n, dim) = (words.len(), ctx.dim);
    let Some(&first) = words.first() else { return };
    let window = ctx.window;
    for (p, &w) in words.iter().enumerate().take(window + 1) {
        s.window.enter(input, dim, p, w, ctx.learn.words);
    }
    draw_ahead(ctx, out, first, rng, s);
    for i in 0..n {
        std::mem::swap(&mut s.targets, &mut s.next);
        std::mem::swap(&mut s.targets_repeat, &mut s.next_repeat);
        if let Some(&w) = words.get(i + 1) {
            draw_ahead(ctx, out, w, rng, s);
        }
        // The word entering the window after the next step.
        if let Some(&w) = words.get(i + 2 + window) {
            input.prefetch(w as usize, ctx.dim);
        }
        let b = rng.below(window as u32) as usize;
        let (lo, hi) = ((i + b).saturating_sub(window), (i + window + 1 - b).min(n));
        s.l1[..dim].copy_from_slice(&doc[..dim]);
        let mut count = 1.0f32;
        for j in lo..hi {
            if j != i {
                axpy(1.0, s.window.row(dim, j), &mut s.l1[..dim]);
                count += 1.0;
            }
        }
        let inv = 1.0 / count;
        if mean {
            s.l1[..dim].iter_mut().for_each(|x| *x *= inv);
        }
        s.work[..ctx.dim].fill(0.0);
        let l1 = std::mem::take(&mut s.l1);
        negative_sampling(ctx, out, &l1, alpha, s);
        s.l1 = l1;
        if !mean {
            // gensim (dm_mean=0): the summed input's error is shared among its parts.
            s.work[..dim].iter_mut().for_each(|x| *x *= inv);
        }
        axpy(1.0, &s.work[..dim], &mut doc[..dim]);
        if ctx.learn.words {
            for j in lo..hi {
                if j != i {
                    axpy(1.0, &s.work[..dim], s.window.row_mut(dim, j));
                }
            }
        }
        // Slide: the leftmost position leaves, the next one on the right enters.
        if i >= window {
            s.window.leave(input, dim, i - window, ctx.learn.words);
        }
        if let Some(&w) = words.get(i + 1 + window) {
            s.window
                .enter(input, dim, i + 1 + window, w, ctx.learn.words);
        }
    }
    for p in n.saturating_sub(window)..n {
        s.window.leave(input, dim, p, ctx.learn.words);
    }
}

/// The words of a document that one pass trains on: frequent words randomly dropped
/// (`keep[w]` is the keep probability scaled to u32), at most `max_words` (0: no limit).
#[inline(always)]
pub(crate) fn effective_words(
    words: &[u32],
    keep: &[u32],
    max_words: usize,
    rng: &mut Rng,
    out: &mut Vec<u32>,
) {
    out.clear();
    for &w in words {
        let k = keep[w as usize];
        if k != u32::MAX && (rng.next() as u32) >= k {
            continue;
        }
        out.push(w);
        if max_words > 0 && out.len() == max_words {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_axpy() {
        let a: Vec<f32> = (0..52).map(|i| i as f32).collect();
        let b = vec![2.0f32; 52];
        assert_eq!(dot(&a, &b), 2.0 * (0..52).sum::<i32>() as f32);
        let mut y = vec![1.0f32; 52];
        axpy(0.5, &b, &mut y);
        assert!(y.iter().all(|&v| v == 2.0));
    }

    #[test]
    fn sigmoid_table() {
        let s = Sigmoid::new();
        assert!((s.at(0.0) - 0.5).abs() < 0.01);
        assert_eq!(s.at(7.0), 1.0);
        assert_eq!(s.at(-7.0), 0.0);
        assert!((s.at(2.0) - 0.8808).abs() < 0.01);
        assert!(
            s.at(MAX_EXP - f32::EPSILON * 4.0) > 0.99,
            "the last slot, not past it"
        );
    }

    #[test]
    fn shared_rows_round_trip_with_odd_dimensions() {
        // Two rows of dimension 3: stored with a fourth, padding lane.
        let t = SharedTable::new(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3);
        let stride = SharedTable::stride(3);
        assert_eq!(stride, 4);
        let mut out = [9.0; 4];
        t.read(1, stride, &mut out);
        assert_eq!(out, [4.0, 5.0, 6.0, 0.0]);
        t.add(1, stride, &[0.5, -1.0, 0.0, 0.0]);
        t.store(0, stride, &[3.0, 4.0, 5.0, 0.0]);
        let odd = [7.0f32, 8.0, 9.0, 10.0, 0.0];
        t.store(0, stride, &odd[1..]); // possibly misaligned: either path must agree
        let mut out = [0.0; 4];
        t.read(0, stride, &mut out);
        assert_eq!(out, [8.0, 9.0, 10.0, 0.0]);
        t.store(0, stride, &[3.0, 4.0, 5.0, 0.0]);
        assert_eq!(t.to_plain(), [3.0, 4.0, 5.0, 4.5, 4.0, 6.0]);
    }

    /// PV-DM over one document as gensim's `train_document_dm` applies it: every read and
    /// update straight on the tables, one prediction after another.
    #[expect(
        clippy::too_many_arguments,
        reason = "a reference mirrors dm_document's inputs"
    )]
    fn dm_reference(
        ctx: &Ctx,
        input: &mut [f32],
        out: &mut [f32],
        words: &[u32],
        doc: &mut [f32],
        alpha: f32,
        mean: bool,
        rng: &mut Rng,
    ) {
        let (dim, n) = (ctx.dim, words.len());
        let mut next = Vec::new();
        draw_targets(ctx, words[0], rng, &mut next);
        for i in 0..n {
            let targets = next.clone();
            if let Some(&w) = words.get(i + 1) {
                draw_targets(ctx, w, rng, &mut next);
            }
            let b = rng.below(ctx.window as u32) as usize;
            let (lo, hi) = (
                (i + b).saturating_sub(ctx.window),
                (i + ctx.window + 1 - b).min(n),
            );
            let mut l1 = doc.to_vec();
            let mut count = 1.0f32;
            for j in (lo..hi).filter(|&j| j != i) {
                let w = words[j] as usize;
                axpy(1.0, &input[w * dim..(w + 1) * dim], &mut l1);
                count += 1.0;
            }
            if mean {
                l1.iter_mut().for_each(|x| *x *= 1.0 / count);
            }
            let mut work = vec![0.0f32; dim];
            for (k, &t) in targets.iter().enumerate() {
                let row = &mut out[t as usize * dim..(t as usize + 1) * dim];
                let f = dot(&l1, row);
                if !(-MAX_EXP..MAX_EXP).contains(&f) {
                    continue;
                }
                let g = (if k == 0 { 1.0 } else { 0.0 } - ctx.sigmoid.at(f)) * alpha;
                axpy(g, row, &mut work);
                axpy(g, &l1, row);
            }
            if !mean {
                work.iter_mut().for_each(|x| *x *= 1.0 / count);
            }
            axpy(1.0, &work, doc);
            for j in (lo..hi).filter(|&j| j != i) {
                let w = words[j] as usize;
                axpy(1.0, &work, &mut input[w * dim..(w + 1) * dim]);
            }
        }
    }

    #[test]
    fn dm_with_its_window_of_rows_is_gensims_rule_bit_for_bit() {
        // Six words, so the window and the noise draws repeat words all the time: the cases
        // where copies of a row could lose an update.
        let (dim, vocab) = (6, 6);
        let noise = AliasTable::new(&[40, 20, 10, 5, 3, 1], 0.75);
        let sigmoid = Sigmoid::new();
        let ctx = Ctx {
            dim,
            window: 3,
            negative: 5,
            sigmoid: &sigmoid,
            noise: &noise,
            learn: Learn {
                words: true,
                hidden: true,
            },
        };
        let mut init = Rng::new(7);
        let mut start =
            |rows: usize| -> Vec<f32> { (0..rows * dim).map(|_| init.unit() - 0.5).collect() };
        let (input, out, doc) = (start(vocab), start(vocab), start(1));
        let mut pick = Rng::new(3);
        for len in [1usize, 2, 3, 4, 7, 300] {
            let words: Vec<u32> = (0..len).map(|_| pick.below(vocab as u32)).collect();
            for mean in [true, false] {
                let (mut ri, mut ro, mut rd) = (input.clone(), out.clone(), doc.clone());
                dm_reference(
                    &ctx,
                    &mut ri,
                    &mut ro,
                    &words,
                    &mut rd,
                    0.05,
                    mean,
                    &mut Rng::new(9),
                );
                let (ti, to) = (SharedTable::new(&input, dim), SharedTable::new(&out, dim));
                let mut td = doc.clone();
                let mut scratch = Scratch::new(dim, ctx.window, ctx.negative);
                let mut rng = Rng::new(9);
                dm_document(
                    &ctx,
                    &ti,
                    &to,
                    &words,
                    &mut td,
                    0.05,
                    mean,
                    &mut rng,
                    &mut scratch,
                );
                let case = format!("{len} words, mean {mean}");
                assert_eq!(td, rd, "document vector, {case}");
                assert_eq!(ti.to_plain(), ri, "word vectors, {case}");
                assert_eq!(to.to_plain(), ro, "output weights, {case}");
            }
        }
    }

    #[test]
    fn merging_a_row_keeps_another_threads_update() {
        let t = SharedTable::new(&[1.0, 2.0], 2);
        // Read as [1, 2], changed locally to [1.5, 2]; meanwhile another thread made it [1, 3].
        t.store(0, 2, &[1.0, 3.0]);
        t.merge(0, 2, &[1.0, 2.0], &[1.5, 2.0]);
        assert_eq!(t.to_plain(), [1.5, 3.0]);
        // Unchanged meanwhile: the local row is stored as it is.
        t.merge(0, 2, &[1.5, 3.0], &[0.25, -1.0]);
        assert_eq!(t.to_plain(), [0.25, -1.0]);
    }

    #[test]
    fn rng_is_uniform_enough() {
        let mut r = Rng::new(1);
        let mut hist = [0u32; 4];
        for _ in 0..40_000 {
            hist[r.below(4) as usize] += 1;
        }
        assert!(
            hist.iter().all(|&h| (9_000..11_000).contains(&h)),
            "{hist:?}"
        );
        let u = r.unit();
        assert!((0.0..1.0).contains(&u));
    }
}
