//! The house plan, read from the sources: every file under `src/` belongs to a layer, a
//! file imports only from its own layer or the layers below it, and no files import one
//! another in a circle. There is no list of exceptions: a move that breaks the plan fails
//! here, naming the file, the line and the import.
//!
//! An import is every `crate::…`, `super::…` and `self::…` path (in `use` statements, in
//! code and in attributes), every path through a module the file declares (`mod x;` then
//! `x::…`) and, in `main.rs`, every `dte_sidecar::…` path. A path is followed to the file
//! that defines it; a name a module only re-exports (`pub use child::Name`) is followed to
//! the child that defines it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// The layers, from the top down: a file may import its own layer and the layers below.
/// A file's layer is named by the first part of its module path.
const LAYERS: &[(&str, &[&str])] = &[
    ("crate roots", &["lib", "main"]),
    ("server", &["server"]),
    ("doors (JSON-RPC, jobs)", &["rpc", "jobs"]),
    ("flows (what a request or a job starts)", &["flows"]),
    ("owners (one per table and lifecycle)", &["owners"]),
    ("input checks", &["input"]),
    ("context", &["context", "keys"]),
    ("adapters (SII, store, archive, mail)", &["sii", "store", "archive", "mail"]),
    ("engine", &["dte"]),
    (
        "ground (errors, messages, clock, settings, secrets, telemetry, counters)",
        &["error", "message", "clock", "settings", "secrets", "telemetry", "metrics"],
    ),
];

#[test]
fn layers_point_down_and_no_files_import_in_a_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    assert!(files.len() > 50, "src/ read: {} files", files.len());
    let plan = Plan::read(&files);
    assert!(plan.edges.len() > 200, "imports found: {}", plan.edges.len());
    // The reading itself: a few imports every version of the plan has.
    for (from, to) in [
        ("src/rpc/dispatch.rs", "src/flows/send.rs"),
        ("src/flows/send.rs", "src/dte/document.rs"),
        ("src/dte/document.rs", "src/dte/sign.rs"),
        ("src/store/models.rs", "src/store/schema.rs"),
    ] {
        assert!(plan.edges.iter().any(|e| e.from == from && e.to == to), "{from} → {to} not read");
    }
    let problems = plan.problems();
    assert!(problems.is_empty(), "the house plan is broken:\n{}", problems.join("\n"));
}

/// Each lifecycle table and the one module that writes it.
const LIFECYCLE_WRITERS: &[(&str, &str)] = &[
    ("dte_document", "src/owners/document.rs"),
    ("dte_failed_queue", "src/owners/failed_queue.rs"),
    ("dte_envelope", "src/owners/envelope.rs"),
    ("dte_contingency_pending", "src/owners/contingency.rs"),
    ("dte_contingency", "src/owners/contingency.rs"),
];

/// Every lifecycle table has one writer: a diesel `insert_into`, `update` or `delete` of
/// the table, or SQL that inserts, updates or deletes its rows, anywhere else in `src/`
/// fails here, naming the file and the line.
#[test]
fn every_lifecycle_table_is_written_by_its_owner_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect_with(&root, &root, &mut files, &["rs", "sql"]);
    let mut writes_seen = BTreeMap::new();
    let mut problems = Vec::new();
    for (path, source) in &files {
        for (table, line) in writes(source) {
            let Some((_, owner)) = LIFECYCLE_WRITERS.iter().find(|(t, _)| *t == table) else { continue };
            *writes_seen.entry(table.clone()).or_insert(0) += 1;
            if path != owner {
                problems.push(format!("{path}:{line} writes {table}, which only {owner} may write"));
            }
        }
    }
    for (table, _) in LIFECYCLE_WRITERS {
        assert!(writes_seen.contains_key(*table), "no write of {table} found: the reading is broken");
    }
    assert!(problems.is_empty(), "lifecycle tables written outside their owner:\n{}", problems.join("\n"));
    // The reading itself, on made-up code.
    let planted = "fn f() { diesel::update(dte_envelope::table.find(1)); }\n\
                   const Q: &str = \"UPDATE dte_sidecar.dte_document SET state = 'x'\";\n\
                   // diesel::delete(dte_failed_queue::table)\n\
                   fn g() { diesel::insert_into(dte_contingency_pending::table); }";
    assert_eq!(
        writes(planted),
        vec![
            ("dte_envelope".to_string(), 1),
            ("dte_document".to_string(), 2),
            ("dte_contingency_pending".to_string(), 4)
        ]
    );
}

