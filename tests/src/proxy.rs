//! A TCP proxy between an agent and the server that a test can use to break the relay: cut the
//! connection right after a package went through to the agent, or hold the server's frames back
//! for a while. The relay's WebSocket frames from the server are not masked, so the proxy can
//! find a package among them and decode it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use sspr_protocol::relay::ServerMessage;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Controls {
    cut_after_apply: AtomicBool,
    hold: AtomicBool,
    cuts: AtomicUsize,
    connections: AtomicUsize,
}

pub struct RelayProxy {
    /// `http://127.0.0.1:<port>`: give this to the agent as the server's address.
    pub url: String,
    controls: Arc<Controls>,
}

impl RelayProxy {
    /// Listens on a free loopback port and forwards every connection to `server_url`.
    /// Runs on a thread of its own, so a test that blocks (waiting for a mail) does not stall it.
    pub fn start(server_url: &str) -> Self {
        let target = server_url
            .strip_prefix("http://")
            .expect("the proxy speaks plain http to a loopback server")
            .trim_end_matches('/')
            .to_owned();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("proxy port");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let controls = Arc::new(Controls::default());
        let shared = controls.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("proxy listener");
                while let Ok((agent, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        continue;
                    };
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(pump(agent, server, shared.clone()));
                }
            });
        });
        Self { url, controls }
    }

    /// The next package the server sends reaches the agent, and then the connection breaks
    /// before the agent can answer.
    pub fn cut_after_next_apply(&self) {
        self.controls.cut_after_apply.store(true, Ordering::SeqCst);
    }

    /// While held, what the server sends waits in the proxy; the agent's frames still pass.
    pub fn hold(&self, hold: bool) {
        self.controls.hold.store(hold, Ordering::SeqCst);
    }

    /// How many connections were cut so far.
    pub fn cuts(&self) -> usize {
        self.controls.cuts.load(Ordering::SeqCst)
    }

    /// How many connections went through so far.
    pub fn connections(&self) -> usize {
        self.controls.connections.load(Ordering::SeqCst)
    }
}

async fn pump(mut agent: TcpStream, mut server: TcpStream, controls: Arc<Controls>) {
    let (mut from_agent, mut to_agent) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let mut held: Vec<u8> = Vec::new();
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(20));
    loop {
        tokio::select! {
            read = agent.read(&mut from_agent) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if server.write_all(&from_agent[..n]).await.is_err() { return },
            },
            read = server.read(&mut to_agent) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    held.extend_from_slice(&to_agent[..n]);
                    if !controls.hold.load(Ordering::SeqCst)
                        && !flush(&mut agent, &mut held, &controls).await
                    {
                        return;
                    }
                }
            },
            _ = tick.tick() => {
                if !held.is_empty() && !controls.hold.load(Ordering::SeqCst)
                    && !flush(&mut agent, &mut held, &controls).await
                {
                    return;
                }
            }
        }
    }
}

/// Forwards what waits for the agent; false when the connection is to be (or was) cut.
async fn flush(agent: &mut TcpStream, held: &mut Vec<u8>, controls: &Controls) -> bool {
    let bytes = std::mem::take(held);
    if agent.write_all(&bytes).await.is_err() {
        return false;
    }
    if carries_apply(&bytes) && controls.cut_after_apply.swap(false, Ordering::SeqCst) {
        let _ = agent.flush().await;
        controls.cuts.fetch_add(1, Ordering::SeqCst);
        return false;
    }
    true
}

/// True when `bytes` hold a whole binary WebSocket frame (FIN, unmasked) that decodes as a
/// package for the agent. Every offset is tried: a read can start anywhere in the stream.
fn carries_apply(bytes: &[u8]) -> bool {
    (0..bytes.len()).any(|start| {
        let Some(header) = bytes.get(start..start + 2) else {
            return false;
        };
        if header[0] != 0x82 || header[1] & 0x80 != 0 {
            return false;
        }
        let (length, skip) = match header[1] & 0x7f {
            126 => match bytes.get(start + 2..start + 4) {
                Some(b) => (usize::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return false,
            },
            127 => return false,
            short => (usize::from(short), 2),
        };
        bytes
            .get(start + skip..start + skip + length)
            .and_then(|payload| ServerMessage::from_frame(payload).ok())
            .is_some_and(|message| matches!(message, ServerMessage::Apply { .. }))
    })
}
