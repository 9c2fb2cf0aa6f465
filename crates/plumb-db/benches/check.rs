//! `cargo bench -p plumb-db`: full check, builds, and the incremental re-check after a
//! one-character edit, on generated workspaces of 500, 5,000 and 50,000 jobs in 10,
//! 100 and 1,000 files (`plumb-gen`).

use plumb_config::Config;
use plumb_db::{Database, Origin, SourceFile, Workspace};
use plumb_diagnostics::FileId;
use plumb_semantics::Event;
use plumb_targets::Target;
use std::path::PathBuf;

/// The allocator the command line and the language server use, so the numbers are
/// what users get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

/// (jobs, files)
const SIZES: &[(usize, usize)] = &[(500, 10), (5_000, 100), (50_000, 1_000)];

struct Loaded {
    db: Database,
    ws: Workspace,
    files: Vec<SourceFile>,
    texts: Vec<String>,
}

fn load(jobs: usize, files: usize) -> Loaded {
    let db = Database::default();
    let generated = plumb_gen::workspace(jobs, files);
    let texts: Vec<String> = generated.iter().map(|f| f.text.clone()).collect();
    let files: Vec<SourceFile> = generated
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            plumb_db::new_file(
                &db,
                FileId(i as u32),
                PathBuf::from("/bench").join(&f.path),
                f.text,
                Origin::Disk,
            )
        })
        .collect();
    let ws = plumb_db::new_workspace(&db, files.clone(), Config::default());
    Loaded {
        db,
        ws,
        files,
        texts,
    }
}

fn check_all(l: &Loaded) -> usize {
    l.files
        .iter()
        .map(|f| plumb_db::check_file(&l.db, l.ws, *f).len())
        .sum()
}

#[divan::bench(args = SIZES, sample_count = 10)]
fn full_check(bencher: divan::Bencher, size: &(usize, usize)) {
    bencher
        .with_inputs(|| load(size.0, size.1))
        .bench_local_values(|l| {
            let n = check_all(&l);
            assert_eq!(n, 0, "the generated workspace must check clean");
            l
        });
}

fn build(l: &Loaded, target: Target) -> usize {
    check_all(l);
    let sources: Vec<_> = l
        .files
        .iter()
        .map(|f| (*f, "bench.plumb".to_string()))
        .collect();
    let request = plumb_db::CompileRequest::new(
        &l.db,
        sources,
        target,
        false,
        Event::Branch("main".to_string()),
        std::collections::BTreeMap::<String, String>::new(),
    );
    match plumb_db::compile(&l.db, l.ws, request) {
        Ok(b) => b.files.iter().map(|f| f.contents.len()).sum(),
        Err(_) => panic!("build failed"),
    }
}

#[divan::bench(args = SIZES, sample_count = 10)]
fn build_gitlab(bencher: divan::Bencher, size: &(usize, usize)) {
    bencher
        .with_inputs(|| load(size.0, size.1))
        .bench_local_values(|l| {
            build(&l, Target::Gitlab);
            l
        });
}

#[divan::bench(args = SIZES, sample_count = 10)]
fn build_k8s(bencher: divan::Bencher, size: &(usize, usize)) {
    bencher
        .with_inputs(|| load(size.0, size.1))
        .bench_local_values(|l| {
            build(&l, Target::K8s);
            l
        });
}

#[divan::bench(args = SIZES, sample_count = 10)]
fn build_gitops(bencher: divan::Bencher, size: &(usize, usize)) {
    bencher
        .with_inputs(|| load(size.0, size.1))
        .bench_local_values(|l| {
            build(&l, Target::Gitops);
            l
        });
}

/// A one-character edit inside one job's script, then every file's diagnostics asked
/// for again (as the language server does): only the edited file is recomputed.
#[divan::bench(args = SIZES, sample_count = 50)]
fn incremental_one_char_edit(bencher: divan::Bencher, size: &(usize, usize)) {
    let mut l = load(size.0, size.1);
    check_all(&l);
    let target = 1; // the first pipeline file (0 is common.plumb)
    let at = plumb_gen::edit_point(&l.texts[target]).expect("an edit point");
    let mut flip = false;
    bencher.bench_local(|| {
        flip = !flip;
        let mut text = l.texts[target].clone();
        text.replace_range(at..at + 1, if flip { "L" } else { "l" });
        plumb_db::set_text(&mut l.db, l.files[target], text, Origin::OpenBuffer);
        check_all(&l)
    });
}
