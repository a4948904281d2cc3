//! TCP connections: how many the server holds, and when it lets one go.
//!
//! HTTP/2 bounds the calls on one connection, not the connections; each
//! costs a socket (a file descriptor), a task, hyper's and rustls's buffers
//! (tens of KiB). So the server admits at most [`MAX_CONNECTIONS`] at once
//! over the server and [`MAX_CONNECTIONS_PER_ADDRESS`] from one client
//! address (an IPv6 client is its /64, which one subscriber holds whole).
//! A connection beyond either is accepted and closed at once, so that its
//! client fails fast rather than waiting in the listen backlog; the client
//! sees UNAVAILABLE (the connection closed or was reset).
//!
//! A connection with no open call for [`IDLE_TIMEOUT`] is closed, as
//! grpc-go's `MaxConnectionIdle` does: idleness counts from the moment the
//! last call ended (or the connection was accepted), and traffic without a
//! call (pings, settings, a TLS handshake that never ends, the bytes of a
//! request that never completes) does not reset it, or a client could hold
//! a connection for ever with pings. A call that is open (a stream that
//! waits for the market) keeps its connection whatever its traffic; dead
//! peers under an open call are found by HTTP/2 keep-alive pings instead
//! (see `serve` in lib.rs). A tonic client reconnects on its next call.
//!
//! How: [`Incoming`] accepts sockets and admits them ([`Connections`]);
//! each admitted one is a [`Conn`], which frees its places when dropped
//! and fails its reads once idle, which makes hyper close it. The calls
//! are counted by [`CallLayer`], a tower layer around every service, which
//! finds the call's connection by its peer address and holds a count until
//! the call's answer is dropped.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tokio_stream::Stream;
use tonic::codegen::http;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Most TCP connections open at once over the server. Napkin maths: every
/// long-lived call of the server may come from a client of its own (1,024
/// market streams, 256 submit streams and 256 alert streams: 1,536
/// connections), with room for as many again making short calls; an idle
/// connection holds ~50 KiB (hyper's and rustls's buffers, a task), so
/// 4,096 of them hold ~200 MiB at most, and as many file descriptors (the
/// server raises its soft limit to fit, see [`fit_open_files`]).
pub const MAX_CONNECTIONS: usize = 4_096;

/// Most TCP connections open at once from one client address (an IPv6 /64).
/// One connection carries up to 1,024 concurrent calls, so a client needs
/// one; 64 leave room for a busy office behind one NAT address, and it
/// takes 64 addresses to fill [`MAX_CONNECTIONS`].
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 64;

/// A connection with no open call for this long is closed: an abandoned
/// connection, or one that never sends a complete request, frees its place
/// within two minutes, while a client that calls once a minute keeps its own.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// How long the accept loop rests after an error that is not one
/// connection's (out of file descriptors, out of memory): retrying at once
/// would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// File descriptors kept for what is not a connection (the journal, the
/// snapshot, logs, the listening socket).
const RESERVED_FILES: u64 = 256;

/// Test hooks: `CARBON_TEST_MAX_CONNECTIONS`,
/// `CARBON_TEST_MAX_CONNECTIONS_PER_ADDRESS` and
/// `CARBON_TEST_IDLE_TIMEOUT_MS` replace the limits above, so that a test
/// need not open thousands of connections or wait minutes. Read once at
/// start-up; for tests only.
pub const TEST_MAX_CONNECTIONS: &str = "CARBON_TEST_MAX_CONNECTIONS";
pub const TEST_MAX_CONNECTIONS_PER_ADDRESS: &str = "CARBON_TEST_MAX_CONNECTIONS_PER_ADDRESS";
pub const TEST_IDLE_TIMEOUT_MS: &str = "CARBON_TEST_IDLE_TIMEOUT_MS";

/// The bounds in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_open: usize,
    pub max_per_address: usize,
    pub idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_open: MAX_CONNECTIONS,
            max_per_address: MAX_CONNECTIONS_PER_ADDRESS,
            idle: IDLE_TIMEOUT,
        }
    }
}

impl Limits {
    /// The defaults, with the test hooks applied.
    pub fn from_env() -> anyhow::Result<Limits> {
        let mut l = Limits::default();
        if let Some(n) = crate::fault_hook(TEST_MAX_CONNECTIONS)? {
            tracing::warn!("test hook {TEST_MAX_CONNECTIONS}={n}");
            l.max_open = n as usize;
        }
        if let Some(n) = crate::fault_hook(TEST_MAX_CONNECTIONS_PER_ADDRESS)? {
            tracing::warn!("test hook {TEST_MAX_CONNECTIONS_PER_ADDRESS}={n}");
            l.max_per_address = n as usize;
        }
        if let Some(n) = crate::fault_hook(TEST_IDLE_TIMEOUT_MS)? {
            tracing::warn!("test hook {TEST_IDLE_TIMEOUT_MS}={n}");
            l.idle = Duration::from_millis(n);
        }
        Ok(l)
    }
}

