//! The import rules of docs/ARCHITECTURE.md that a reading of the source can check: layers
//! point one way (no module imports another that imports it back), `model/` and `store/`
//! know nothing of the web or the command line, only `cli/` and the binaries parse flags, and
//! the tests drive `app`, not `cli`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The source without comments (a doc comment may name any module) and without its unit
/// tests (`#[cfg(test)] mod tests`, last in a file by our habit: a test may use anything).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The unit a file belongs to: its top-level module under src/, and for `model` its room
/// (`model::train`, `model::io`, ...; `model` itself for model/mod.rs).
fn unit_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root().join("src")).ok()?;
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [one] if one == "lib" || one == "main" => None,
        [dir, ..] if dir == "bin" => None,
        [one] => Some(one.clone()),
        [m, room, ..] if m == "model" && room != "mod" => Some(format!("model::{room}")),
        [top, ..] => Some(top.clone()),
        [] => None,
    }
}

/// The units a piece of code names through `crate::` paths (and `use crate::{a, b}` groups).
fn named_units(code: &str, units: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |path: &str| {
        let segs: Vec<&str> = path.split("::").collect();
        if segs.len() >= 2 && segs[0] == "model" && units.contains(&format!("model::{}", segs[1])) {
            out.insert(format!("model::{}", segs[1]));
        } else if units.contains(segs[0]) {
            out.insert(segs[0].to_string());
        }
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                add(item.trim());
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let path = &rest[..end];
            // `crate::model::{io::file, Doc2Vec}`: the group's items name rooms.
            if let Some(group) = rest[end..].strip_prefix('{') {
                let close = group.find('}').unwrap_or(group.len());
                for item in group[..close].split(',') {
                    add(&format!("{path}{}", item.trim()));
                }
            }
            add(path.trim_end_matches("::"));
        }
    }
    out
}

#[test]
fn layers_point_one_way() {
    let files = rust_files(&root().join("src"));
    let units: BTreeSet<String> = files.iter().filter_map(|f| unit_of(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(unit) = unit_of(f) else { continue };
        let names = named_units(&code(f), &units);
        let edges = graph.entry(unit.clone()).or_default();
        for n in names {
            // A room may use what its parent module defines (`model` for `model::io`).
            if n != unit && !(unit.starts_with("model::") && n == "model") {
                edges.insert(n);
            }
        }
    }
    let mut cycles = Vec::new();
    for (a, outs) in &graph {
        for b in outs {
            if graph.get(b).is_some_and(|o| o.contains(a)) && a < b {
                cycles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules that import each other: {cycles:?}\n{graph:#?}"
    );
    // And no longer cycle: a topological order exists.
    let mut left = graph.clone();
    while !left.is_empty() {
        let free: Vec<String> = left
            .iter()
            .filter(|(_, outs)| outs.iter().all(|o| !left.contains_key(o)))
            .map(|(k, _)| k.clone())
            .collect();
        assert!(!free.is_empty(), "a cycle among {:?}", left.keys());
        for k in free {
            left.remove(&k);
        }
    }
}

#[test]
fn model_and_store_know_nothing_of_the_web_or_the_command_line() {
    for dir in ["src/model", "src/store"] {
        for f in rust_files(&root().join(dir)) {
            let code = code(&f);
            for banned in ["rocket", "crate::web", "crate::cli", "crate::app", "clap"] {
                assert!(
                    !code.contains(banned),
                    "{} names {banned}",
                    f.strip_prefix(root()).unwrap().display()
                );
            }
        }
    }
}

#[test]
fn only_the_command_line_parses_flags() {
    for f in rust_files(&root().join("src")) {
        let rel = f.strip_prefix(root()).unwrap();
        if rel.starts_with("src/cli") || rel.starts_with("src/bin") {
            continue;
        }
        assert!(
            !code(&f).contains("clap"),
            "{} names clap: flags belong in src/cli",
            rel.display()
        );
    }
}

#[test]
fn tests_and_benchmarks_drive_app_not_cli() {
    let mut files = rust_files(&root().join("tests"));
    files.extend(rust_files(&root().join("benches")));
    // Spelt in two parts so that this file does not name it.
    let needle = ["hamlet", "cli", ""].join("::");
    for f in files {
        let code = code(&f);
        assert!(
            !code.contains(&needle),
            "{} names {needle}",
            f.strip_prefix(root()).unwrap().display()
        );
    }
}
