//! `plumb-lsp` answers messages it cannot decode with an error and keeps serving: a body
//! that is not JSON, `{}`, `[]`, an object as `id`, and a frame without
//! `Content-Length` each cost one error response, never the session.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn read_message(out: &mut impl BufRead) -> serde_json::Value {
    let mut length = 0;
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).expect("header") > 0,
            "the server closed its output"
        );
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse().expect("length");
        }
    }
    let mut body = vec![0; length];
    out.read_exact(&mut body).expect("body");
    serde_json::from_slice(&body).expect("json")
}

#[test]
fn undecodable_messages_are_answered_and_the_server_goes_on() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plumb-lsp"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start plumb-lsp");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdin
        .write_all(&frame(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#,
        ))
        .expect("write");
    let init = read_message(&mut stdout);
    assert_eq!(init["id"], 1, "{init}");
    let garbage: Vec<Vec<u8>> = vec![
        frame(r#"{"jsonrpc":"2.0","method":"#),
        frame("{}"),
        frame("[]"),
        frame(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"shutdown"}"#),
        b"X-Nothing: 1\r\n\r\n".to_vec(),
    ];
    for g in &garbage {
        stdin.write_all(g).expect("write");
    }
    stdin
        .write_all(&frame(r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#))
        .expect("write");
    let mut errors = Vec::new();
    loop {
        let m = read_message(&mut stdout);
        if m["id"] == 2 {
            assert!(m.get("error").is_none(), "{m}");
            break;
        }
        if m.get("error").is_some() {
            assert!(m["id"].is_null(), "{m}");
            errors.push(m["error"]["code"].as_i64().expect("code"));
        }
    }
    assert_eq!(errors, [-32700, -32600, -32600, -32600, -32700]);
    stdin
        .write_all(&frame(r#"{"jsonrpc":"2.0","method":"exit"}"#))
        .expect("write");
    // the editor may keep its end open: `exit` alone ends the server
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("plumb-lsp did not exit after `exit` while its input stayed open");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    drop(stdin);
    assert!(status.success(), "{status}");
}