/// Raises the soft limit on open files, if it is lower, to what `want`
/// connections and [`RESERVED_FILES`] need (never above the hard limit), and
/// returns how many connections fit under the limit then in force.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // `rlim_t` is not `u64` on every unix
pub fn fit_open_files(want: usize) -> usize {
    let need = want as u64 + RESERVED_FILES;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read or write the struct given, nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return want;
    }
    let soft = lim.rlim_cur as u64;
    if soft < need {
        let raised = libc::rlimit {
            rlim_cur: need.min(lim.rlim_max as u64) as libc::rlim_t,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = raised.rlim_cur;
        }
    }
    let fit = (lim.rlim_cur as u64).saturating_sub(RESERVED_FILES);
    want.min(usize::try_from(fit).unwrap_or(usize::MAX)).max(1)
}

#[cfg(not(unix))]
pub fn fit_open_files(want: usize) -> usize {
    want
}

/// The key a client address is counted under: an IPv4 address (also when
/// written as IPv4-mapped IPv6), or an IPv6 address's /64, which one
/// subscriber gets whole and can spread over 2^64 addresses.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The connections open, and what each is doing.
pub struct Connections {
    limits: Limits,
    state: Mutex<State>,
    /// When a refusal was last logged (ms since `started`), so that a flood
    /// of refusals writes a line per second rather than one each.
    last_warned_ms: AtomicU64,
    started: Instant,
    /// The connections open, for the operator's metrics.
    gauge: metrics::Gauge,
}

#[derive(Default)]
struct State {
    open: usize,
    per_address: HashMap<IpAddr, usize>,
    /// The open connections by peer address, for [`CallLayer`].
    by_peer: HashMap<SocketAddr, Arc<Activity>>,
}

impl Connections {
    pub fn new(limits: Limits) -> Arc<Connections> {
        Arc::new(Connections {
            limits,
            state: Mutex::default(),
            last_warned_ms: AtomicU64::new(0),
            started: Instant::now(),
            gauge: crate::telemetry::open_connections(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits `stream` from `peer`, or `Err` with why not (the caller closes it).
    fn admit(self: &Arc<Self>, stream: TcpStream, peer: SocketAddr) -> Result<Conn, String> {
        let key = client_key(peer.ip());
        let activity = Arc::new(Activity::new());
        {
            let mut s = self.state();
            if s.open >= self.limits.max_open {
                return Err(format!("{} connections are open (the most the server holds)", s.open));
            }
            let n = s.per_address.entry(key).or_insert(0);
            if *n >= self.limits.max_per_address {
                return Err(format!(
                    "{n} connections are open from {key} (the most one client address holds)"
                ));
            }
            *n += 1;
            s.open += 1;
            s.by_peer.insert(peer, activity.clone());
            self.gauge.set(s.open as f64);
        }
        Ok(Conn {
            stream,
            activity,
            idle: self.limits.idle,
            timer: None,
            _place: Place {
                connections: self.clone(),
                key,
                peer,
            },
        })
    }

    /// The activity of the connection from `peer`, if it is open.
    fn activity(&self, peer: SocketAddr) -> Option<Arc<Activity>> {
        self.state().by_peer.get(&peer).cloned()
    }

    fn warn_refused(&self, peer: SocketAddr, why: &str) {
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_warned_ms.load(Ordering::Relaxed);
        if (now >= last + 1_000 || last == 0)
            && self
                .last_warned_ms
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!("closed a new connection from {peer}: {why} (such refusals are logged once a second)");
        } else {
            tracing::debug!("closed a new connection from {peer}: {why}");
        }
    }
}

/// A connection's place in [`Connections`], given back when dropped.
struct Place {
    connections: Arc<Connections>,
    key: IpAddr,
    peer: SocketAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut s = self.connections.state();
        s.open -= 1;
        self.connections.gauge.set(s.open as f64);
        if let Some(n) = s.per_address.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                s.per_address.remove(&self.key);
            }
        }
        s.by_peer.remove(&self.peer);
    }
}

/// What a connection is doing: its open calls, and since when it has had none.
struct Activity(Mutex<ActivityState>);

struct ActivityState {
    calls: usize,
    idle_since: Instant,
    /// The connection's reader, woken when the last call ends so that it
    /// starts counting idle time.
    reader: Option<Waker>,
}

