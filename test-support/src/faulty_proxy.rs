//! A TCP proxy on 127.0.0.1 that forwards to a server and, once, cuts the connection after a given number
//! of bytes has gone towards the server: a connection lost in the middle of an upload, for resume tests.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;

/// A running proxy; dropping it stops accepting connections.
pub struct FaultyProxy {
    /// `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accepting: Option<JoinHandle<()>>,
}

struct Shared {
    upstream: SocketAddr,
    /// The fault strikes when this many bytes (over all connections) have gone upstream.
    drop_after: u64,
    sent: AtomicU64,
    armed: AtomicBool,
    faults: AtomicUsize,
    stopping: AtomicBool,
}

impl FaultyProxy {
    /// Forwards to `upstream`; the first time the bytes sent towards it reach `drop_after` in total, the
    /// connection carrying them is cut both ways, after exactly `drop_after` bytes.
    pub fn start(upstream: SocketAddr, drop_after: u64) -> FaultyProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|err| panic!("binding the proxy: {err}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("proxy address: {err}"));
        let shared = Arc::new(Shared {
            upstream,
            drop_after,
            sent: AtomicU64::new(0),
            armed: AtomicBool::new(true),
            faults: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
        });
        let accepting = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if shared.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(client) = client {
                        let shared = shared.clone();
                        std::thread::spawn(move || forward(client, &shared));
                    }
                }
            })
        };
        FaultyProxy {
            addr,
            shared,
            accepting: Some(accepting),
        }
    }

    /// `127.0.0.1:PORT`, as a registry reference wants it.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// How many connections were cut (0 or 1).
    pub fn faults(&self) -> usize {
        self.shared.faults.load(Ordering::SeqCst)
    }

    /// How many bytes went towards the server.
    pub fn bytes_sent(&self) -> u64 {
        self.shared.sent.load(Ordering::SeqCst)
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.join();
        }
    }
}

/// Carries one connection: answers flow back untouched; requests flow up, counted, until the fault.
fn forward(client: TcpStream, shared: &Shared) {
    let Ok(server) = TcpStream::connect(shared.upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (Ok(mut client_reader), Ok(mut server_writer)) = (client.try_clone(), server.try_clone())
    else {
        return;
    };
    let (mut server_reader, mut client_writer) = (server, client);
    let answers = std::thread::spawn(move || {
        let _ = std::io::copy(&mut server_reader, &mut client_writer);
        let _ = client_writer.shutdown(Shutdown::Write);
    });
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match client_reader.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let before = shared.sent.fetch_add(read as u64, Ordering::SeqCst);
        let reaches = before + read as u64 >= shared.drop_after;
        if reaches && shared.armed.swap(false, Ordering::SeqCst) {
            let keep = shared.drop_after.saturating_sub(before) as usize;
            let _ = server_writer.write_all(&buffer[..keep]);
            shared
                .sent
                .fetch_sub((read - keep) as u64, Ordering::SeqCst);
            shared.faults.fetch_add(1, Ordering::SeqCst);
            let _ = server_writer.shutdown(Shutdown::Both);
            let _ = client_reader.shutdown(Shutdown::Both);
            break;
        }
        if server_writer.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = server_writer.shutdown(Shutdown::Write);
    let _ = answers.join();
}
