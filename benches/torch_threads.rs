//! Why `HAMLET_TORCH_THREADS` defaults to 1: times the tensor work of one request at 1 and at 2
//! libtorch intra-op threads, in the same run, on the machine at hand.
//!
//! - small ops: what one inference step does (52-dim vectors: a few rows gathered, summed,
//!   scaled), where OpenMP's start-up and busy-waiting dominate;
//! - a full-collection scan: scores of one 52-dim query against 43,000 document vectors and
//!   the top 10, the size of the original's production model.
//!
//! Run: `cargo bench --bench torch_threads` (prints a table; no assertions).

use std::time::Instant;

use tch::{Device, Kind, Tensor};

const DIM: i64 = 52;
const DOCS: i64 = 43_000;

fn small_ops(words: &Tensor, iters: usize) -> f64 {
    let idx = Tensor::from_slice(&[3i64, 17, 256, 1024, 4095]);
    let t0 = Instant::now();
    for _ in 0..iters {
        let rows = words.index_select(0, &idx);
        let h = rows.sum_dim_intlist([0i64].as_slice(), false, Kind::Float);
        let s = (&h * 0.5).sigmoid();
        std::hint::black_box(s.double_value(&[0]));
    }
    t0.elapsed().as_secs_f64() * 1e6 / iters as f64
}

fn scan(docs: &Tensor, query: &Tensor, iters: usize) -> f64 {
    let t0 = Instant::now();
    for _ in 0..iters {
        let scores = docs.mv(query);
        let (top, _) = scores.topk(10, 0, true, true);
        std::hint::black_box(top.double_value(&[0]));
    }
    t0.elapsed().as_secs_f64() * 1e6 / iters as f64
}

fn main() {
    tch::manual_seed(7);
    let words = Tensor::randn([10_000, DIM], (Kind::Float, Device::Cpu));
    let docs = Tensor::randn([DOCS, DIM], (Kind::Float, Device::Cpu));
    let query = Tensor::randn([DIM], (Kind::Float, Device::Cpu));
    println!(
        "torch_threads: libtorch on {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut results = Vec::new();
    for threads in [1, 2, 1, 2] {
        tch::set_num_threads(threads);
        // Warm up the thread pool at this setting first.
        small_ops(&words, 200);
        scan(&docs, &query, 5);
        results.push((threads, small_ops(&words, 20_000), scan(&docs, &query, 300)));
    }
    println!(
        "{:>8} {:>18} {:>22}",
        "threads", "small ops (us/op)", "43k scan+top10 (us)"
    );
    for (t, s, c) in &results {
        println!("{t:>8} {s:>18.2} {c:>22.1}");
    }
    // The second round of each setting is the steadier one.
    let (one, two) = (&results[2], &results[3]);
    println!(
        "2 threads vs 1: small ops {:.2}x the time, scan {:.2}x the time",
        two.1 / one.1,
        two.2 / one.2
    );
}
