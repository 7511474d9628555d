//! A stand-in for the agents' model APIs on the loopback interface: it reads each HTTP
//! request, keeps its bytes, and answers 503 so that the CLI retries or gives up. A request
//! that carries the prompt proves that the CLI accepted its command line and read the
//! prompt: an argument parser that refuses the command line exits before any request.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The most request bytes kept (later requests are counted, not kept).
const KEEP_BYTES: usize = 64 << 20;

/// The largest request read (bytes).
const MAX_REQUEST: usize = 16 << 20;

#[derive(Default)]
struct Seen {
    requests: Vec<Vec<u8>>,
    kept: usize,
}

/// A running stub API server; stops when dropped.
pub struct Stub {
    pub port: u16,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
}

impl Stub {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stub API on 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (Arc::clone(&seen), Arc::clone(&stop));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let seen = Arc::clone(&seen2);
                thread::spawn(move || serve(stream, &seen));
            }
        });
        Self { port, seen, stop }
    }

    /// The base URL of the stub, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// True when some request received so far contains every one of `needles`.
    pub fn saw(&self, needles: &[&str]) -> bool {
        let seen = self.seen.lock().unwrap();
        seen.requests.iter().any(|request| {
            needles
                .iter()
                .all(|needle| contains(request, needle.as_bytes()))
        })
    }

    /// How many requests arrived so far.
    pub fn requests(&self) -> usize {
        self.seen.lock().unwrap().requests.len()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// Reads one request (headers, then a body by `Content-Length` or chunked to its end),
/// keeps it, answers 503 and closes the connection.
fn serve(mut stream: TcpStream, seen: &Mutex<Seen>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut data = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
        if complete(&data) || data.len() > MAX_REQUEST {
            break;
        }
    }
    {
        let mut seen = seen.lock().unwrap();
        if seen.kept + data.len() <= KEEP_BYTES {
            seen.kept += data.len();
            seen.requests.push(data);
        } else {
            seen.requests.push(Vec::new());
        }
    }
    let _ = stream.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
}

/// True when `data` holds a whole HTTP request.
fn complete(data: &[u8]) -> bool {
    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
    let body = &data[end + 4..];
    if let Some(length) = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
    {
        return body.len() >= length;
    }
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with(b"0\r\n\r\n");
    }
    true
}
