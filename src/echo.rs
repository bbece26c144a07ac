//! `hookgate echo`: a tiny receiver that prints what reached it.
//!
//! It stands in for the app behind hookgate in the demo (`make run`) and is
//! handy for ops checking a deployment: it answers with the byte count and
//! SHA-256 of the body it received, so a sender can confirm the exact bytes
//! went through.

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use sha2::{Digest, Sha256};

/// Most a demo receiver will buffer.
const MAX_ECHO_BODY: usize = 16 << 20;

/// The echo app.
pub struct Echo;

#[async_trait]
impl ServeHttp for Echo {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = session.read_request_body().await {
            if body.len() + chunk.len() > MAX_ECHO_BODY {
                break;
            }
            body.extend_from_slice(&chunk);
        }
        let req = session.req_header();
        let header = |name: &str| {
            req.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let out = serde_json::json!({
            "received": true,
            "method": req.method.as_str(),
            "path": req.uri.path(),
            "bytes": body.len(),
            "sha256": hex::encode(Sha256::digest(&body)),
            "request_id": header("x-request-id"),
            "forwarded_for": header("x-forwarded-for"),
        });
        println!("{out}");
        let mut resp = Response::new(format!("{out}\n").into_bytes());
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        let len = resp.body().len();
        resp.headers_mut()
            .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
        resp
    }
}

/// Run the echo receiver on `listen` until killed.
pub fn run(listen: &str) -> ! {
    let mut server = pingora::server::Server::new_with_opt_and_conf(
        pingora::server::configuration::Opt::default(),
        pingora::server::configuration::ServerConf {
            pid_file: "/tmp/hookgate-echo.pid".into(),
            upgrade_sock: "/tmp/hookgate-echo-upgrade.sock".into(),
            grace_period_seconds: Some(0),
            graceful_shutdown_timeout_seconds: Some(1),
            ..Default::default()
        },
    );
    server.bootstrap();
    let mut svc = pingora::services::listening::Service::new("hookgate-echo".to_string(), Echo);
    svc.add_tcp(listen);
    server.add_service(svc);
    server.run_forever()
}
