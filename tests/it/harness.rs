//! Test harness: a real hookgate process on ephemeral loopback ports, a real
#![allow(dead_code)] // shared by every test module; each uses a different part
//! HTTP upstream that records what it received, and real HTTP clients.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A free loopback port (bound then released). Tests run in parallel, so a
/// port is never handed out twice in one run: otherwise two gateways, or a
/// gateway and a test's "dead" upstream address, could meet on one port.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut given = GIVEN.lock().unwrap();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// All values of a header (lower-case name).
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
    /// The single value of a header.
    pub fn header(&self, name: &str) -> Option<String> {
        let all = self.header_all(name);
        assert!(all.len() <= 1, "header {name} appears {} times", all.len());
        all.into_iter().next()
    }
}

/// How the upstream answers.
#[derive(Clone)]
pub struct Behaviour {
    pub status: u16,
    pub delay: Duration,
    pub body: &'static str,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            status: 200,
            delay: Duration::ZERO,
            body: "{\"ok\":true}",
        }
    }
}

/// A recording HTTP/1.1 upstream on its own runtime thread.
pub struct Upstream {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    pub behaviour: Arc<Mutex<Behaviour>>,
    _rt: tokio::runtime::Runtime,
}

impl Upstream {
    pub fn start() -> Upstream {
        Self::with(Behaviour::default())
    }

    pub fn with(b: Behaviour) -> Upstream {
        Self::on(0, b)
    }

    /// An upstream on a given loopback port (0: any), e.g. one that comes
    /// up at an address a gateway has been failing to reach.
    pub fn on(port: u16, b: Behaviour) -> Upstream {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<Recorded>>> = Default::default();
        let behaviour = Arc::new(Mutex::new(b));
        let (reqs, beh) = (requests.clone(), behaviour.clone());
        rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (reqs, beh) = (reqs.clone(), beh.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let (reqs, beh) = (reqs.clone(), beh.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes().to_vec())
                                .unwrap_or_default();
                            reqs.lock().unwrap().push(Recorded {
                                method: parts.method.to_string(),
                                path: parts.uri.to_string(),
                                headers: parts
                                    .headers
                                    .iter()
                                    .map(|(k, v)| {
                                        (
                                            k.as_str().to_string(),
                                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                        )
                                    })
                                    .collect(),
                                body,
                            });
                            let b = beh.lock().unwrap().clone();
                            if !b.delay.is_zero() {
                                tokio::time::sleep(b.delay).await;
                            }
                            let resp = Response::builder()
                                .status(b.status)
                                .header("content-type", "application/json")
                                .header("x-upstream", "recorder")
                                .body(Full::new(Bytes::from_static(b.body.as_bytes())))
                                .unwrap();
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Upstream {
            addr,
            requests,
            behaviour,
            _rt: rt,
        }
    }

    pub fn received(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn set(&self, b: Behaviour) {
        *self.behaviour.lock().unwrap() = b;
    }
}

/// A running `hookgate run` process with its own config, ports and log file.
pub struct Gateway {
    pub child: Option<Child>,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub log: PathBuf,
}

/// Path of the binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hookgate")
}

/// The config header every test gateway gets; `routes` is appended.
pub fn base_config(
    dir: &std::path::Path,
    listen: SocketAddr,
    admin: SocketAddr,
    server_extra: &str,
    limits_extra: &str,
) -> String {
    format!(
        r#"[admin]
listen = "{admin}"

[server]
pid_file = "{dir}/hookgate.pid"
upgrade_sock = "{dir}/upgrade.sock"
shutdown_timeout = "10s"
{server_extra}

[limits]
request_timeout = "5s"
read_timeout = "2s"
{limits_extra}

[[listener]]
name = "public"
listen = "{listen}"

"#,
        dir = dir.display()
    )
}

impl Gateway {
    /// Start hookgate with `routes` (TOML `[[route]]` tables) and wait until it serves.
    pub fn start(routes: &str) -> Gateway {
        Self::launch("", routes, &[])
    }

    /// Start with extra `[server]` lines, routes and environment variables.
    pub fn launch(server_extra: &str, routes: &str, env: &[(&str, &str)]) -> Gateway {
        Self::launch_with(server_extra, "", routes, env, &[])
    }

    /// Start with extra `[limits]` lines.
    pub fn with_limits(limits_extra: &str, routes: &str) -> Gateway {
        Self::launch_with("", limits_extra, routes, &[], &[])
    }

    /// Start with `routes` after writing `files` (name, content) next to the config.
    pub fn start_with_files(routes: &str, files: &[(&str, &str)]) -> Gateway {
        Self::launch_with("", "", routes, &[], files)
    }

