//! The embedded (redb) store: crash safety and group commit.

use crate::queue_support::*;
use hookgate::queue::{DeliveryId, QueueStore};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "HOOKGATE_QUEUE_CRASH_CHILD";

/// Child-process entry point for [`acknowledged_deliveries_survive_kill_9`]:
/// with `HOOKGATE_QUEUE_CRASH_CHILD=<file>` it enqueues from 16 tasks until
/// killed, printing `ack <id> <body>` once each enqueue has returned. Run
/// normally, it does nothing.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    runtime().block_on(async move {
        let store: Arc<dyn QueueStore> = Arc::new(open_embedded(path.as_ref(), 1 << 30));
        let mut tasks = Vec::new();
        for t in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let body = format!("task{t}-item{i}-{}", "x".repeat(1000));
                    let id = store.enqueue(delivery("a", body.as_bytes())).await.unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {id} {body}").unwrap();
                    out.flush().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn acknowledged_deliveries_survive_kill_9() {
    let dir = disk_dir();
    let path = dir.path().join("queue.redb");
    let mut child = Command::new(this_test_binary())
        .args([
            "--exact",
            "queue_embedded::crash_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked: HashMap<String, String> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.len() < 500 {
        assert!(
            Instant::now() < deadline,
            "the child acknowledged only {}",
            acked.len()
        );
        let line = lines.next().expect("child exited early").unwrap();
        if let Some((id, body)) = line.strip_prefix("ack ").and_then(|l| l.split_once(' ')) {
            acked.insert(id.to_string(), body.to_string());
        }
    }
    // kill -9 in the middle of its enqueues, then collect what it printed before dying.
    child.kill().unwrap();
    child.wait().unwrap();
    for line in lines {
        let line = line.unwrap();
        if let Some((id, body)) = line.strip_prefix("ack ").and_then(|l| l.split_once(' ')) {
            acked.insert(id.to_string(), body.to_string());
        }
    }

    let store = open_embedded(&path, 1 << 30);
    runtime().block_on(async {
        for (id, body) in &acked {
            let d = store
                .show(DeliveryId::parse(id).unwrap())
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged delivery {id} lost"));
            assert_eq!(&d.body[..], body.as_bytes(), "{id}");
        }
        let stats = store
            .stats(&["a".into()], std::time::SystemTime::now())
            .await
            .unwrap();
        let stored = stats.routes[0].1.pending;
        println!(
            "acknowledged before kill -9: {}, stored after reopening: {stored}",
            acked.len()
        );
        assert!(stored >= acked.len() as u64);
    });
}

#[test]
fn concurrent_enqueues_share_one_commit() {
    let dir = disk_dir();
    let store = Arc::new(open_embedded(&dir.path().join("q.redb"), 1 << 30));
    let before = store.commits();
    runtime().block_on(async {
        let mut tasks = Vec::new();
        for i in 0..400 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .enqueue(delivery("a", format!("{i}").as_bytes()))
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let commits = store.commits() - before;
    println!("400 concurrent enqueues took {commits} durable commits");
    assert!(commits >= 1);
    assert!(
        commits <= 100,
        "group commit batches concurrent enqueues: {commits} commits for 400"
    );
}

#[test]
fn a_file_already_open_is_refused_with_a_reason() {
    let dir = disk_dir();
    let path = dir.path().join("q.redb");
    let _open = open_embedded(&path, 1 << 30);
    let err = hookgate::queue::embedded::EmbeddedStore::open(&path, 1 << 30)
        .err()
        .expect("second open refused");
    assert!(
        err.to_string()
            .contains("is open in another process (a running hookgate?)"),
        "{err}"
    );
}
