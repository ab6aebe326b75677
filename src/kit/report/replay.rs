//! How a report says to reproduce what a check sent: a shell line anyone can run when the
//! bytes went at once to a server that stays up, `unblocked replay` otherwise (pieces with
//! their pause, requests sent after answers, or a server the kit started, which the replay
//! starts again, since the port it had is gone with it).

use crate::kit::http::escape::{escape, replay_command};
use crate::kit::http::raw::Delivery;
use crate::kit::report::TargetInfo;
use std::net::SocketAddr;

/// The command that reproduces `delivery` against `target` (reached at `addr`).
pub fn command(target: &TargetInfo, addr: SocketAddr, delivery: &Delivery) -> String {
    let at_once =
        delivery.later.is_empty() && (delivery.pieces.len() <= 1 || delivery.pause.is_zero());
    match target {
        TargetInfo::Addr(_) if at_once => replay_command(
            &delivery.all_bytes(),
            &addr.ip().to_string(),
            addr.port(),
            delivery.half_close,
        ),
        _ => kit_command(target, delivery),
    }
}

/// `unblocked replay --server 'CMD' [--pause 10ms] [--half-close] [--later 'BYTES']...
/// -- 'PIECE'...`, or with `--addr`; the bytes in the kit's escape syntax.
pub fn kit_command(target: &TargetInfo, delivery: &Delivery) -> String {
    let quote = |text: &str| shell_words::quote(text).into_owned();
    let mut words = vec!["unblocked replay".to_string()];
    match target {
        TargetInfo::Command(command) => words.push(format!("--server {}", quote(command))),
        TargetInfo::Addr(addr) => words.push(format!("--addr {addr}")),
    }
    if delivery.pieces.len() > 1 && !delivery.pause.is_zero() {
        words.push(format!("--pause {}ms", delivery.pause.as_millis()));
    }
    if delivery.half_close {
        words.push("--half-close".into());
    }
    for later in &delivery.later {
        words.push(format!("--later {}", quote(&escape(&later.bytes))));
    }
    words.push("--".into());
    for piece in &delivery.pieces {
        words.push(quote(&escape(piece)));
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::http::raw::Later;
    use std::time::Duration;

    fn addr() -> SocketAddr {
        "127.0.0.1:7878".parse().unwrap()
    }

    #[test]
    fn bytes_sent_at_once_to_a_running_server_replay_with_printf_and_nc() {
        let delivery = Delivery::whole("GET / HTTP/1.1\r\n\r\n");
        let target = TargetInfo::Addr("127.0.0.1:7878".into());
        assert_eq!(
            command(&target, addr(), &delivery),
            "printf '%b' 'GET / HTTP/1.1\\r\\n\\r\\n' | nc -w 5 127.0.0.1 7878"
        );
    }

    #[test]
    fn a_started_server_is_started_again_by_the_replay() {
        let delivery = Delivery::whole("GET / HTTP/1.1\r\n\r\n");
        let target = TargetInfo::Command("my-server --port {port}".into());
        assert_eq!(
            command(&target, addr(), &delivery),
            "unblocked replay --server 'my-server --port {port}' -- 'GET / HTTP/1.1\\r\\n\\r\\n'"
        );
    }

    #[test]
    fn pieces_pauses_and_later_requests_are_replayed_as_sent() {
        let delivery = Delivery {
            pieces: vec![b"GET / HT".to_vec(), b"TP/1.1\r\n\r\n".to_vec()],
            pause: Duration::from_millis(250),
            half_close: true,
            later: vec![Later {
                after_responses: 1,
                bytes: b"GET /x HTTP/1.1\r\n\r\n".to_vec(),
            }],
        };
        let target = TargetInfo::Addr("127.0.0.1:7878".into());
        assert_eq!(
            command(&target, addr(), &delivery),
            "unblocked replay --addr 127.0.0.1:7878 --pause 250ms --half-close \
             --later 'GET /x HTTP/1.1\\r\\n\\r\\n' -- 'GET / HT' 'TP/1.1\\r\\n\\r\\n'"
        );
    }
}