/// The tables a source writes, with the line of each write: diesel's `insert_into(`,
/// `update(` and `delete(` followed by a table, and SQL's `INSERT INTO`, `UPDATE` and
/// `DELETE FROM` followed by one. Line comments are not read.
fn writes(source: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let code = code.split("-- ").next().unwrap_or_default();
        for (opener, sql) in [
            ("insert_into(", false),
            ("update(", false),
            ("delete(", false),
            ("INSERT INTO ", true),
            ("UPDATE ", true),
            ("DELETE FROM ", true),
        ] {
            let mut rest = code;
            while let Some(at) = rest.find(opener) {
                let before = rest[..at].chars().next_back();
                rest = &rest[at + opener.len()..];
                if !sql && before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let target = rest.trim_start().trim_start_matches("dte_sidecar.");
                let name: String = target.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if name.starts_with("dte_") {
                    found.push((name, index + 1));
                }
            }
        }
    }
    found
}

/// The check on a made-up crate: an upward import, a circle and a file in no layer are
/// each reported; comments, strings and a test module's `super::` are not imports.
#[test]
fn the_check_reports_upward_imports_circles_and_strays() {
    let files = [
        ("lib.rs", "pub mod clock;\npub mod flows;\npub mod store;\npub mod stray;\n"),
        ("clock.rs", "use crate::flows::send::Thing; // up\n"),
        ("flows/mod.rs", "pub mod send;\npub mod upload;\n"),
        ("flows/send.rs", "use super::upload::go;\npub struct Thing;\n"),
        ("flows/upload.rs", "pub fn go() { super::send::Thing; }\n"),
        (
            "store/mod.rs",
            "mod models;\npub use models::Row;\n/* crate::flows::send */\nconst A: &str = \"crate::flows::x\";\n\
             const C: char = '\"';\nfn f<'a>(x: &'a str) { models::touch(); }\n\
             #[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::clock::now;\n}\n",
        ),
        ("store/models.rs", "pub struct Row;\npub fn touch() {}\nuse crate::store::Row as R;\n"),
        ("stray.rs", "use crate::clock::now;\n"),
    ];
    let files: Vec<(String, String)> = files.iter().map(|(p, s)| (format!("src/{p}"), s.to_string())).collect();
    let problems = Plan::read(&files).problems();
    let text = problems.join("\n");
    assert_eq!(problems.len(), 3, "{text}");
    assert!(text.contains("src/clock.rs:1 imports `crate::flows::send::Thing`"), "{text}");
    assert!(text.contains("src/flows/send.rs → src/flows/upload.rs → src/flows/send.rs"), "{text}");
    assert!(text.contains("src/stray.rs is in no layer"), "{text}");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    collect_with(root, dir, files, &["rs"]);
}

