//! Edit-to-diagnostics latency of the language server, as an editor sees it: the
//! `plumb-lsp` binary over stdio, a generated workspace of 5,000 jobs in 100 files,
//! one open file, one-character edits inside a job's script; for each, the time from
//! sending `didChange` to receiving `publishDiagnostics` for that version.
//!
//! `cargo bench -p plumb-lsp --bench latency [-- EDITS]` prints p50, p90, p99 and max.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn main() {
    let edits: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let dir = std::env::temp_dir().join(format!("plumb-lsp-latency-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = plumb_gen::workspace(5000, 100);
    for f in &files {
        let path = dir.join(&f.path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &f.text).expect("write");
    }
    let target = files
        .iter()
        .position(|f| f.path.ends_with(".plumb") && plumb_gen::edit_point(&f.text).is_some())
        .expect("an editable file");
    let target_path = dir.join(&files[target].path);
    let target_text = files[target].text.clone();
    let uri = format!("file://{}", target_path.display());

    let mut server = Command::new(env!("CARGO_BIN_EXE_plumb-lsp"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start plumb-lsp");
    let mut stdin = server.stdin.take().expect("stdin");
    let stdout = server.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<Value>();
    std::thread::spawn(move || read_messages(stdout, tx));

    let root = format!("file://{}", dir.display());
    let started = Instant::now();
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": null, "rootUri": root, "capabilities": {},
        "workspaceFolders": [{"uri": root, "name": "bench"}]}}),
    );
    wait(&rx, |m| m["id"] == 1);
    let loaded = started.elapsed();
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri, "languageId": "plumb", "version": 1, "text": target_text}}}),
    );
    let opened = wait(&rx, |m| is_diagnostics_for(m, &uri, 1));
    // the generated workspace checks clean: anything here means its imports were not found
    assert_eq!(opened["params"]["diagnostics"], json!([]), "{opened}");

    let at = plumb_gen::edit_point(&target_text).expect("an edit point");
    let (line, col) = line_col(&target_text, at);
    let mut times = Vec::with_capacity(edits);
    for i in 0..edits {
        let version = i as i64 + 2;
        let ch = if i % 2 == 0 { "L" } else { "l" };
        let t0 = Instant::now();
        send(
            &mut stdin,
            &json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": {"line": line, "character": col},
                                          "end": {"line": line, "character": col + 1}}, "text": ch}]}}),
        );
        wait(&rx, |m| is_diagnostics_for(m, &uri, version));
        times.push(t0.elapsed());
    }
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": null}),
    );
    wait(&rx, |m| m["id"] == 2);
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "method": "exit", "params": null}),
    );
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);

    times.sort();
    let pct = |p: f64| {
        times[((times.len() as f64 * p).ceil() as usize)
            .saturating_sub(1)
            .min(times.len() - 1)]
    };
    println!("plumb-lsp, 5,000 jobs in 100 files: workspace loaded and answered `initialize` in {loaded:.1?}");
    println!(
        "edit → diagnostics over {edits} one-character edits: p50 {:.2?}, p90 {:.2?}, p99 {:.2?}, max {:.2?}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        times[times.len() - 1]
    );
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1);
    (line, col) // the generated files are ASCII: UTF-16 columns are bytes
}

fn is_diagnostics_for(m: &Value, uri: &str, version: i64) -> bool {
    m["method"] == "textDocument/publishDiagnostics"
        && m["params"]["uri"] == uri
        && m["params"]["version"] == version
}

fn send(stdin: &mut impl Write, message: &Value) {
    let body = message.to_string();
    write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write to the server");
    stdin.flush().expect("flush");
}

fn wait(rx: &mpsc::Receiver<Value>, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let m = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server answers within a minute");
        if pred(&m) {
            return m;
        }
    }
}

fn read_messages(stdout: impl Read, tx: mpsc::Sender<Value>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut length = None;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some(v) = header.strip_prefix("Content-Length: ") {
                length = v.parse::<usize>().ok();
            }
        }
        let Some(length) = length else { return };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if let Ok(v) = serde_json::from_slice(&body) {
            if tx.send(v).is_err() {
                return;
            }
        }
    }
}
