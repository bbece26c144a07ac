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

/// The next line the crash child printed: None at the end, Some(None) for a
/// line that is not a whole `ack` line. A line longer than stdout's buffer
/// goes out in more than one write, so the kill can cut the last one.
fn next_ack(out: &mut impl BufRead) -> Option<Option<(String, String)>> {
    let mut line = String::new();
    if out.read_line(&mut line).unwrap() == 0 {
        return None;
    }
    Some(
        line.strip_suffix('\n')
            .and_then(|l| l.strip_prefix("ack "))
            .and_then(|l| l.split_once(' '))
            .map(|(id, body)| (id.to_string(), body.to_string())),
    )
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
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut acked: HashMap<String, String> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.len() < 500 {
        assert!(
            Instant::now() < deadline,
            "the child acknowledged only {}",
            acked.len()
        );
        match next_ack(&mut out) {
            Some(Some((id, body))) => acked.insert(id, body),
            Some(None) => None,
            None => panic!("child exited early"),
        };
    }
    // kill -9 in the middle of its enqueues, then collect what it printed
    // before dying.
    child.kill().unwrap();
    child.wait().unwrap();
    while let Some(ack) = next_ack(&mut out) {
        acked.extend(ack);
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
