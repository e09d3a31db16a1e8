//! The collection map's layout: every document vector placed in 2-D so that documents similar
//! in the model stay close on the map, computed once with the model and stored in its file.
//!
//! The method is UMAP's (McInnes, Healy & Melville 2018) in its plain form:
//! 1. the exact k nearest neighbours of each document by cosine (a blocked matrix product and a
//!    top-k in libtorch: ~10^11 flops for 43,000 documents, seconds on 2 cores);
//! 2. UMAP's fuzzy neighbourhood weights (each point's distances smoothed so they sum to
//!    log2 k), made symmetric by fuzzy union;
//! 3. a start from the first two principal components (global shape kept, deterministic);
//! 4. UMAP's SGD: attraction along sampled edges, repulsion from negative samples, learning rate
//!    decaying to 0, with the curve 1 / (1 + a d^2b) of min_dist 0.1 (a = 1.577, b = 0.895).
//!
//! One thread and a seeded generator: the same vectors and seed give the same layout. The
//! result is scaled into the unit square (aspect kept, centred). A new text is placed by the
//! weighted mean of where its nearest documents lie (`place`), as UMAP's transform starts.

use tch::{Kind, Tensor};

/// Knobs of `compute`; the defaults are UMAP's.
#[derive(Debug, Clone, Copy)]
pub struct LayoutOpts {
    /// Neighbours per document in the graph.
    pub neighbours: usize,
    /// SGD epochs; 0 picks UMAP's default (500 below 10,000 documents, else 200).
    pub epochs: usize,
    /// Negative samples per attraction.
    pub negative: usize,
    pub seed: u64,
}

impl Default for LayoutOpts {
    fn default() -> LayoutOpts {
        LayoutOpts {
            neighbours: 15,
            epochs: 0,
            negative: 5,
            seed: 1,
        }
    }
}

/// The curve's parameters for min_dist 0.1, spread 1 (UMAP's `find_ab_params`).
const A: f32 = 1.577;
const B: f32 = 0.8951;
/// Rows of the similarity matrix computed at a time (a block of 43,000 columns is 88 MB).
const BLOCK: usize = 512;

