//! Tries `TimedClient` against a tiny in-process server: one slow request
//! (`/sleep`, answered after 200 ms) and three fast ones fired while it is in
//! flight, plus one response without Content-Length. Prints every request's
//! marks and checks that the fast ones were not held up by the slow one.

#[path = "../src/kit/timed_client.rs"]
mod timed_client;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use async_std::net::TcpListener;
use async_std::task;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};

use timed_client::{Marks, Probe, TimedClient};

const SLOW_DELAY: Duration = Duration::from_millis(200);

/// Answers each connection once, after reading the request head.
async fn serve(listener: TcpListener) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        task::spawn(async move {
            let mut head = Vec::new();
            let mut chunk = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head);
            let response: &[u8] = match head.split(' ').nth(1) {
                Some("/sleep") => {
                    task::sleep(SLOW_DELAY).await;
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
                }
                Some("/nolength") => b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nno length",
                _ => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            };
            let _ = stream.write_all(response).await;
            let _ = stream.close().await;
        });
    }
}

struct Outcome {
    label: String,
    result: Result<String, String>,
    marks: Marks,
}

async fn fetch(client: surf::Client, origin: Instant, label: String, url: String) -> Outcome {
    let probe = Probe::new();
    let mut req = surf::get(url).build();
    req.set_ext(probe.clone());
    let result = match async_std::future::timeout(Duration::from_secs(5), client.send(req)).await {
        Err(_) => Err("timed out".to_owned()),
        Ok(Err(error)) => Err(error.to_string()),
        Ok(Ok(mut res)) => match res.body_bytes().await {
            Ok(body) => Ok(format!(
                "{} {:?}",
                res.status(),
                String::from_utf8_lossy(&body)
            )),
            Err(error) => Err(error.to_string()),
        },
    };
    probe.mark_end(origin);
    Outcome {
        label,
        result,
        marks: probe.marks(),
    }
}

fn ms(mark: Option<Duration>) -> String {
    mark.map_or_else(
        || "-".to_owned(),
        |at| format!("{:.1}", at.as_secs_f64() * 1e3),
    )
}

#[async_std::main]
async fn main() -> ExitCode {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("local addr");
    task::spawn(serve(listener));

    let origin = Instant::now();
    let timed = TimedClient::new(origin).with_connect_timeout(Duration::from_secs(2));
    println!(
        "server on {addr}; origin shared: {}; connect timeout {:?}",
        timed.origin() == origin,
        timed.connect_timeout()
    );
    let client = timed.surf_client();

    let slow = task::spawn(fetch(
        client.clone(),
        origin,
        "slow".to_owned(),
        format!("http://{addr}/sleep"),
    ));
    task::sleep(Duration::from_millis(20)).await;
    let fast: Vec<_> = (1..=3)
        .map(|i| {
            task::spawn(fetch(
                client.clone(),
                origin,
                format!("fast{i}"),
                format!("http://{addr}/fast"),
            ))
        })
        .collect();
    let mut outcomes = vec![slow.await];
    for handle in fast {
        outcomes.push(handle.await);
    }
    outcomes.push(
        fetch(
            client,
            origin,
            "nolength".to_owned(),
            format!("http://{addr}/nolength"),
        )
        .await,
    );

    println!(
        "{:<9} {:>8} {:>10} {:>8} {:>11} {:>8}  result",
        "request", "start", "connected", "sent", "first_byte", "end"
    );
    for o in &outcomes {
        let m = &o.marks;
        println!(
            "{:<9} {:>8} {:>10} {:>8} {:>11} {:>8}  {:?}",
            o.label,
            ms(m.start),
            ms(m.connected),
            ms(m.sent),
            ms(m.first_byte),
            ms(m.end),
            o.result
        );
    }
    println!(
        "as JSON: {}",
        serde_json::to_string(&outcomes[1].marks).expect("json")
    );

    let mut ok = true;
    let mut check = |what: String, passed: bool| {
        println!("{} {what}", if passed { "ok  " } else { "FAIL" });
        ok &= passed;
    };
    let slow_marks = &outcomes[0].marks;
    for o in &outcomes {
        let m = &o.marks;
        check(
            format!("{}: succeeded", o.label),
            o.result.as_ref().is_ok_and(|r| r.contains("200")),
        );
        check(
            format!("{}: all marks present", o.label),
            m.in_order().iter().all(Option::is_some),
        );
        check(
            format!(
                "{}: start <= connected <= sent <= first_byte <= end",
                o.label
            ),
            m.is_ordered(),
        );
    }
    for o in &outcomes[1..4] {
        let (m, s) = (&o.marks, slow_marks);
        check(
            format!(
                "{}: finished before the slow response's first byte",
                o.label
            ),
            matches!((m.end, s.first_byte), (Some(end), Some(slow)) if end < slow),
        );
        check(
            format!("{}: took less than half the slow delay", o.label),
            matches!((m.start, m.end), (Some(a), Some(b)) if b - a < SLOW_DELAY / 2),
        );
    }
    check(
        "nolength: body read up to EOF".to_owned(),
        outcomes[4]
            .result
            .as_ref()
            .is_ok_and(|r| r.contains("no length")),
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
