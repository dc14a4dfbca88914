//! Listening on an address, plain or over TLS, and serving a router there until a graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;

use crate::error::{HttpServerError, Result};
use crate::tls::TlsListener;

/// A bound socket serving plain HTTP, or HTTPS when given a TLS acceptor. Binding before serving lets the
/// caller learn the port (`127.0.0.1:0`) first.
pub struct Listener {
    accepting: Accepting,
    local_addr: SocketAddr,
}

/// What accepts the connections.
enum Accepting {
    Plain(TcpListener),
    Tls(TlsListener),
}

impl Listener {
    /// Binds `addr` (`HOST:PORT`), serving TLS with `tls` if given.
    pub async fn bind(addr: &str, tls: Option<TlsAcceptor>) -> Result<Listener> {
        let cannot = |source| HttpServerError::Serve {
            addr: addr.to_string(),
            source,
        };
        let tcp = TcpListener::bind(addr).await.map_err(cannot)?;
        let local_addr = tcp.local_addr().map_err(cannot)?;
        let accepting = match tls {
            Some(acceptor) => Accepting::Tls(TlsListener::new(tcp, acceptor).map_err(cannot)?),
            None => Accepting::Plain(tcp),
        };
        Ok(Listener {
            accepting,
            local_addr,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `https` over TLS, else `http`: the scheme of the URLs it serves.
    pub fn scheme(&self) -> &'static str {
        match self.accepting {
            Accepting::Plain(_) => "http",
            Accepting::Tls(_) => "https",
        }
    }
}

impl axum::serve::Listener for Listener {
    type Io = Either<TcpStream, TlsStream<TcpStream>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match &mut self.accepting {
            Accepting::Plain(tcp) => {
                let (stream, peer) = axum::serve::Listener::accept(tcp).await;
                (Either::Left(stream), peer)
            }
            Accepting::Tls(tls) => {
                let (stream, peer) = axum::serve::Listener::accept(tls).await;
                (Either::Right(stream), peer)
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests in flight finish.
pub async fn serve<L: axum::serve::Listener<Addr = SocketAddr>>(
    listener: L,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let local = listener.local_addr().ok();
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| HttpServerError::Serve {
            addr: local.map_or_else(|| "the listener".to_string(), |a| a.to_string()),
            source,
        })
}

/// Completes on Ctrl-C, or on SIGTERM on Unix: the graceful-shutdown trigger of both servers.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