    fn launch_with(
        server_extra: &str,
        limits_extra: &str,
        routes: &str,
        env: &[(&str, &str)],
        files: &[(&str, &str)],
    ) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let text = base_config(dir.path(), addr, admin, server_extra, limits_extra) + routes;
        Self::launch_text(dir, addr, admin, &text, env)
    }

    /// Start with extra `[admin]` lines (a token, `protect_metrics`) and
    /// `files` written next to the config.
    pub fn with_admin(
        admin_extra: &str,
        routes: &str,
        env: &[(&str, &str)],
        files: &[(&str, &str)],
    ) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let base = base_config(dir.path(), addr, admin, "", "");
        let text = base.replacen(
            &format!("listen = \"{admin}\"\n"),
            &format!("listen = \"{admin}\"\n{admin_extra}\n"),
            1,
        ) + routes;
        Self::launch_text(dir, addr, admin, &text, env)
    }

    /// Write `text` as the config in `dir` and start hookgate on it; `addr`
    /// and `admin` are the public and admin addresses it names.
    pub fn launch_text(
        dir: tempfile::TempDir,
        addr: SocketAddr,
        admin: SocketAddr,
        text: &str,
        env: &[(&str, &str)],
    ) -> Gateway {
        let config = dir.path().join("hookgate.toml");
        std::fs::write(&config, text).unwrap();
        let log = dir.path().join("hookgate.log");
        let mut cmd = Command::new(bin());
        cmd.arg("run")
            .arg("-c")
            .arg(&config)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let mut g = Gateway {
            child: Some(child),
            addr,
            admin,
            dir,
            config,
            log,
        };
        g.wait_ready();
        g
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "hookgate exited early ({status}): {}\n{}",
                    self.logs(),
                    self.stderr()
                );
            }
            if get(&format!("http://{}/healthz", self.admin))
                .map(|(s, _)| s == 200)
                .unwrap_or(false)
                && TcpStream::connect(self.addr).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("hookgate did not become ready: {}", self.logs());
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Access-log lines (parsed JSON) for a request id.
    pub fn access_log(&self, request_id: &str) -> Vec<serde_json::Value> {
        self.logs()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["target"] == "hookgate::access" && v["request_id"] == request_id)
            .collect()
    }

    /// Wait (bounded) until the access log has a line for `request_id`.
    pub fn wait_access_log(&self, request_id: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = self.access_log(request_id).into_iter().next() {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "no access log for {request_id}: {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn metrics(&self) -> String {
        get(&format!("http://{}/metrics", self.admin)).unwrap().1
    }

    /// Value of one metric series, e.g. `hookgate_requests_total{outcome="forwarded",route="a"}`;
    /// a missing series fails the test.
    pub fn metric(&self, series: &str) -> f64 {
        metric_value(&self.metrics(), series)
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// `kill -9` the process: nothing gets a chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// A zero-downtime upgrade: a new process on the same config with
    /// `--upgrade` (stdout to `new.log`, stderr to `new.err` in the same
    /// directory), and `SIGQUIT` to this one once the new one listens on the
    /// upgrade socket (the old process retries the hand-over for seconds, so
    /// the socket existing is enough). Returns the new process and its log.
    pub fn upgrade(&self) -> (Child, PathBuf) {
        let log = self.dir.path().join("new.log");
        let new = Command::new(bin())
            .args(["run", "--upgrade", "-c"])
            .arg(&self.config)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(self.dir.path().join("new.err")).unwrap())
            .spawn()
            .unwrap();
        let sock = self.dir.path().join("upgrade.sock");
        eventually(
            Duration::from_secs(20),
            "the new process's upgrade socket",
            || sock.exists(),
        );
        self.signal("QUIT");
        (new, log)
    }

    /// Start the process again on the same config and directory (after
    /// [`Gateway::kill9`] or an exit), logging to a fresh file.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        self.restart_under(&[], env);
    }

    /// [`Gateway::restart`] run through `wrapper` (a command that execs
    /// the hookgate command line appended to it, e.g. under a resource
    /// limit), so the process keeps the child's pid.
    pub fn restart_under(&mut self, wrapper: &[&str], env: &[(&str, &str)]) {
        self.kill9();
        let n = (1..).find(|i| !self.dir.path().join(format!("hookgate.{i}.log")).exists());
        self.log = self.dir.path().join(format!("hookgate.{}.log", n.unwrap()));
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(bin());
                c
            }
            None => Command::new(bin()),
        };
        cmd.arg("run")
            .arg("-c")
            .arg(&self.config)
            .stdout(std::fs::File::create(&self.log).unwrap())
            .stderr(std::fs::File::create(self.dir.path().join("stderr.log")).unwrap())
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().unwrap());
        self.wait_ready();
    }

    /// Wait for the process to exit (bounded) and return its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s.code();
            }
            assert!(Instant::now() < deadline, "hookgate did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One series' value in Prometheus text, `None` when the series is absent.
pub fn metric_opt(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .map(|v| v.trim().parse().unwrap())
}

/// One series' value in Prometheus text. A missing series is a test failure
/// naming it (a typo must not read as 0).
pub fn metric_value(text: &str, series: &str) -> f64 {
    metric_opt(text, series).unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
}

/// Poll `cond` until it holds, for at most `within`; fail naming `what`.
/// The way tests wait for something to happen (never a bare sleep).
pub fn eventually(within: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A blocking HTTP client with sane bounds.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub fn get(url: &str) -> Option<(u16, String)> {
    let r = client().get(url).send().ok()?;
    Some((r.status().as_u16(), r.text().ok()?))
}

/// Minimal raw HTTP/1.1 exchange over TCP, for framing the client libraries won't produce.
/// Writes `head` then `body` (ignoring write errors after the server answered) and reads the response.
pub fn raw_request(addr: SocketAddr, head: &str, body: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    exchange(&mut s, head, body)
}

/// One raw HTTP/1.1 request and response on an open connection (kept open
/// unless the server closes it).
pub fn exchange(s: &mut TcpStream, head: &str, body: &[u8]) -> String {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if response_complete(&out) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn response_complete(buf: &[u8]) -> bool {
    let text = String::from_utf8_lossy(buf);
    let Some(end) = text.find("\r\n\r\n") else {
        return false;
    };
    let len = text[..end].lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("content-length:")
            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
    });
    len.is_some_and(|n| buf.len() >= end + 4 + n)
}

/// Deterministic pseudo-random bytes (every byte value appears; no compression luck).
pub fn payload(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// A `[[route]]` table to `upstream` with extra lines.
/// Routes without a `[route.verify]` table in `extra` are marked
/// `allow_unauthenticated`, as hookgate requires.
pub fn route(name: &str, prefix: &str, upstream: SocketAddr, extra: &str) -> String {
    let open = if extra.contains("[route.verify]") {
        ""
    } else {
        "allow_unauthenticated = true\n"
    };
    format!("[[route]]\nname = \"{name}\"\npath_prefix = \"{prefix}\"\nupstreams = [\"{upstream}\"]\n{open}{extra}\n\n")
}

/// A `redis-server` on a loopback port with its own data directory, killed
/// on drop. CI installs it (`make test`).
pub struct RedisServer {
    child: Child,
    pub port: u16,
    appendonly: bool,
    dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> RedisServer {
        Self::launch(port, false, tempfile::tempdir().unwrap())
    }

    /// With `appendonly yes`, as a production replay or queue store must run.
    pub fn start_persistent() -> RedisServer {
        Self::launch(free_port(), true, tempfile::tempdir().unwrap())
    }

    fn launch(port: u16, appendonly: bool, dir: tempfile::TempDir) -> RedisServer {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                &dir.path().display().to_string(),
                "--appendonly",
                if appendonly { "yes" } else { "no" },
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is not installed: `make test` installs Debian's redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer {
            child,
            port,
            appendonly,
            dir,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// `kill -9` the server: clients then see it unavailable.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start it again on the same port and data directory (an AOF server
    /// comes back with what it acknowledged).
    pub fn restart(&mut self) {
        self.kill();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        *self = Self::launch(self.port, self.appendonly, dir);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A verifier built from a `[route.verify]` table: the test's provider.
pub fn signer(table: &str) -> hookgate::verify::Verifier {
    let body = table.trim_start().trim_start_matches("[route.verify]\n");
    let f: hookgate::verify::FileVerify = toml::from_str(body).unwrap();
    hookgate::verify::Verifier::from_file(&f, std::path::Path::new("."), "test").unwrap()
}

/// The headers a provider signing with `v` sends for a POST of `body` to
/// `path` at `at`, plus `headers` (which the signer sees, e.g. a signed
/// delivery id).
pub fn sign_with(
    v: &hookgate::verify::Verifier,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    at: std::time::SystemTime,
) -> Vec<(String, String)> {
    let mut h = http::HeaderMap::new();
    for (k, val) in headers {
        h.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            val.parse().unwrap(),
        );
    }
    let parts = hookgate::verify::RequestParts {
        method: "POST",
        path_and_query: path,
        headers: &h,
    };
    let mut out = v.sign(&parts, body, at).unwrap();
    out.extend(
        headers
            .iter()
            .map(|(k, val)| (k.to_string(), val.to_string())),
    );
    out
}

/// [`sign_with`] for a body of `content_type`.
pub fn sign(
    v: &hookgate::verify::Verifier,
    path: &str,
    content_type: &str,
    body: &[u8],
    at: std::time::SystemTime,
) -> Vec<(String, String)> {
    sign_with(v, path, &[("content-type", content_type)], body, at)
}

// === helpers for the hardening tests (attacks, upstream, connections, memory) ===

/// Keys for the harness's `[[listener]]` table, placed before the routes:
/// TOML lines that precede the first `[[route]]` belong to the listener.
pub fn listener_keys(keys: &str, routes: &str) -> String {
    format!("{keys}\n\n{routes}")
}

/// Peak resident memory of a process (`VmHWM`), in bytes.
pub fn vm_hwm(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib * 1024
}

/// One HTTP/1.1 response read off a raw socket.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    /// Header lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Read every response on `s` until the server closes it (or 10 s pass).
/// Responses must carry a Content-Length (hookgate's and the harness
/// upstreams' do).
pub fn read_responses(s: &mut TcpStream) -> Vec<RawResponse> {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_responses(&raw)
}

/// Split a byte stream into the responses it holds.
pub fn parse_responses(mut raw: &[u8]) -> Vec<RawResponse> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap_or(0));
        let body_end = (end + 4 + len).min(raw.len());
        out.push(RawResponse {
            status,
            headers,
            body: raw[end + 4..body_end].to_vec(),
        });
        raw = &raw[body_end..];
    }
    out
}

/// What a [`RawUpstream`] answers to a request.
pub enum Reply {
    /// Write these bytes (one or more responses, interim ones included).
    Bytes(Vec<u8>),
    /// Sleep, then write.
    Later(Duration, Vec<u8>),
    /// Write these bytes (possibly none), then close the connection.
    Close(Vec<u8>),
}

/// A raw-socket HTTP/1.1 upstream for answers a real server would not give
/// (interim responses, stray `101`s, resets): it records every request
/// (head and body) and answers through `script`.
pub struct RawUpstream {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    /// Connections accepted.
    pub connections: Arc<std::sync::atomic::AtomicUsize>,
}

type Script = dyn Fn(usize, &Recorded) -> Reply + Send + Sync;

impl RawUpstream {
    /// Answer each request with `script(index, request)`, `index` counting
    /// every request received so far from 0; connections are kept alive.
    pub fn start(script: impl Fn(usize, &Recorded) -> Reply + Send + Sync + 'static) -> Self {
        Self::launch(Arc::new(script), false)
    }

    /// Like [`RawUpstream::start`], but a connection that already served a
    /// request is closed *unread* as soon as the next request's bytes arrive,
    /// so the kernel resets it: what a keep-alive upstream does when it
    /// times out an idle connection just as the proxy reuses it.
    pub fn closing_reused(
        script: impl Fn(usize, &Recorded) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::launch(Arc::new(script), true)
    }

    fn launch(script: Arc<Script>, reset_reused: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<Recorded>>> = Default::default();
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (reqs, conns) = (requests.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                conns.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (reqs, script) = (reqs.clone(), script.clone());
                std::thread::spawn(move || serve_raw(stream, &reqs, &*script, reset_reused));
            }
        });
        RawUpstream {
            addr,
            requests,
            connections,
        }
    }

    pub fn received(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve_raw(mut s: TcpStream, reqs: &Mutex<Vec<Recorded>>, script: &Script, reset_reused: bool) {
    let mut buf = Vec::new();
    let mut served = 0;
    loop {
        if reset_reused && served > 0 && buf.is_empty() {
            // Wait for the next request's first bytes, then close unread: RST.
            let mut probe = [0u8; 1];
            let _ = s.peek(&mut probe);
            return;
        }
        let Some(req) = read_raw_request(&mut s, &mut buf) else {
            return;
        };
        let index = {
            let mut all = reqs.lock().unwrap();
            all.push(req.clone());
            all.len() - 1
        };
        let (bytes, close) = match script(index, &req) {
            Reply::Bytes(b) => (b, false),
            Reply::Later(d, b) => {
                std::thread::sleep(d);
                (b, false)
            }
            Reply::Close(b) => (b, true),
        };
        if s.write_all(&bytes).is_err() || close {
            return;
        }
        served += 1;
    }
}

/// Read one request (Content-Length framed) from `s`, `buf` holding bytes read ahead.
fn read_raw_request(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Recorded> {
    let mut chunk = [0u8; 16 * 1024];
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = s.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap_or(0));
    while buf.len() < end + 4 + len {
        let n = s.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[end + 4..end + 4 + len].to_vec();
    buf.drain(..end + 4 + len);
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

/// `HTTP/1.1 <status>` with a body and a Content-Length.
pub fn http_response(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
