//! One HTTP/1.1 request to a server the test started, on a fresh connection (`Connection: close`), read whole (over
//! TLS: [`crate::https`]): what the CLI tests use to talk to `palisade serve` and `palisade policy-server`. It needs
//! nothing but the standard library, so that registry-server's tests include it as a file.

use std::io::{Read, Write};
use std::net::TcpStream;

/// An answer, fully read.
#[derive(Debug)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The header lines, as sent.
    pub head: String,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The value of header `name` (any case), or `""`.
    pub fn header(&self, name: &str) -> &str {
        self.head
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name).then_some(value.trim())
            })
            .unwrap_or("")
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `METHOD PATH` (`request_line`) with `headers` and `body` to `addr` (`HOST:PORT`).
pub fn http(addr: &str, request_line: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpReply {
    let mut stream =
        TcpStream::connect(addr).unwrap_or_else(|err| panic!("connecting to {addr}: {err}"));
    exchange(&mut stream, addr, request_line, headers, body)
        .unwrap_or_else(|err| panic!("sending {request_line} to {addr}: {err}"))
}

/// Writes the request on `stream` and reads the whole answer.
pub(crate) fn exchange(
    stream: &mut (impl Read + Write),
    addr: &str,
    request_line: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpReply> {
    let mut request = format!(
        "{request_line} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(reply.len());
    let head = String::from_utf8_lossy(&reply[..split]).into_owned();
    let body = reply.get(split + 4..).unwrap_or_default().to_vec();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("no status in the answer to {request_line}: {head:?}"),
            )
        })?;
    Ok(HttpReply { status, head, body })
}