impl Activity {
    fn new() -> Activity {
        Activity(Mutex::new(ActivityState {
            calls: 0,
            idle_since: Instant::now(),
            reader: None,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One open call on a connection; the call ends when this is dropped.
struct CallGuard(Arc<Activity>);

impl CallGuard {
    fn new(activity: Arc<Activity>) -> CallGuard {
        activity.lock().calls += 1;
        CallGuard(activity)
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        let reader = {
            let mut a = self.0.lock();
            a.calls -= 1;
            if a.calls > 0 {
                return;
            }
            a.idle_since = Instant::now();
            a.reader.take()
        };
        if let Some(w) = reader {
            w.wake();
        }
    }
}

/// An admitted connection: the socket, its place, and its idle timer.
pub struct Conn {
    stream: TcpStream,
    activity: Arc<Activity>,
    idle: Duration,
    /// Armed while the connection has no open call.
    timer: Option<Pin<Box<Sleep>>>,
    _place: Place,
}

impl Conn {
    /// `Err` once the connection has been idle for its timeout; otherwise
    /// arranges to be woken when that could next be the case.
    fn check_idle(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let deadline = {
            let mut a = self.activity.lock();
            if a.calls > 0 {
                if !a.reader.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    a.reader = Some(cx.waker().clone());
                }
                self.timer = None;
                return Ok(());
            }
            a.idle_since + self.idle
        };
        let timer = match &mut self.timer {
            Some(t) => {
                if t.deadline() != deadline {
                    t.as_mut().reset(deadline);
                }
                t
            }
            None => self.timer.insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no call for {} ms: closing the idle connection", self.idle.as_millis()),
            )),
            Poll::Pending => Ok(()),
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Pending => match self.check_idle(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            ready => ready,
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The listening socket as a stream of admitted connections, for
/// `serve_with_incoming`. It never ends and never yields an error: a
/// refused connection is closed here, and an error of the listener (out of
/// file descriptors) is logged and retried after [`ACCEPT_BACKOFF`].
pub struct Incoming {
    listener: TcpListener,
    connections: Arc<Connections>,
    backoff: Option<Pin<Box<Sleep>>>,
}

impl Incoming {
    pub fn new(listener: TcpListener, connections: Arc<Connections>) -> Incoming {
        Incoming {
            listener,
            connections,
            backoff: None,
        }
    }
}

impl Stream for Incoming {
    type Item = io::Result<Conn>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(b) = &mut self.backoff {
                std::task::ready!(b.as_mut().poll(cx));
                self.backoff = None;
            }
            match std::task::ready!(self.listener.poll_accept(cx)) {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    match self.connections.admit(stream, peer) {
                        Ok(conn) => return Poll::Ready(Some(Ok(conn))),
                        // The stream was dropped inside `admit`: closed.
                        Err(why) => self.connections.warn_refused(peer, &why),
                    }
                }
                // One connection's trouble (it went away before we took it).
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::Interrupted
                            | io::ErrorKind::WouldBlock
                    ) => {}
                Err(e) => {
                    tracing::error!(
                        "accepting connections: {e}; retrying in {} ms",
                        ACCEPT_BACKOFF.as_millis()
                    );
                    self.backoff = Some(Box::pin(tokio::time::sleep(ACCEPT_BACKOFF)));
                }
            }
        }
    }
}

/// Counts the calls of each connection (see the module doc): a tower layer
/// for `Server::builder().layer`.
#[derive(Clone)]
pub struct CallLayer(pub Arc<Connections>);

impl<S> tower_layer::Layer<S> for CallLayer {
    type Service = CallCounter<S>;

    fn layer(&self, inner: S) -> CallCounter<S> {
        CallCounter {
            inner,
            connections: self.0.clone(),
        }
    }
}

/// The service [`CallLayer`] makes.
#[derive(Clone)]
pub struct CallCounter<S> {
    inner: S,
    connections: Arc<Connections>,
}

/// The peer address tonic recorded for a request (plain or TLS).
fn peer_of<B>(req: &http::Request<B>) -> Option<SocketAddr> {
    let ext = req.extensions();
    ext.get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            ext.get::<tonic::transport::server::TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|i| i.get_ref().remote_addr())
        })
}

impl<S, B> tonic::codegen::Service<http::Request<B>> for CallCounter<S>
where
    S: tonic::codegen::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let guard = peer_of(&req)
            .and_then(|p| self.connections.activity(p))
            .map(CallGuard::new);
        let answer = self.inner.call(req);
        Box::pin(async move {
            let response = answer.await?;
            Ok(match guard {
                Some(guard) => response.map(|body| tonic::body::Body::new(Counted { body, _guard: guard })),
                None => response,
            })
        })
    }
}

/// An answer's body that holds its call open until it is dropped.
struct Counted {
    body: tonic::body::Body,
    _guard: CallGuard,
}

impl http_body::Body for Counted {
    type Data = tonic::codegen::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(client_key(v4), v4);
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), v4);
    }

    #[tokio::test]
    async fn a_connection_idles_out_only_without_calls() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        let connections = Connections::new(Limits {
            max_open: 10,
            max_per_address: 10,
            idle: Duration::from_millis(200),
        });
        let mut conn = connections.admit(stream, peer).unwrap();
        let call = CallGuard::new(connections.activity(peer).unwrap());
        let mut buf = [0u8; 16];
        let read = async {
            let mut b = ReadBuf::new(&mut buf);
            std::future::poll_fn(|cx| Pin::new(&mut conn).poll_read(cx, &mut b)).await
        };
        // With a call open the read waits past the timeout; the call's end
        // starts the idle clock, and the read fails once it runs out.
        let t0 = Instant::now();
        let ended = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            drop(call);
        });
        let err = read.await.expect_err("the idle connection's read fails");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let waited = t0.elapsed();
        assert!(waited >= Duration::from_millis(700), "{waited:?}");
        ended.await.unwrap();
        drop(conn);
        drop(client);
        let s = connections.state();
        assert_eq!((s.open, s.per_address.len(), s.by_peer.len()), (0, 0, 0));
    }
}
