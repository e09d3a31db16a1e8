//! The citation links among the collection's documents that the default engine trained on (the
//! collection's graph, or the links read off its texts when it has none), kept in the model so
//! that a draft's missing citations can be read off what the collection cites together:
//! co-citation (documents cited by the same documents as the ones the draft cites), what the
//! documents most like the draft cite, and what the documents citing what the draft cites
//! also cite (bibliographic coupling). Both directions, as compressed rows of model
//! document indices: a few bytes a link.

/// Links between model documents (indices), both ways.
#[derive(Debug, Clone, PartialEq)]
pub struct Links {
    /// `offsets[d]..offsets[d + 1]` are the documents `d` cites, in `targets`.
    offsets: Vec<u32>,
    targets: Vec<u32>,
    /// The same, reversed: the documents citing `d`.
    rev_offsets: Vec<u32>,
    sources: Vec<u32>,
    /// The most documents citing any one document, counted once (the re-ranker reads it for
    /// every text).
    most_cited: usize,
    /// How many documents cite at least one other.
    citing: usize,
}

impl Links {
    /// The links of `docs` documents from (citing, cited) index pairs; repeated pairs and
    /// self-citations are dropped.
    pub fn from_pairs(docs: usize, pairs: &[(u32, u32)]) -> Links {
        let mut pairs: Vec<(u32, u32)> = pairs
            .iter()
            .copied()
            .filter(|&(a, b)| a != b && (a as usize) < docs && (b as usize) < docs)
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let (offsets, targets) = rows(docs, &pairs);
        let mut reversed: Vec<(u32, u32)> = pairs.iter().map(|&(a, b)| (b, a)).collect();
        reversed.sort_unstable();
        let (rev_offsets, sources) = rows(docs, &reversed);
        let most_cited = rev_offsets
            .windows(2)
            .map(|w| (w[1] - w[0]) as usize)
            .max()
            .unwrap_or(0);
        let citing = offsets.windows(2).filter(|w| w[1] > w[0]).count();
        Links {
            offsets,
            targets,
            rev_offsets,
            sources,
            most_cited,
            citing,
        }
    }

    /// The links from their stored form (`parts`), checked against a model of `docs`
    /// documents.
    pub fn from_parts(offsets: Vec<u32>, targets: Vec<u32>, docs: usize) -> Result<Links, String> {
        if offsets.len() != docs + 1
            || offsets.first() != Some(&0)
            || offsets.windows(2).any(|w| w[0] > w[1])
            || offsets.last().map(|&o| o as usize) != Some(targets.len())
        {
            return Err("link offsets are not a partition of the links".into());
        }
        if targets.iter().any(|&t| t as usize >= docs) {
            return Err("a link points outside the model's documents".into());
        }
        let pairs: Vec<(u32, u32)> = (0..docs)
            .flat_map(|d| {
                targets[offsets[d] as usize..offsets[d + 1] as usize]
                    .iter()
                    .map(move |&t| (d as u32, t))
            })
            .collect();
        Ok(Links::from_pairs(docs, &pairs))
    }

    /// The stored form: offsets `[docs + 1]` and the cited documents.
    pub fn parts(&self) -> (&[u32], &[u32]) {
        (&self.offsets, &self.targets)
    }

    /// How many links.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The most documents citing any one document.
    pub fn most_cited(&self) -> usize {
        self.most_cited
    }

    /// The documents `d` cites.
    pub fn cites(&self, d: usize) -> &[u32] {
        slice(&self.offsets, &self.targets, d)
    }

    /// The documents citing `d`.
    pub fn cited_by(&self, d: usize) -> &[u32] {
        slice(&self.rev_offsets, &self.sources, d)
    }

    /// Co-citation with the documents `named` (a draft's visible citations): for each document
    /// `d`, the mean over `x` in `named` of how many documents cite both, over the geometric
    /// mean of how many cite each (the cosine of their citing sets), in [0, 1]. `out` has one
    /// entry a document; it is overwritten. `with`, when given (one entry a document), gets
    /// for each document the one of `named` it is most often cited with.
    pub fn cocited(
        &self,
        named: &[usize],
        out: &mut [f32],
        mut with: Option<&mut [Option<usize>]>,
    ) {
        out.fill(0.0);
        let mut strongest = vec![0.0f32; if with.is_some() { out.len() } else { 0 }];
        if named.is_empty() {
            return;
        }
        self.each_cocited(named, |x, d, both, nx, nd| {
            let c = both / (nx * nd).sqrt();
            out[d] += c;
            if let Some(with) = with.as_deref_mut() {
                if c > strongest[d] {
                    strongest[d] = c;
                    with[d] = Some(x);
                }
            }
        });
        let k = named.len() as f32;
        out.iter_mut().for_each(|v| *v /= k);
    }