/// What `compute` reports while it works: the stage, and how far it is.
pub type Progress<'a> = &'a (dyn Fn(&'static str, usize, usize) + Sync);

/// The 2-D layout of `vectors` (`rows * dim` values), `rows * 2` values in [0, 1].
pub fn compute(vectors: &[f32], dim: usize, opts: LayoutOpts, progress: Progress) -> Vec<f32> {
    let rows = vectors.len().checked_div(dim).unwrap_or(0);
    match rows {
        // Nothing to arrange: one point in the middle, two side by side.
        0 => return Vec::new(),
        1 => return vec![0.5, 0.5],
        2 => return vec![0.25, 0.5, 0.75, 0.5],
        _ => {}
    }
    let unit = normalised(vectors, dim);
    let k = opts.neighbours.clamp(1, rows - 1);
    let (neighbours, distances) = nearest(&unit, dim, k, progress);
    let edges = fuzzy_graph(&neighbours, &distances, rows, k);
    let mut y = principal_components(&unit, dim);
    let epochs = match opts.epochs {
        0 if rows < 10_000 => 500,
        0 => 200,
        n => n,
    };
    optimise(&mut y, &edges, epochs, opts.negative, opts.seed, progress);
    into_unit_square(&mut y);
    y
}

/// The share of each document's `k` nearest neighbours in the model that are also among its
/// `k` nearest on the map, averaged over up to `sample` documents (evenly spaced): 1 is
/// perfect, k / documents is what a random layout scores.
pub fn neighbourhood_preservation(
    vectors: &[f32],
    dim: usize,
    layout: &[f32],
    k: usize,
    sample: usize,
) -> f64 {
    let rows = vectors.len() / dim.max(1);
    if rows < 2 || layout.len() != rows * 2 {
        return 0.0;
    }
    let k = k.clamp(1, rows - 1);
    let unit = normalised(vectors, dim);
    let step = (rows / sample.max(1)).max(1);
    let mut total = 0.0;
    let mut n = 0;
    for i in (0..rows).step_by(step) {
        let q = &unit[i * dim..(i + 1) * dim];
        let mut model: Vec<(f32, usize)> = (0..rows)
            .filter(|&j| j != i)
            .map(|j| (-dot(q, &unit[j * dim..(j + 1) * dim]), j))
            .collect();
        let mut map: Vec<(f32, usize)> = (0..rows)
            .filter(|&j| j != i)
            .map(|j| {
                let (dx, dy) = (
                    layout[2 * i] - layout[2 * j],
                    layout[2 * i + 1] - layout[2 * j + 1],
                );
                (dx * dx + dy * dy, j)
            })
            .collect();
        let top = |v: &mut Vec<(f32, usize)>| -> Vec<usize> {
            v.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
            let mut ids: Vec<usize> = v[..k].iter().map(|p| p.1).collect();
            ids.sort_unstable();
            ids
        };
        let (a, b) = (top(&mut model), top(&mut map));
        total += a.iter().filter(|j| b.binary_search(j).is_ok()).count() as f64 / k as f64;
        n += 1;
    }
    total / n as f64
}

/// Where a vector falls on the map: the mean of its nearest documents' places, each weighted
/// by exp((cosine - best cosine) / 0.05), so that a document 0.05 less similar than the best
/// counts e times less (`hits` are (row, cosine), best first).
pub fn place(layout: &[f32], hits: &[(usize, f32)]) -> Option<[f32; 2]> {
    const TEMPERATURE: f32 = 0.05;
    let best = hits.first()?.1;
    let (mut x, mut y, mut total) = (0.0f32, 0.0f32, 0.0f32);
    for &(row, score) in hits {
        let w = ((score - best) / TEMPERATURE).exp();
        x += w * layout.get(2 * row)?;
        y += w * layout.get(2 * row + 1)?;
        total += w;
    }
    Some([x / total, y / total])
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    crate::model::kernel::dot(a, b)
}

fn normalised(vectors: &[f32], dim: usize) -> Vec<f32> {
    let mut unit = vectors.to_vec();
    crate::model::kernel::normalise_rows(&mut unit, dim);
    unit
}

/// Each row's `k` nearest other rows and their cosine distances (1 - cosine), nearest first.
fn nearest(unit: &[f32], dim: usize, k: usize, progress: Progress) -> (Vec<u32>, Vec<f32>) {
    let rows = unit.len() / dim;
    let mut neighbours = Vec::with_capacity(rows * k);
    let mut distances = Vec::with_capacity(rows * k);
    tch::no_grad(|| {
        let all = Tensor::from_slice(unit).view([rows as i64, dim as i64]);
        let all_t = all.tr();
        for start in (0..rows).step_by(BLOCK) {
            progress("neighbours", start, rows);
            let len = BLOCK.min(rows - start);
            let scores = all.narrow(0, start as i64, len as i64).mm(&all_t);
            let (values, indices) = scores.topk((k + 1) as i64, 1, true, true);
            let values = Vec::<f32>::try_from(values.to_kind(Kind::Float).flatten(0, -1))
                .unwrap_or_default();
            let indices = Vec::<i64>::try_from(indices.flatten(0, -1)).unwrap_or_default();
            for r in 0..len {
                let row = start + r;
                let mut taken = 0;
                for c in 0..=k {
                    let j = indices[r * (k + 1) + c] as usize;
                    // Itself is usually first, but a duplicate may come before it.
                    if j == row || taken == k {
                        continue;
                    }
                    neighbours.push(j as u32);
                    distances.push((1.0 - values[r * (k + 1) + c]).max(0.0));
                    taken += 1;
                }
            }
        }
    });
    progress("neighbours", rows, rows);
    (neighbours, distances)
}

/// One directed edge of the graph and its weight.
#[derive(Debug, Clone, Copy)]
struct Edge {
    head: u32,
    tail: u32,
    weight: f32,
}

/// UMAP's fuzzy simplicial set: each row's distances smoothed to sum to log2 k, then the two
/// directions of each pair combined as a + b - ab. Both directions are returned.
fn fuzzy_graph(neighbours: &[u32], distances: &[f32], rows: usize, k: usize) -> Vec<Edge> {
    let target = (k as f32).log2().max(1e-3);
    let mean_all = distances.iter().sum::<f32>() / distances.len().max(1) as f32;
    let mut directed: Vec<(u32, u32, f32)> = Vec::with_capacity(rows * k);
    for i in 0..rows {
        let d = &distances[i * k..(i + 1) * k];
        let rho = d.iter().copied().find(|&x| x > 0.0).unwrap_or(0.0);
        let (mut lo, mut hi, mut sigma) = (0.0f32, f32::INFINITY, 1.0f32);
        for _ in 0..64 {
            let sum: f32 = d.iter().map(|&x| (-(x - rho).max(0.0) / sigma).exp()).sum();
            if (sum - target).abs() < 1e-5 {
                break;
            }
            if sum > target {
                hi = sigma;
                sigma = (lo + hi) / 2.0;
            } else {
                lo = sigma;
                sigma = if hi.is_finite() {
                    (lo + hi) / 2.0
                } else {
                    sigma * 2.0
                };
            }
        }
        let mean_i = d.iter().sum::<f32>() / k as f32;
        let floor = 1e-3 * if rho > 0.0 { mean_i } else { mean_all };
        let sigma = sigma.max(floor).max(1e-12);
        for (c, &x) in d.iter().enumerate() {
            let j = neighbours[i * k + c];
            let w = (-(x - rho).max(0.0) / sigma).exp();
            let (a, b) = if (i as u32) < j {
                (i as u32, j)
            } else {
                (j, i as u32)
            };
            directed.push((a, b, w));
        }
    }
    directed.sort_unstable_by_key(|x| (x.0, x.1));
    let mut edges = Vec::with_capacity(directed.len() * 2);
    let mut i = 0;
    while i < directed.len() {
        let (a, b, mut w) = directed[i];
        let mut j = i + 1;
        while j < directed.len() && (directed[j].0, directed[j].1) == (a, b) {
            let v = directed[j].2;
            w = w + v - w * v;
            j += 1;
        }
        // A pair seen from one side only keeps its weight (the other side's is 0).
        edges.push(Edge {
            head: a,
            tail: b,
            weight: w,
        });
        edges.push(Edge {
            head: b,
            tail: a,
            weight: w,
        });
        i = j;
    }
    edges
}

/// The rows projected on their first two principal components, scaled to [-10, 10] (UMAP's
/// range for its initial layout), with a little seeded jitter so duplicates can separate.
fn principal_components(unit: &[f32], dim: usize) -> Vec<f32> {
    let rows = unit.len() / dim;
    let mut mean = vec![0.0f64; dim];
    for row in unit.chunks(dim) {
        mean.iter_mut().zip(row).for_each(|(m, &x)| *m += x as f64);
    }
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    let mut cov = vec![0.0f64; dim * dim];
    let mut centred = vec![0.0f64; dim];
    for row in unit.chunks(dim) {
        centred
            .iter_mut()
            .zip(row.iter().zip(&mean))
            .for_each(|(c, (&x, m))| *c = x as f64 - m);
        for a in 0..dim {
            let ca = centred[a];
            for b in a..dim {
                cov[a * dim + b] += ca * centred[b];
            }
        }
    }
    for a in 0..dim {
        for b in 0..a {
            cov[a * dim + b] = cov[b * dim + a];
        }
    }
    // Power iteration with deflation: the top two eigenvectors of a small symmetric matrix.
    let mut components: Vec<Vec<f64>> = Vec::new();
    for c in 0..2 {
        let mut v: Vec<f64> = (0..dim)
            .map(|i| 1.0 + ((i * 7 + c * 3) % 11) as f64 / 11.0)
            .collect();
        for _ in 0..300 {
            let mut w: Vec<f64> = (0..dim)
                .map(|a| (0..dim).map(|b| cov[a * dim + b] * v[b]).sum())
                .collect();
            for prev in &components {
                let p: f64 = w.iter().zip(prev).map(|(x, y)| x * y).sum();
                w.iter_mut().zip(prev).for_each(|(x, y)| *x -= p * y);
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm < 1e-30 {
                // No variance left in this direction: any unit vector orthogonal will do.
                w = (0..dim).map(|i| if i == c { 1.0 } else { 0.0 }).collect();
                break;
            }
            v = w.into_iter().map(|x| x / norm).collect();
        }
        components.push(v);
    }
    let mut y = Vec::with_capacity(rows * 2);
    for row in unit.chunks(dim) {
        for comp in &components {
            y.push(
                row.iter()
                    .zip(comp.iter().zip(&mean))
                    .map(|(&x, (c, m))| (x as f64 - m) * c)
                    .sum::<f64>() as f32,
            );
        }
    }
    let extent = y.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
    let mut rng = SplitMix(0x9e37_79b9);
    for v in &mut y {
        *v = *v / extent * 10.0 + (rng.unit() - 0.5) * 1e-3;
    }
    y
}

/// UMAP's `optimize_layout_euclidean` on one thread.
fn optimise(
    y: &mut [f32],
    edges: &[Edge],
    epochs: usize,
    negative: usize,
    seed: u64,
    progress: Progress,
) {
    let rows = y.len() / 2;
    let max_w = edges.iter().fold(0.0f32, |m, e| m.max(e.weight));
    if max_w <= 0.0 {
        return;
    }
    // Edges too weak to be sampled once in the whole run are dropped, as UMAP does.
    let edges: Vec<Edge> = edges
        .iter()
        .copied()
        .filter(|e| e.weight >= max_w / epochs as f32)
        .collect();
    let every: Vec<f32> = edges.iter().map(|e| max_w / e.weight).collect();
    let every_negative: Vec<f32> = every.iter().map(|e| e / negative.max(1) as f32).collect();
    let mut next = every.clone();
    let mut next_negative = every_negative.clone();
    let mut rng = SplitMix(seed ^ 0x5eed_1a70);
    let clip = |g: f32| g.clamp(-4.0, 4.0);
    for epoch in 0..epochs {
        if epoch % 10 == 0 {
            progress("layout", epoch, epochs);
        }
        let n = epoch as f32;
        let alpha = 1.0 - n / epochs as f32;
        for (e, edge) in edges.iter().enumerate() {
            if next[e] > n {
                continue;
            }
            let (i, j) = (edge.head as usize, edge.tail as usize);
            let (dx, dy) = (y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]);
            let d2 = dx * dx + dy * dy;
            if d2 > 0.0 {
                let pow = d2.powf(B);
                let g = -2.0 * A * B * pow / d2 / (A * pow + 1.0);
                let (gx, gy) = (clip(g * dx) * alpha, clip(g * dy) * alpha);
                y[2 * i] += gx;
                y[2 * i + 1] += gy;
                y[2 * j] -= gx;
                y[2 * j + 1] -= gy;
            }
            next[e] += every[e];
            let samples = ((n - next_negative[e]) / every_negative[e]).max(0.0) as usize;
            for _ in 0..samples {
                let k = rng.below(rows);
                if k == i {
                    continue;
                }
                let (dx, dy) = (y[2 * i] - y[2 * k], y[2 * i + 1] - y[2 * k + 1]);
                let d2 = dx * dx + dy * dy;
                let (gx, gy) = if d2 > 0.0 {
                    let g = 2.0 * B / ((0.001 + d2) * (A * d2.powf(B) + 1.0));
                    (clip(g * dx), clip(g * dy))
                } else {
                    (4.0, 4.0)
                };
                y[2 * i] += gx * alpha;
                y[2 * i + 1] += gy * alpha;
            }
            next_negative[e] += samples as f32 * every_negative[e];
        }
    }
    progress("layout", epochs, epochs);
}

/// Scales and centres the layout into [0, 1] x [0, 1], the same scale on both axes.
fn into_unit_square(y: &mut [f32]) {
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for p in y.chunks(2) {
        for d in 0..2 {
            lo[d] = lo[d].min(p[d]);
            hi[d] = hi[d].max(p[d]);
        }
    }
    let span = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1e-12);
    let pad = [
        (1.0 - (hi[0] - lo[0]) / span) / 2.0,
        (1.0 - (hi[1] - lo[1]) / span) / 2.0,
    ];
    for p in y.chunks_mut(2) {
        for d in 0..2 {
            p[d] = (p[d] - lo[d]) / span + pad[d];
        }
    }
}

/// A small seeded generator (SplitMix64): fast enough for the negative samples' inner loop.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `clusters` tight groups of `per` points around random directions in `dim` dimensions.
    fn clustered(clusters: usize, per: usize, dim: usize) -> Vec<f32> {
        let mut rng = SplitMix(7);
        let mut out = Vec::new();
        for _ in 0..clusters {
            let centre: Vec<f32> = (0..dim).map(|_| rng.unit() - 0.5).collect();
            for _ in 0..per {
                out.extend(centre.iter().map(|c| c + (rng.unit() - 0.5) * 0.15));
            }
        }
        out
    }

    fn quiet(_: &'static str, _: usize, _: usize) {}

    #[test]
    fn clusters_stay_together_and_neighbours_stay_near() {
        let (clusters, per, dim) = (8, 60, 24);
        let v = clustered(clusters, per, dim);
        let layout = compute(&v, dim, LayoutOpts::default(), &quiet);
        assert_eq!(layout.len(), clusters * per * 2);
        assert!(
            layout.iter().all(|x| (0.0..=1.0).contains(x)),
            "in the unit square"
        );
        // Each point's nearest point on the map is from its own cluster.
        let n = clusters * per;
        let mut same = 0;
        for i in 0..n {
            let nearest = (0..n)
                .filter(|&j| j != i)
                .min_by(|&a, &b| {
                    let d = |j: usize| {
                        (layout[2 * i] - layout[2 * j]).powi(2)
                            + (layout[2 * i + 1] - layout[2 * j + 1]).powi(2)
                    };
                    d(a).total_cmp(&d(b))
                })
                .unwrap();
            same += usize::from(nearest / per == i / per);
        }
        assert!(
            same as f64 / n as f64 > 0.97,
            "{same} of {n} beside their own cluster"
        );
        // Neighbourhoods kept far better than by chance (10 / 479) and than by PCA alone.
        let umap = neighbourhood_preservation(&v, dim, &layout, 10, 200);
        let mut pca = principal_components(&normalised(&v, dim), dim);
        into_unit_square(&mut pca);
        let pca = neighbourhood_preservation(&v, dim, &pca, 10, 200);
        assert!(
            umap > 0.3 && umap > pca + 0.05,
            "umap {umap:.3}, pca {pca:.3}"
        );
    }

    #[test]
    fn deterministic_and_placed_near_itself() {
        let v = clustered(4, 30, 16);
        let a = compute(&v, 16, LayoutOpts::default(), &quiet);
        let b = compute(&v, 16, LayoutOpts::default(), &quiet);
        assert_eq!(a, b, "same vectors and seed, same layout");
        let other = compute(
            &v,
            16,
            LayoutOpts {
                seed: 2,
                ..LayoutOpts::default()
            },
            &quiet,
        );
        assert_ne!(a, other, "the seed matters");
        // A point placed from its own neighbours lands beside itself.
        let hits = [(5usize, 1.0f32), (6, 0.9), (7, 0.85)];
        let p = place(&a, &hits).unwrap();
        let d = ((p[0] - a[10]).powi(2) + (p[1] - a[11]).powi(2)).sqrt();
        assert!(d < 0.1, "placed {d} away");
        assert!(place(&a, &[]).is_none());
    }

    #[test]
    fn tiny_collections() {
        assert!(compute(&[], 3, LayoutOpts::default(), &quiet).is_empty());
        assert_eq!(
            compute(&[1.0, 0.0, 0.0], 3, LayoutOpts::default(), &quiet),
            [0.5, 0.5]
        );
        assert_eq!(
            compute(
                &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                3,
                LayoutOpts::default(),
                &quiet
            )
            .len(),
            4
        );
        let three = compute(
            &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            3,
            LayoutOpts::default(),
            &quiet,
        );
        assert!(three
            .iter()
            .all(|x| x.is_finite() && (0.0..=1.0).contains(x)));
        // Identical vectors still spread out (the jitter and the repulsion).
        let same = compute(&[1.0f32; 3 * 10], 3, LayoutOpts::default(), &quiet);
        assert!(same.iter().all(|x| x.is_finite()));
    }
}
