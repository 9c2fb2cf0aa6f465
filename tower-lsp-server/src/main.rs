//! `plumb-lsp`: the Plumb language server on standard input and output
//! (the same server as `plumb lsp`).

/// The same allocator as the command line (see `plumb-cli`'s `main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("plumb-lsp: the Plumb language server (LSP over standard input and output).\nStart it from an editor; `plumb lsp` is the same server.");
        return;
    }
    plumb_lsp::run_stdio();
}
