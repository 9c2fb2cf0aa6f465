//! A guard between the editor and the LSP framework on standard input and output.
//!
//! tower-lsp-server decodes each message with a `FramedRead`, which ends the input
//! stream at the first message it cannot decode (a body that is not JSON, `{}`, `[]`,
//! an object as `id`): the server then exits. The guard reads the frames itself, hands
//! the framework only messages it can decode, and answers the others with JSON-RPC's
//! "parse error" or "invalid request" (id `null`), so one bad message costs one error
//! response, never the session. Output is passed through frame by frame, so the
//! guard's answers never land inside one of the server's messages.

use serde_json::Value;
use std::future::Future;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream,
};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::{Request, Response};

/// The largest message body read into memory; a larger one is skipped and answered.
const MAX_BODY: usize = 64 << 20;
/// The longest header line kept; a longer one is a bad header.
const MAX_HEADER_LINE: u64 = 8 << 10;

/// Runs `serve` on guarded pipes in place of standard input and output, until it ends.
pub async fn serve_stdio<F, Fut>(serve: F)
where
    F: FnOnce(DuplexStream, DuplexStream) -> Fut,
    Fut: Future<Output = ()>,
{
    let (server_in, to_server) = tokio::io::duplex(1 << 16);
    let (server_out, from_server) = tokio::io::duplex(1 << 16);
    let (frames, outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(write_frames(outgoing));
    let input = tokio::spawn(guard_input(
        BufReader::new(tokio::io::stdin()),
        to_server,
        frames.clone(),
    ));
    let output = tokio::spawn(pass_output(BufReader::new(from_server), frames));
    serve(server_in, server_out).await;
    // the server has ended: send what it wrote, then stop reading the editor
    let _ = output.await;
    input.abort();
    let _ = input.await;
    let _ = writer.await;
}

/// One frame read from a stream.
enum Frame {
    /// A message body.
    Body(Vec<u8>),
    /// Headers without a usable `Content-Length` (missing, not a number, too large).
    BadHeader,
}

/// Reads the next frame: headers up to an empty line, then `Content-Length` bytes.
/// `None` at the end of the stream.
async fn read_frame<R: AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<Option<Frame>> {
    let mut length: Option<Option<usize>> = None;
    let mut read_any = false;
    loop {
        let mut line = Vec::new();
        let n = (&mut *r)
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(read_any.then_some(Frame::BadHeader));
        }
        read_any = true;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() && line.ends_with(b"\n") {
            break;
        }
        if let Some((name, value)) = text.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = Some(value.trim().parse().ok());
            }
        }
    }
    match length {
        Some(Some(n)) if n <= MAX_BODY => {
            let mut body = vec![0; n];
            r.read_exact(&mut body).await?;
            Ok(Some(Frame::Body(body)))
        }
        Some(Some(n)) => {
            tokio::io::copy(&mut (&mut *r).take(n as u64), &mut tokio::io::sink()).await?;
            Ok(Some(Frame::BadHeader))
        }
        _ => Ok(Some(Frame::BadHeader)),
    }
}

/// `body` framed for the wire.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Why the framework could not decode `body`, as a JSON-RPC error (code, message).
fn undecodable(body: &[u8]) -> Option<(i64, &'static str)> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Some((-32700, "Parse error"));
    };
    // the framework reads a message as a response, else as a request
    let decodes = serde_json::from_value::<Response>(value.clone()).is_ok()
        || serde_json::from_value::<Request>(value).is_ok();
    (!decodes).then_some((-32600, "Invalid request"))
}

/// The error response to an undecodable message.
fn error_frame((code, message): (i64, &str)) -> Vec<u8> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": code, "message": message },
    });
    framed(body.to_string().as_bytes())
}

/// Forwards the editor's decodable messages to the server and answers the others.
async fn guard_input<R: AsyncRead + Unpin>(
    mut stdin: BufReader<R>,
    mut to_server: DuplexStream,
    answers: mpsc::UnboundedSender<Vec<u8>>,
) {
    while let Ok(Some(frame)) = read_frame(&mut stdin).await {
        let problem = match &frame {
            Frame::Body(body) => undecodable(body),
            Frame::BadHeader => Some((-32700, "Parse error")),
        };
        match (problem, frame) {
            (Some(problem), _) => {
                eprintln!(
                    "plumb lsp: an undecodable message was answered with an error ({problem:?})"
                );
                let _ = answers.send(error_frame(problem));
            }
            (None, Frame::Body(body)) => {
                if to_server.write_all(&framed(&body)).await.is_err() {
                    return;
                }
            }
            (None, Frame::BadHeader) => {}
        }
    }
    // the editor closed its end: the server sees the end of its input
}

/// Passes the server's messages on, whole.
async fn pass_output<R: AsyncRead + Unpin>(
    mut from_server: BufReader<R>,
    frames: mpsc::UnboundedSender<Vec<u8>>,
) {
    loop {
        match read_frame(&mut from_server).await {
            Ok(Some(Frame::Body(body))) => {
                if frames.send(framed(&body)).is_err() {
                    return;
                }
            }
            Ok(Some(Frame::BadHeader)) => continue,
            Ok(None) | Err(_) => return,
        }
    }
}

/// Writes each frame to standard output as one piece.
async fn write_frames(mut frames: mpsc::UnboundedReceiver<Vec<u8>>) {
    let mut stdout = tokio::io::stdout();
    while let Some(frame) = frames.recv().await {
        if stdout.write_all(&frame).await.is_err() || stdout.flush().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_framework_cannot_decode_is_named() {
        assert_eq!(
            undecodable(b"{\"jsonrpc\":\"2.0\",\"method\":").map(|p| p.0),
            Some(-32700)
        );
        for bad in [
            "{}",
            "[]",
            "42",
            "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":{}}",
        ] {
            assert_eq!(
                undecodable(bad.as_bytes()).map(|p| p.0),
                Some(-32600),
                "{bad}"
            );
        }
        for good in [
            "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}",
            "{\"jsonrpc\":\"2.0\",\"method\":\"shutdown\",\"id\":3}",
            "{\"jsonrpc\":\"2.0\",\"result\":null,\"id\":\"a\"}",
        ] {
            assert_eq!(undecodable(good.as_bytes()), None, "{good}");
        }
    }

    #[tokio::test]
    async fn frames_are_read_whatever_their_headers() {
        let input = b"Content-Length: 2\r\n\r\n{}X-Junk: 1\r\n\r\ncontent-length: 3\r\nContent-Type: x\r\n\r\n[1]";
        let mut r = BufReader::new(&input[..]);
        assert!(matches!(read_frame(&mut r).await.unwrap(), Some(Frame::Body(b)) if b == b"{}"));
        assert!(matches!(
            read_frame(&mut r).await.unwrap(),
            Some(Frame::BadHeader)
        ));
        assert!(matches!(read_frame(&mut r).await.unwrap(), Some(Frame::Body(b)) if b == b"[1]"));
        assert!(read_frame(&mut r).await.unwrap().is_none());
    }
}
