//! From finished clients to the report: timeline entries (sampled when there are many),
//! where a late request waited, raw instants for the JSON report, and readable durations.

use super::load::{Landed, Outcome, Role};
use crate::kit::report::TimelineEntry;
use crate::kit::report::measurement::{self, SlowMarks};
use std::time::Duration;

/// Most requests of one role drawn in a timeline; the JSON data keeps all slow requests.
pub const MAX_PER_ROLE: usize = 12;

/// A duration for people: `850 ms`, `1.25 s`.
pub fn human(d: Duration) -> String {
    crate::kit::report::duration_text(d)
}

/// `[start, connected, sent, first_byte, end, status]` of one request, in milliseconds.
pub fn raw_marks(landed: &Landed) -> SlowMarks {
    let m = &landed.marks;
    let at = |d: Option<Duration>| d.map(measurement::ms);
    SlowMarks(
        at(m.start),
        at(m.connected),
        at(m.sent),
        at(m.first_byte),
        at(m.end),
        landed.status(),
    )
}

/// Where a late request spent most of its time, as far as a client sees it: the longest of
/// `connecting`, `waiting for the first response byte` (sending included: a request fits in
/// the socket buffers) and `receiving the rest`; with how long, and whether the kit gave up.
pub fn wait_phase(landed: &Landed) -> Option<(Duration, &'static str, bool)> {
    let m = &landed.marks;
    let start = m.start?;
    let last = landed.last_instant()?.max(start);
    let connected = m.connected.unwrap_or(last).clamp(start, last);
    let first_byte = m.first_byte.unwrap_or(last).clamp(connected, last);
    let phases = [
        (connected - start, "connecting"),
        (
            first_byte - connected,
            "waiting for the first response byte",
        ),
        (last - first_byte, "receiving the rest"),
    ];
    let (spent, phase) = phases
        .into_iter()
        .rev()
        .max_by_key(|(spent, _)| *spent)
        .expect("three phases");
    Some((spent, phase, landed.gave_up()))
}

/// [`wait_phase`] in words, e.g. `1.02 s waiting for the first response byte`.
pub fn waited(landed: &Landed) -> Option<String> {
    let (spent, phase, gave_up) = wait_phase(landed)?;
    let gave_up = if gave_up {
        ", then the kit gave up"
    } else {
        ""
    };
    Some(format!("{} {phase}{gave_up}", human(spent)))
}

/// One timeline row; `late` marks a fast request that missed its budget.
pub fn entry(landed: &Landed, late: bool) -> TimelineEntry {
    let m = &landed.marks;
    TimelineEntry {
        label: landed.label.clone(),
        role: landed.role.as_str().to_string(),
        start: m.start,
        connected: m.connected,
        sent: m.sent,
        first_byte: m.first_byte,
        end: match landed.outcome {
            // The kit closed it on purpose: that is where its bar ends.
            Outcome::Closed(at) => Some(at),
            _ => m.end,
        },
        status: landed.status(),
        waited: if late { waited(landed) } else { None },
    }
}

/// The rows of many requests of one role: all of them up to [`MAX_PER_ROLE`], else a sample
/// evenly spread over the start order that always includes the last one to end. Returns the
/// rows and, when sampled, a note saying so.
pub fn sampled(landed: &[Landed], role: Role) -> (Vec<TimelineEntry>, Option<String>) {
    let of_role: Vec<&Landed> = landed.iter().filter(|l| l.role == role).collect();
    let n = of_role.len();
    if n <= MAX_PER_ROLE {
        return (of_role.iter().map(|l| entry(l, false)).collect(), None);
    }
    let mut picked: Vec<usize> = (0..MAX_PER_ROLE - 1)
        .map(|i| i * (n - 1) / (MAX_PER_ROLE - 2))
        .collect();
    let last_to_end = (0..n)
        .max_by_key(|&i| match of_role[i].outcome {
            Outcome::GaveUp(_) => Duration::MAX,
            _ => of_role[i].last_instant().unwrap_or(Duration::MAX),
        })
        .expect("not empty");
    picked.push(last_to_end);
    picked.sort_unstable();
    picked.dedup();
    let rows = picked
        .iter()
        .map(|&i| entry(of_role[i], false))
        .collect::<Vec<_>>();
    let noun = match role {
        Role::Slow | Role::Fast => "requests",
        _ => "connections",
    };
    let note = format!(
        "the timeline shows {} of the {n} {} {noun} (spread over the start order, with the last to end)",
        rows.len(),
        role.as_str()
    );
    (rows, Some(note))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::http::timed_client::Marks;

    fn ms_(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    fn landed(marks: Marks, outcome: Outcome) -> Landed {
        Landed {
            label: "fast 1".into(),
            role: Role::Fast,
            marks,
            outcome,
        }
    }

    #[test]
    fn the_longest_phase_is_where_a_request_waited() {
        let marks = Marks {
            start: ms_(100),
            connected: ms_(101),
            sent: ms_(101),
            first_byte: ms_(1100),
            end: ms_(1101),
        };
        let late = landed(marks.clone(), Outcome::Status(200));
        assert_eq!(
            waited(&late).unwrap(),
            "999 ms waiting for the first response byte"
        );
        let slow_connect = landed(
            Marks {
                connected: ms_(2100),
                ..marks.clone()
            },
            Outcome::Status(200),
        );
        assert!(waited(&slow_connect).unwrap().ends_with("connecting"));
        let never_connected = landed(
            Marks {
                start: ms_(100),
                ..Marks::default()
            },
            Outcome::GaveUp(Duration::from_millis(2100)),
        );
        assert_eq!(
            waited(&never_connected).unwrap(),
            "2.00 s connecting, then the kit gave up"
        );
        let dribbled = landed(
            Marks {
                end: ms_(3000),
                ..marks
            },
            Outcome::Status(200),
        );
        assert!(waited(&dribbled).unwrap().ends_with("receiving the rest"));
    }

    #[test]
    fn many_requests_are_sampled_with_the_last_to_end() {
        let many: Vec<Landed> = (0..100u64)
            .map(|i| Landed {
                label: format!("slow {}", i + 1),
                role: Role::Slow,
                marks: Marks {
                    start: ms_(i),
                    end: ms_(if i == 37 { 9000 } else { 1000 + i }),
                    ..Marks::default()
                },
                outcome: Outcome::Status(200),
            })
            .collect();
        let (rows, note) = sampled(&many, Role::Slow);
        assert!(rows.len() <= MAX_PER_ROLE, "{}", rows.len());
        assert_eq!(rows[0].label, "slow 1");
        assert_eq!(rows.last().unwrap().label, "slow 100");
        assert!(rows.iter().any(|r| r.label == "slow 38"));
        assert!(note.unwrap().contains("of the 100 slow requests"));
        let (all, none) = sampled(&many[..5], Role::Slow);
        assert_eq!((all.len(), none), (5, None));
        assert_eq!(raw_marks(&many[0]).5, Some(200));
    }
}
