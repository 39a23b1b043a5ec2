//! The import directions between the crate's top-level modules, read from
//! the source: every `crate::NAME` outside comments is an edge from the
//! module that holds it to `NAME` (a module is a file or directory right
//! under `src/`; `lib.rs` and `main.rs` wire them up and are left out).
//!
//! Held: no cycle between modules; `model` imports nothing; backends never
//! import what plans, observes, judges or reports; planners never import
//! backends or observers; observers never import the engine, reports or the
//! front ends; the engine never imports reports.
//! A direction that goes the wrong way for a while (a refactor in steps)
//! is listed in `KNOWN`, with why: a new edge of that kind fails, and an
//! edge that goes away must leave the list. None is listed today.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Edges that break the layering and are still there, each with why.
const KNOWN: &[(&str, &str, &str)] = &[];

/// Modules a backend must never import: it only carries bytes.
const NOT_FROM_BACKEND: &[&str] = &[
    "resource", "spec", "rules", "facts", "observe", "engine", "report", "add", "host", "harness",
    "dsl",
];
/// Modules that plan or judge must never import backends, the engine or reports.
const PLANNERS: &[&str] = &[
    "resource", "rules", "spec", "facts", "probe", "matcher", "judge",
];

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut tops = BTreeSet::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name != "lib"
            && name != "main"
            && (path.is_dir() || path.extension().is_some_and(|e| e == "rs"))
        {
            tops.insert(name);
        }
    }
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let top = first.trim_end_matches(".rs").to_string();
            if top == "lib" || top == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let edges = g.entry(top.clone()).or_default();
            for line in text.lines() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                let code = code.split(" //").next().unwrap_or(code);
                for (i, _) in code.match_indices("crate::") {
                    let rest = &code[i + "crate::".len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if tops.contains(&name) && name != top {
                        edges.insert(name);
                    }
                }
            }
        }
    }
    g
}

/// A cycle through `from`, if there is one, as the modules on it.
fn cycle_through(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut path = vec![from.to_string()];
    let mut seen = BTreeSet::new();
    fn walk(
        g: &BTreeMap<String, BTreeSet<String>>,
        goal: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        let here = path.last().unwrap().clone();
        for next in g.get(&here).into_iter().flatten() {
            if next == goal {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(g, goal, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    walk(g, from, &mut path, &mut seen).then_some(path)
}

#[test]
fn no_module_imports_in_a_cycle() {
    let g = graph();
    assert!(g.len() > 10, "the reader found the modules: {g:?}");
    for m in g.keys() {
        if let Some(cycle) = cycle_through(&g, m) {
            panic!("import cycle: {} -> {m}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_layers_import_in_one_direction() {
    let g = graph();
    let known: BTreeSet<(&str, &str)> = KNOWN.iter().map(|(a, b, _)| (*a, *b)).collect();
    let mut wrong = Vec::new();
    let mut add = |from: &str, to: &str| {
        if !known.contains(&(from, to)) {
            wrong.push(format!("{from} -> {to}"));
        }
    };
    for (from, tos) in &g {
        for to in tos {
            if from == "model" {
                add(from, to);
            }
            if from == "backend" && NOT_FROM_BACKEND.contains(&to.as_str()) {
                add(from, to);
            }
            if PLANNERS.contains(&from.as_str())
                && [
                    "backend", "observe", "engine", "report", "host", "harness", "add",
                ]
                .contains(&to.as_str())
            {
                add(from, to);
            }
            if from == "engine" && to == "report" {
                add(from, to);
            }
            // Observers answer needs; orchestration and text are above them.
            if from == "observe"
                && ["engine", "report", "host", "add", "harness"].contains(&to.as_str())
            {
                add(from, to);
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers: {wrong:?}");
    for (from, to, why) in KNOWN {
        assert!(
            g.get(*from).is_some_and(|t| t.contains(*to)),
            "{from} -> {to} is gone: remove it from KNOWN ({why})"
        );
    }
}