    /// For each `x` in `named` and each other document `d` cited together with it: `visit(x,
    /// d, how many documents cite both, how many cite x, how many cite d)`.
    pub fn each_cocited(
        &self,
        named: &[usize],
        mut visit: impl FnMut(usize, usize, f32, f32, f32),
    ) {
        let docs = self.offsets.len().saturating_sub(1);
        let mut count = vec![0u32; docs];
        let mut touched: Vec<u32> = Vec::new();
        for &x in named {
            let citers = self.cited_by(x);
            if citers.is_empty() {
                continue;
            }
            for &y in citers {
                for &d in self.cites(y as usize) {
                    if count[d as usize] == 0 {
                        touched.push(d);
                    }
                    count[d as usize] += 1;
                }
            }
            let nx = citers.len() as f32;
            for &d in &touched {
                let d = d as usize;
                if d != x {
                    let nd = self.cited_by(d).len().max(1) as f32;
                    visit(x, d, count[d] as f32, nx, nd);
                }
                count[d] = 0;
            }
            touched.clear();
        }
    }

    /// What the documents most like a draft cite: for each document `d`, the weighted share of
    /// `neighbours` (index, weight >= 0) citing it, in [0, 1]. `out` is overwritten.
    pub fn cited_by_neighbours(&self, neighbours: &[(usize, f32)], out: &mut [f32]) {
        out.fill(0.0);
        let total: f32 = neighbours.iter().map(|&(_, w)| w.max(0.0)).sum();
        if total <= 0.0 {
            return;
        }
        for &(y, w) in neighbours {
            for &d in self.cites(y) {
                out[d as usize] += w.max(0.0) / total;
            }
        }
    }

    /// The documents that cite what a draft cites (bibliographic coupling): each document
    /// `y` citing some of `named` (a draft's visible citations), weighted by |cites(y) &
    /// named| / sqrt(|cites(y)| |named|) (the cosine of the two citation lists), the `k`
    /// strongest, best first (ties by index).
    pub fn coupled(&self, named: &[usize], k: usize) -> Vec<(usize, f32)> {
        let docs = self.offsets.len().saturating_sub(1);
        if named.is_empty() || docs == 0 {
            return Vec::new();
        }
        let mut count = vec![0u32; docs];
        let mut touched: Vec<u32> = Vec::new();
        for &x in named {
            for &y in self.cited_by(x) {
                if count[y as usize] == 0 {
                    touched.push(y);
                }
                count[y as usize] += 1;
            }
        }
        let nk = named.len() as f32;
        let mut peers: Vec<(usize, f32)> = touched
            .into_iter()
            .map(|y| {
                let y = y as usize;
                let c = count[y] as f32 / (self.cites(y).len().max(1) as f32 * nk).sqrt();
                (y, c)
            })
            .collect();
        // The k strongest first (a total order: ties by index), without sorting them all.
        let order = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if k == 0 {
            return Vec::new();
        }
        if k < peers.len() {
            peers.select_nth_unstable_by(k - 1, order);
            peers.truncate(k);
        }
        peers.sort_unstable_by(order);
        peers
    }
}

/// How a document `d` stands to another, `x`, in the collection's links (issue 41): a
/// relation, shown beside likeness, never instead of it. The API's `why.relation`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Relation {
    /// `d` cites `x`: "cites this one".
    pub cites_it: bool,
    /// `x` cites `d`: "cited by it".
    pub cited_by_it: bool,
    /// How many documents cite both (co-citation): "cited together with it by 12 documents".
    pub cocited_by: u32,
    /// How many documents both cite (bibliographic coupling): "shares 9 references".
    pub shared_references: u32,
}

impl Relation {
    /// Whether the two are related at all.
    pub fn is_some(&self) -> bool {
        self.cites_it || self.cited_by_it || self.cocited_by > 0 || self.shared_references > 0
    }
}

impl Links {
    /// How `d` stands to `x` (`Relation`).
    pub fn relation(&self, x: usize, d: usize) -> Relation {
        Relation {
            cites_it: self.cites(d).binary_search(&(x as u32)).is_ok(),
            cited_by_it: self.cites(x).binary_search(&(d as u32)).is_ok(),
            cocited_by: common(self.cited_by(x), self.cited_by(d)),
            shared_references: common(self.cites(x), self.cites(d)),
        }
    }