fn collect_with(root: &Path, dir: &Path, files: &mut Vec<(String, String)>, extensions: &[&str]) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read src").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_with(root, &path, files, extensions);
        } else if path.extension().is_some_and(|e| extensions.iter().any(|x| e == *x)) {
            let relative = path.strip_prefix(root).expect("under src").to_string_lossy().replace('\\', "/");
            let source = std::fs::read_to_string(&path).expect("read file");
            files.push((format!("src/{relative}"), source));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reading the sources

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

/// Rust tokens, enough to find paths: comments, strings, characters and lifetimes are
/// dropped; numbers are dropped. Each token with its line.
fn tokenize(source: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = source.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    // Skips a quoted string starting at the opening quote; returns the index after it.
    let skip_string = |mut i: usize, line: &mut usize| {
        i += 1;
        while i < c.len() && c[i] != '"' {
            if c[i] == '\\' {
                i += 1;
            }
            if at(i) == '\n' {
                *line += 1;
            }
            i += 1;
        }
        i + 1
    };
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            i = skip_string(i, &mut line);
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                // An escaped character: up to the closing quote.
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // A lifetime or a label.
                i += 1;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
            }
        } else if ch == ':' && at(i + 1) == ':' {
            out.push((Tok::Sep, line));
            i += 2;
        } else if ch.is_ascii_digit() {
            while at(i).is_alphanumeric() || at(i) == '_' || (at(i) == '.' && at(i + 1).is_ascii_digit()) {
                i += 1;
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let raw =
                (word == "r" || word == "br") && (at(i) == '"' || (at(i) == '#' && matches!(at(i + 1), '#' | '"')));
            if raw {
                let mut hashes = 0;
                while at(i) == '#' {
                    hashes += 1;
                    i += 1;
                }
                i += 1;
                loop {
                    if i >= c.len() {
                        break;
                    }
                    if c[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                        i += 1 + hashes;
                        break;
                    }
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            } else if word == "b" && at(i) == '"' {
                i = skip_string(i, &mut line);
            } else if word == "b" && at(i) == '\'' {
                i += 1;
                while i < c.len() && c[i] != '\'' {
                    if c[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            } else if word == "r" && at(i) == '#' {
                // A raw identifier.
                i += 1;
                let start = i;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
                out.push((Tok::Ident(c[start..i].iter().collect()), line));
            } else {
                out.push((Tok::Ident(word), line));
            }
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// A path as written in a file, with the module it was written in.
#[derive(Debug, Clone)]
struct Written {
    /// The path's parts, e.g. `["super", "upload", "go"]`.
    parts: Vec<String>,
    /// The module path of the (possibly inline) module it is written in.
    module: Vec<String>,
    line: usize,
    /// A `pub use` leaf: the name it re-exports, when it names one.
    reexport: Option<String>,
}

struct Source {
    file: String,
    module: Vec<String>,
    /// Modules declared with `mod x;` (their files are children of this one).
    children: BTreeSet<String>,
    /// The names the file's paths may start with to mean the crate root.
    roots: &'static [&'static str],
    written: Vec<Written>,
}

fn ident(tokens: &[(Tok, usize)], i: usize) -> Option<&str> {
    match tokens.get(i) {
        Some((Tok::Ident(word), _)) => Some(word.as_str()),
        _ => None,
    }
}

fn is(tokens: &[(Tok, usize)], i: usize, tok: &Tok) -> bool {
    tokens.get(i).is_some_and(|(t, _)| t == tok)
}

impl Source {
    fn read(file: &str, text: &str) -> Source {
        let relative = file.strip_prefix("src/").unwrap_or(file).trim_end_matches(".rs");
        let mut module: Vec<String> = relative.split('/').map(str::to_string).collect();
        if module.last().is_some_and(|m| m == "mod") {
            module.pop();
        }
        let roots: &'static [&'static str] = if relative == "main" { &["dte_sidecar"] } else { &["crate"] };
        if relative == "lib" || relative == "main" {
            module.clear();
        }
        let tokens = tokenize(text);
        let mut children = BTreeSet::new();
        for i in 0..tokens.len() {
            if ident(&tokens, i) == Some("mod") && is(&tokens, i + 2, &Tok::Punct(';')) {
                if let Some(name) = ident(&tokens, i + 1) {
                    children.insert(name.to_string());
                }
            }
        }
        let mut source = Source { file: file.to_string(), module, children, roots, written: Vec::new() };
        source.scan(&tokens);
        source
    }

    fn starts_path(&self, word: &str) -> bool {
        matches!(word, "crate" | "super" | "self") || self.roots.contains(&word) || self.children.contains(word)
    }

    fn scan(&mut self, tokens: &[(Tok, usize)]) {
        // Open braces, and the inline module each one opens, if it does.
        let mut braces: Vec<Option<String>> = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let inline: Vec<String> = braces.iter().flatten().cloned().collect();
            let mut here = self.module.clone();
            here.extend(inline);
            match &tokens[i].0 {
                Tok::Punct('{') => {
                    let opens_module = i >= 2 && ident(tokens, i - 2) == Some("mod");
                    braces.push(if opens_module { ident(tokens, i - 1).map(str::to_string) } else { None });
                    i += 1;
                }
                Tok::Punct('}') => {
                    braces.pop();
                    i += 1;
                }
                Tok::Ident(word) if word == "use" => {
                    let public = i >= 1 && ident(tokens, i - 1) == Some("pub")
                        || i >= 4 && is(tokens, i - 1, &Tok::Punct(')')) && ident(tokens, i - 4) == Some("pub");
                    let mut pos = i + 1;
                    if is(tokens, pos, &Tok::Sep) {
                        pos += 1;
                    }
                    let mut leaves = Vec::new();
                    use_tree(tokens, &mut pos, Vec::new(), &mut leaves);
                    for (parts, alias, line) in leaves {
                        if parts.first().is_some_and(|head| self.starts_path(head)) {
                            let reexport = if public { alias } else { None };
                            self.written.push(Written { parts, module: here.clone(), line, reexport });
                        }
                    }
                    i = pos;
                }
                Tok::Ident(word)
                    if self.starts_path(word)
                        && is(tokens, i + 1, &Tok::Sep)
                        && !(i >= 1 && is(tokens, i - 1, &Tok::Sep)) =>
                {
                    let line = tokens[i].1;
                    let mut parts = vec![word.clone()];
                    let mut pos = i + 1;
                    while is(tokens, pos, &Tok::Sep) {
                        match ident(tokens, pos + 1) {
                            Some(next) => {
                                parts.push(next.to_string());
                                pos += 2;
                            }
                            None => break,
                        }
                    }
                    self.written.push(Written { parts, module: here.clone(), line, reexport: None });
                    i = pos;
                }
                _ => i += 1,
            }
        }
    }
}

/// The leaves of a `use` tree: each full path, the name it binds (none for a glob) and
/// its line. Stops after the tree (at `;`).
fn use_tree(
    tokens: &[(Tok, usize)],
    pos: &mut usize,
    prefix: Vec<String>,
    leaves: &mut Vec<(Vec<String>, Option<String>, usize)>,
) {
    let mut parts = prefix;
    loop {
        let line = tokens.get(*pos).map_or(0, |t| t.1);
        match tokens.get(*pos).map(|t| &t.0) {
            Some(Tok::Ident(word)) => {
                if word == "self" && !parts.is_empty() {
                    // `{self, …}`: the module itself.
                    *pos += 1;
                    let name = alias(tokens, pos).or_else(|| parts.last().cloned());
                    leaves.push((parts, name, line));
                    return;
                }
                parts.push(word.clone());
                *pos += 1;
                if is(tokens, *pos, &Tok::Sep) {
                    *pos += 1;
                    continue;
                }
                let name = alias(tokens, pos).or_else(|| parts.last().cloned());
                leaves.push((parts, name, line));
                return;
            }
            Some(Tok::Punct('*')) => {
                *pos += 1;
                leaves.push((parts, None, line));
                return;
            }
            Some(Tok::Punct('{')) => {
                *pos += 1;
                loop {
                    match tokens.get(*pos).map(|t| &t.0) {
                        Some(Tok::Punct('}')) => {
                            *pos += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *pos += 1,
                        None => return,
                        _ => use_tree(tokens, pos, parts.clone(), leaves),
                    }
                }
            }
            _ => return,
        }
    }
}

fn alias(tokens: &[(Tok, usize)], pos: &mut usize) -> Option<String> {
    if ident(tokens, *pos) == Some("as") {
        let name = ident(tokens, *pos + 1).map(str::to_string);
        *pos += 2;
        return name.filter(|n| n != "_");
    }
    None
}

// ---------------------------------------------------------------------------------------
// The plan

#[derive(Debug)]
struct Edge {
    from: String,
    to: String,
    line: usize,
    written: String,
}

struct Plan {
    layer_of: BTreeMap<String, Option<usize>>,
    edges: Vec<Edge>,
}

impl Plan {
    fn read(files: &[(String, String)]) -> Plan {
        let sources: Vec<Source> = files.iter().map(|(file, text)| Source::read(file, text)).collect();
        let file_of: HashMap<Vec<String>, String> = sources
            .iter()
            .filter(|s| !s.roots.contains(&"dte_sidecar"))
            .map(|s| (s.module.clone(), s.file.clone()))
            .collect();
        // Absolute module paths of what each written path names (before following re-exports).
        let absolute = |source: &Source, written: &Written| -> Option<Vec<String>> {
            let (head, mut rest) = written.parts.split_first()?;
            let mut path = if head == "crate" || source.roots.contains(&head.as_str()) {
                Vec::new()
            } else if head == "self" {
                written.module.clone()
            } else if head == "super" {
                let mut module = written.module.clone();
                module.pop()?;
                while let Some((_, tail)) = rest.split_first().filter(|(next, _)| *next == "super") {
                    module.pop()?;
                    rest = tail;
                }
                module
            } else {
                // A module the file declares (`mod x;`).
                let mut module = source.module.clone();
                module.push(head.clone());
                module
            };
            path.extend(rest.iter().cloned());
            Some(path)
        };
        // Names a module re-exports: module file → name → absolute path of the original.
        let mut reexports: HashMap<String, HashMap<String, Vec<String>>> = HashMap::new();
        for source in &sources {
            for written in &source.written {
                if let (Some(name), Some(path)) = (&written.reexport, absolute(source, written)) {
                    reexports.entry(source.file.clone()).or_default().insert(name.clone(), path);
                }
            }
        }
        let resolve = |mut path: Vec<String>| -> Option<String> {
            for _ in 0..16 {
                let (file, depth) =
                    (0..=path.len()).rev().find_map(|n| file_of.get(&path[..n]).map(|f| (f.clone(), n)))?;
                let forwarded = path.get(depth).and_then(|name| reexports.get(&file).and_then(|r| r.get(name)));
                match forwarded {
                    Some(target) if target[..] != path[..] => {
                        let mut next = target.clone();
                        next.extend(path[depth + 1..].iter().cloned());
                        path = next;
                    }
                    _ => return Some(file),
                }
            }
            None
        };
        let mut edges = Vec::new();
        for source in &sources {
            for written in &source.written {
                let Some(path) = absolute(source, written) else { continue };
                let Some(to) = resolve(path) else { continue };
                if to != source.file {
                    edges.push(Edge {
                        from: source.file.clone(),
                        to,
                        line: written.line,
                        written: written.parts.join("::"),
                    });
                }
            }
        }
        let layer_of = sources
            .iter()
            .map(|s| {
                let relative = s.file.strip_prefix("src/").unwrap_or(&s.file);
                let top = relative.split(['/', '.']).next().unwrap_or_default();
                (s.file.clone(), LAYERS.iter().position(|(_, modules)| modules.contains(&top)))
            })
            .collect();
        Plan { layer_of, edges }
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (file, layer) in &self.layer_of {
            if layer.is_none() {
                problems.push(format!("{file} is in no layer: add its module to LAYERS in tests/it/layers.rs"));
            }
        }
        for edge in &self.edges {
            let (Some(Some(from)), Some(Some(to))) = (self.layer_of.get(&edge.from), self.layer_of.get(&edge.to))
            else {
                continue;
            };
            if to < from {
                problems.push(format!(
                    "{}:{} imports `{}` ({}, layer \"{}\") from below, in layer \"{}\"",
                    edge.from, edge.line, edge.written, edge.to, LAYERS[*to].0, LAYERS[*from].0
                ));
            }
        }
        for (group, circle) in self.circles() {
            let mut route = circle.clone();
            route.push(circle[0].clone());
            let imports: Vec<String> = route
                .windows(2)
                .filter_map(|pair| {
                    let edge = self.edges.iter().find(|e| e.from == pair[0] && e.to == pair[1])?;
                    Some(format!("{}:{} `{}`", edge.from, edge.line, edge.written))
                })
                .collect();
            let mut problem = format!("files import in a circle: {} ({})", route.join(" → "), imports.join(", "));
            if group.len() > circle.len() {
                problem.push_str(&format!("; {} files reach one another: {}", group.len(), group.join(", ")));
            }
            problems.push(problem);
        }

        problems
    }

    /// One circle through each group of files that reach one another (Tarjan's strongly
    /// connected components, then a shortest way round inside each).
    fn circles(&self) -> Vec<(Vec<String>, Vec<String>)> {
        let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for edge in &self.edges {
            next.entry(edge.from.as_str()).or_default().insert(edge.to.as_str());
        }
        let nodes: Vec<&str> = self.layer_of.keys().map(String::as_str).collect();
        let mut tarjan = Tarjan {
            next: &next,
            index: HashMap::new(),
            low: HashMap::new(),
            stack: Vec::new(),
            groups: Vec::new(),
            counter: 0,
        };
        for node in &nodes {
            if !tarjan.index.contains_key(node) {
                tarjan.visit(node);
            }
        }
        let mut circles = Vec::new();
        for group in tarjan.groups.into_iter().filter(|g| g.len() > 1) {
            let members: BTreeSet<&str> = group.iter().copied().collect();
            let start = *members.iter().next().unwrap_or(&"");
            // Breadth-first from `start` back to `start` inside the group.
            let mut came_from: HashMap<&str, &str> = HashMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            'search: while let Some(node) = queue.pop_front() {
                for &to in next.get(node).into_iter().flatten() {
                    if !members.contains(to) {
                        continue;
                    }
                    if to == start {
                        came_from.insert("", node);
                        break 'search;
                    }
                    if !came_from.contains_key(to) {
                        came_from.insert(to, node);
                        queue.push_back(to);
                    }
                }
            }
            let mut route = Vec::new();
            let mut node = came_from.get("").copied();
            while let Some(n) = node {
                route.push(n.to_string());
                node = if n == start { None } else { came_from.get(n).copied() };
            }
            route.reverse();
            circles.push((members.iter().map(|m| m.to_string()).collect(), route));
        }
        circles
    }
}

struct Tarjan<'a> {
    next: &'a BTreeMap<&'a str, BTreeSet<&'a str>>,
    index: HashMap<&'a str, usize>,
    low: HashMap<&'a str, usize>,
    stack: Vec<&'a str>,
    groups: Vec<Vec<&'a str>>,
    counter: usize,
}

impl<'a> Tarjan<'a> {
    fn visit(&mut self, node: &'a str) {
        self.index.insert(node, self.counter);
        self.low.insert(node, self.counter);
        self.counter += 1;
        self.stack.push(node);
        for &to in self.next.get(node).into_iter().flatten() {
            if !self.index.contains_key(to) {
                self.visit(to);
                let low = self.low[node].min(self.low[to]);
                self.low.insert(node, low);
            } else if self.stack.contains(&to) {
                let low = self.low[node].min(self.index[to]);
                self.low.insert(node, low);
            }
        }
        if self.low[node] == self.index[node] {
            let mut group = Vec::new();
            while let Some(member) = self.stack.pop() {
                group.push(member);
                if member == node {
                    break;
                }
            }
            self.groups.push(group);
        }
    }
}
