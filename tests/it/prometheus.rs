//! The shipped Prometheus/Grafana material works with a real Prometheus and
//! uses only metrics hookgate exports.

use crate::harness::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn tool(name: &str) -> String {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "{name} is not installed: `make test` installs Debian's prometheus package"
    );
    String::from_utf8(found.stdout).unwrap().trim().to_string()
}

/// `hookgate_*` names used in a text (rules, dashboards), histogram suffixes removed.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("hookgate_") {
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let base = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(&name);
        out.insert(base.to_string());
    }
    out
}

#[test]
fn alert_rules_pass_promtool() {
    let out = Command::new(tool("promtool"))
        .args(["check", "rules"])
        .arg(repo("conf/prometheus/alerts.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rules_and_dashboard_use_only_exported_metrics() {
    let up = Upstream::start();
    // A verified route, so signature and replay series exist too.
    let table = "[route.verify]\nscheme = \"github\"\nsecrets = [\"s\"]";
    // And a TLS listener, so the certificate series exist.
    let certs = tempfile::tempdir().unwrap();
    hookgate::certs::generate_dev(certs.path()).unwrap();
    let p = |f: &str| certs.path().join(f).display().to_string();
    let tls = format!(
        "[[listener]]\nname = \"tls\"\nlisten = \"127.0.0.1:{}\"\ntls = {{ cert = \"{}\", key = \"{}\", client_ca = \"{}\", client_auth = \"optional\" }}\n\n",
        free_port(),
        p("server.pem"),
        p("server.key"),
        p("ca.pem")
    );
    // And a queue-mode route, so the queue series exist.
    let queued = route(
        "q",
        "/q",
        up.addr,
        "[route.delivery]\nmode = \"queue\"\n[queue]\npath = \"queue.redb\"\n",
    );
    let gw = Gateway::start(&(tls + &route("p", "/p", up.addr, table) + &queued));
    // The expiry gauge is published by the once-a-second upkeep task.
    eventually(Duration::from_secs(10), "the expiry gauge", || {
        gw.metrics()
            .contains("hookgate_tls_certificate_expiry_days{")
    });
    let mut req = client().post(gw.url("/p")).body("x");
    for (k, val) in sign_with(&signer(table), "/p", &[], b"x", SystemTime::now()) {
        req = req.header(k, val);
    }
    assert_eq!(req.send().unwrap().status(), 200);
    let exported: BTreeSet<String> = gw
        .metrics()
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let mut used =
        metric_names(&std::fs::read_to_string(repo("conf/prometheus/alerts.yml")).unwrap());
    for entry in std::fs::read_dir(repo("conf/grafana")).unwrap() {
        used.extend(metric_names(
            &std::fs::read_to_string(entry.unwrap().path()).unwrap(),
        ));
    }
    assert!(
        used.len() >= 5,
        "the files reference hookgate metrics: {used:?}"
    );
    let missing: Vec<_> = used.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "used but not exported: {missing:?}\nexported: {exported:?}"
    );
}

struct Prom(Child);
impl Drop for Prom {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn real_prometheus_scrapes_the_gateway() {
    let up = Upstream::start();
    let gw = Gateway::start(&route("p", "/p", up.addr, ""));
    for _ in 0..2 {
        assert_eq!(
            client()
                .post(gw.url("/p"))
                .body("x")
                .send()
                .unwrap()
                .status(),
            200
        );
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo("conf/prometheus/alerts.yml"),
        dir.path().join("alerts.yml"),
    )
    .unwrap();
    let shipped = std::fs::read_to_string(repo("conf/prometheus/prometheus.yml")).unwrap();
    let cfg = shipped
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("127.0.0.1:9901", &gw.admin.to_string());
    std::fs::write(dir.path().join("prometheus.yml"), cfg).unwrap();
    let port = free_port();
    let _prom = Prom(
        Command::new(tool("prometheus"))
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("prom.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let query = format!(
        "http://127.0.0.1:{port}/api/v1/query?query=hookgate_requests_total%7Boutcome%3D%22forwarded%22%2Croute%3D%22p%22%7D"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let value = loop {
        if let Some((200, body)) = get(&query) {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if let Some(s) = v["data"]["result"][0]["value"][1].as_str() {
                break s.to_string();
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never saw the series: {}",
            std::fs::read_to_string(dir.path().join("prom.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(value, "2");
    // The shipped rules were loaded by the real server too.
    let (_, rules) = get(&format!("http://127.0.0.1:{port}/api/v1/rules")).unwrap();
    assert!(
        rules.contains("HookgateRejectionSpike") && rules.contains("HookgateConfigReloadFailed"),
        "{rules}"
    );
}
