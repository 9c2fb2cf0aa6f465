//! A file's outline: its imports and the names it defines, without their bodies.
//!
//! Queries that only need the outline (import resolution, import cycles, what a file
//! exports) depend on this rather than on the whole tree, so an edit inside a job does
//! not invalidate them.

use plumb_diagnostics::TextRange;
use plumb_syntax::ast::{Item, Name, SourceFile};

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ItemTree {
    pub imports: Vec<ImportItem>,
    pub defs: Vec<DefItem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImportItem {
    pub path: String,
    pub path_range: TextRange,
    pub alias: Option<Name>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefKind {
    Let,
    Secret,
    Template,
    Pipeline,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DefItem {
    pub kind: DefKind,
    pub name: Name,
    /// Index into the file's items.
    pub index: usize,
}

impl ItemTree {
    pub fn of(file: &SourceFile) -> ItemTree {
        let mut tree = ItemTree::default();
        for (index, item) in file.items.iter().enumerate() {
            let (kind, name) = match item {
                Item::Import(i) => {
                    tree.imports.push(ImportItem {
                        path: i.path.clone(),
                        path_range: i.path_range,
                        alias: i.alias.clone(),
                    });
                    continue;
                }
                Item::Let(l) => (DefKind::Let, &l.name),
                Item::Secret(s) => (DefKind::Secret, &s.name),
                Item::Template(t) => (DefKind::Template, &t.name),
                Item::Pipeline(p) => (DefKind::Pipeline, &p.name),
            };
            tree.defs.push(DefItem {
                kind,
                name: name.clone(),
                index,
            });
        }
        tree
    }
}
