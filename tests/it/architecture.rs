//! The import rules of docs/ARCHITECTURE.md that a reading of the source can check: layers
//! point one way (no module imports another that imports it back), inside `model/` too, room
//! by room (and inside `model::engine`, file by file), counting the calls of methods that a
//! type's `impl` blocks spread over several files define; `model/` and `store/` know nothing
//! of the web or the command line, only `cli/` and the binaries parse flags, and the tests
//! drive `app`, not `cli`.

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

/// The rooms whose files are units of their own (each file of `model/engine/` is checked
/// against the others: the ranking's parts must not import each other back).
const ROOMS_BY_FILE: [&str; 1] = ["model::engine"];

/// The unit a file belongs to: its top-level module under src/, for `model` its room
/// (`model::train`, `model::io`, ...; `model` itself for model/mod.rs), and for the rooms of
/// `ROOMS_BY_FILE` each file (`model::engine::query`; the room itself for its mod.rs).
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
        [m, room, file, ..]
            if m == "model" && ROOMS_BY_FILE.contains(&format!("model::{room}").as_str()) =>
        {
            Some(if file == "mod" {
                format!("model::{room}")
            } else {
                format!("model::{room}::{file}")
            })
        }
        [m, room, ..] if m == "model" && room != "mod" => Some(format!("model::{room}")),
        [top, ..] => Some(top.clone()),
        [] => None,
    }
}

/// The module path of a file (`model::engine::query` for src/model/engine/query.rs), for
/// reading its `super::` paths.
fn module_of(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(root().join("src")).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// Whether `inner` is `outer` or lies inside it (`model::engine::query` inside `model`).
fn within(inner: &str, outer: &str) -> bool {
    inner == outer || inner.starts_with(&format!("{outer}::"))
}

/// The methods each unit defines for types whose inherent `impl` blocks are spread over
/// several units (`impl Doc2Vec` in model/, the engine's files, infer, train): name -> the
/// units that define a method of that name. A call `.name(` elsewhere is an import of that
/// unit that no `use` line shows. Types are told apart by name within a top-level module
/// (`store::Error` is not `web::Error`).
fn spread_methods(files: &[PathBuf]) -> BTreeMap<String, BTreeSet<String>> {
    // (type, unit, methods) of every inherent impl block.
    let mut blocks: Vec<(String, String, Vec<String>)> = Vec::new();
    for f in files {
        let Some(unit) = unit_of(f) else { continue };
        let code = code(f);
        let mut current: Option<(String, Vec<String>)> = None;
        for line in code.lines() {
            if let Some(head) = line.strip_prefix("impl") {
                if head.ends_with('{') && !head.contains(" for ") {
                    let ty = head
                        .trim_start_matches(|c: char| c != ' ')
                        .trim()
                        .trim_end_matches('{')
                        .trim();
                    let ty = ty.split('<').next().unwrap_or(ty).to_string();
                    current = Some((ty, Vec::new()));
                }
            } else if line == "}" {
                if let Some((ty, methods)) = current.take() {
                    blocks.push((ty, unit.clone(), methods));
                }
            } else if let Some((_, methods)) = current.as_mut() {
                let l = line.trim_start();
                if line.starts_with("    ") && !line.starts_with("     ") {
                    for lead in ["pub fn ", "pub(crate) fn ", "fn ", "pub(super) fn "] {
                        if let Some(rest) = l.strip_prefix(lead) {
                            let name: String = rest
                                .chars()
                                .take_while(|c| c.is_alphanumeric() || *c == '_')
                                .collect();
                            methods.push(name);
                        }
                    }
                }
            }
        }
    }
    let top = |unit: &str| unit.split("::").next().unwrap_or("").to_string();
    let mut units_of: BTreeMap<(String, &str), BTreeSet<&str>> = BTreeMap::new();
    for (ty, unit, _) in &blocks {
        units_of.entry((top(unit), ty)).or_default().insert(unit);
    }
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (ty, unit, methods) in &blocks {
        if units_of[&(top(unit), ty.as_str())].len() < 2 {
            continue;
        }
        for m in methods {
            out.entry(m.clone()).or_default().insert(unit.clone());
        }
    }
    out
}

/// The units whose spread methods `code` calls (`.name(` or `Self::name(`), where one unit
/// alone defines that name.
fn called_units(code: &str, methods: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (name, units) in methods {
        if units.len() != 1 {
            continue;
        }
        let called = [".", "Self::"]
            .iter()
            .any(|lead| code.contains(&format!("{lead}{name}(")));
        if called {
            out.extend(units.iter().cloned());
        }
    }
    out
}

/// The units a piece of code names through `crate::` paths (and `use crate::{a, b}` groups),
/// and through `super::` paths from the module `module`.
fn named_units(code: &str, units: &BTreeSet<String>, module: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |path: &str| {
        // The deepest unit the path lies in.
        let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        for n in (1..=segs.len()).rev() {
            let unit = segs[..n].join("::");
            if units.contains(&unit) {
                out.insert(unit);
                return;
            }
        }
    };
    let parent = module[..module.len().saturating_sub(1)].join("::");
    let code = code.replace("super::", &format!("crate::{parent}::"));
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
    let methods = spread_methods(&files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(unit) = unit_of(f) else { continue };
        let code = code(f);
        let mut names = named_units(&code, &units, &module_of(f));
        names.extend(called_units(&code, &methods));
        let edges = graph.entry(unit.clone()).or_default();
        for n in names {
            // A room may use what the modules around it define (`model` for `model::io`,
            // `model::engine` and `model` for `model::engine::query`).
            if !within(&unit, &n) {
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
    // The reading sees what it must: the ranking's files call each other's `impl Doc2Vec`
    // methods without a `use` line (`query` asks `rerank` for `ranked_text`), and the method
    // reading finds that edge; were `rerank` to call back into `query` the same way, the
    // cycle check above would fail.
    assert!(
        graph["model::engine::query"].contains("model::engine::rerank"),
        "{graph:#?}"
    );
    assert!(
        graph["model::engine::rerank"].contains("model::engine::score"),
        "{graph:#?}"
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
