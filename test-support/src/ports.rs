//! Loopback ports for the servers the tests start.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A port nothing listens on right now (bound then released; the window for a race is tiny).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|err| panic!("finding a free port: {err}"))
}

/// Waits until `program` accepts connections on `addr`; panics after 20 s.
pub(crate) fn wait_until_listening(addr: SocketAddr, program: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{program} did not listen on {addr} within 20 s");
}