    /// How many documents cite `d`, over how many cite anything: the share of the collection's
    /// citing documents that cite it (0 without links).
    pub fn cited_share(&self, d: usize) -> f32 {
        if self.citing == 0 {
            0.0
        } else {
            self.cited_by(d).len() as f32 / self.citing as f32
        }
    }
}

/// How many values two sorted lists share.
fn common(a: &[u32], b: &[u32]) -> u32 {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// A document's popularity from 0 to 1: ln(1 + its citers) / ln(1 + the most citers any
/// document has); 0 in a collection without links.
pub fn popularity(cited_by: f32, most_cited: f32) -> f32 {
    if most_cited > 0.0 {
        (1.0 + cited_by).ln() / (1.0 + most_cited).ln()
    } else {
        0.0
    }
}

/// Compressed rows of sorted (row, value) pairs over `docs` rows.
fn rows(docs: usize, pairs: &[(u32, u32)]) -> (Vec<u32>, Vec<u32>) {
    let mut offsets = vec![0u32; docs + 1];
    for &(a, _) in pairs {
        offsets[a as usize + 1] += 1;
    }
    for d in 0..docs {
        offsets[d + 1] += offsets[d];
    }
    (offsets, pairs.iter().map(|&(_, b)| b).collect())
}

fn slice<'a>(offsets: &[u32], values: &'a [u32], d: usize) -> &'a [u32] {
    match (offsets.get(d), offsets.get(d + 1)) {
        (Some(&a), Some(&b)) => &values[a as usize..b as usize],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn co_citation_and_neighbours_read_the_links() {
        // 0 and 1 both cite 3 and 4; 2 cites 4 and 5; 6 cites nothing.
        let links = Links::from_pairs(7, &[(0, 3), (0, 4), (1, 3), (1, 4), (2, 4), (2, 5), (2, 2)]);
        assert_eq!(links.len(), 6, "the self-citation is dropped");
        assert_eq!(links.cited_by(4), &[0, 1, 2]);
        assert_eq!(links.most_cited(), 3, "4 is cited by three");
        assert_eq!(Links::from_pairs(3, &[]).most_cited(), 0);
        let mut out = vec![0.0; 7];
        let mut with = vec![None; 7];
        links.cocited(&[3], &mut out, Some(&mut with));
        assert_eq!((with[4], with[5]), (Some(3), None));
        // 3's citers {0, 1}; 4's {0, 1, 2}: 2 / sqrt(2 * 3).
        assert!((out[4] - 2.0 / 6f32.sqrt()).abs() < 1e-6, "{out:?}");
        assert_eq!((out[3], out[5], out[6]), (0.0, 0.0, 0.0));
        links.cited_by_neighbours(&[(0, 1.0), (2, 3.0)], &mut out);
        assert_eq!(out[3], 0.25);
        assert_eq!(out[4], 1.0);
        assert_eq!(out[5], 0.75);
        // Who cites what 4 and 5 are cited by: 2 cites both (2 / sqrt(2 x 2)), 0 and 1 one of
        // the two (1 / sqrt(2 x 2)); the strongest first, ties by index, `k` of them.
        assert_eq!(links.coupled(&[4, 5], 2), vec![(2, 1.0), (0, 0.5)]);
        assert_eq!(links.coupled(&[6], 5), vec![]);
        // 1 stands to 0: both cite 3 and 4, nobody cites either, neither cites the other.
        let r = links.relation(0, 1);
        assert_eq!(
            (r.cites_it, r.cited_by_it, r.cocited_by, r.shared_references),
            (false, false, 0, 2)
        );
        // 4 stands to 3: cited together by 0 and 1.
        let r = links.relation(3, 4);
        assert_eq!((r.cocited_by, r.shared_references), (2, 0));
        assert!(links.relation(0, 4).cited_by_it && links.relation(4, 0).cites_it);
        assert!(!links.relation(6, 5).is_some());
        // 3 of the 3 citing documents cite 4; 2 of them cite 3.
        assert_eq!(links.cited_share(4), 1.0);
        assert!((links.cited_share(3) - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(links.coupled(&[], 5), vec![]);
        let (offsets, targets) = links.parts();
        let back = Links::from_parts(offsets.to_vec(), targets.to_vec(), 7).unwrap();
        assert_eq!(back, links);
        assert!(Links::from_parts(vec![0, 1], vec![5], 1).is_err());
        assert!(Links::from_parts(vec![0, 2], vec![0], 1).is_err());
    }
}
