//! The kit's own open-file limit: every concurrent connection costs the kit one file
//! descriptor, so before opening K of them the kit raises its soft limit to the hard one,
//! and lowers K (with a note for the report) when K still does not fit.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Descriptors kept free for everything else the kit and its process hold (pipes of the
/// server under test, the other tests' sockets when run from `cargo test`, files).
pub const FD_MARGIN: u64 = 128;

/// Raises the soft open-file limit to the hard one (where the system allows), and returns
/// the soft limit now in force; `None` when it cannot be read.
pub fn raise_open_file_limit() -> Option<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_err() {
        // macOS refuses soft limits above OPEN_MAX even when the hard limit is unlimited.
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard.min(10_240), hard);
    }
    getrlimit(Resource::RLIMIT_NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

/// How many descriptors the process has open now (an estimate of 32 where this cannot be
/// counted).
fn open_now() -> u64 {
    ["/proc/self/fd", "/dev/fd"]
        .iter()
        .find_map(|dir| std::fs::read_dir(dir).ok())
        .map_or(32, |entries| entries.count() as u64)
}

/// How many units of `per_unit` connections fit next to `extra` other connections:
/// `wanted` if they all fit, or fewer (at least 1) with a note saying why.
pub fn fit(wanted: usize, per_unit: usize, extra: usize, what: &str) -> (usize, Option<String>) {
    let Some(limit) = raise_open_file_limit() else {
        return (wanted, None);
    };
    let used = open_now() + FD_MARGIN + extra as u64;
    let room = limit.saturating_sub(used) / per_unit.max(1) as u64;
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    if wanted <= room {
        (wanted, None)
    } else {
        let lowered = room.max(1);
        (
            lowered,
            Some(format!(
                "{what} lowered from {wanted} to {lowered}: the kit's open-file limit is {limit} \
                 (raised to the hard limit) and it needs {per_unit} descriptor(s) per unit plus \
                 {used} for everything else"
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let limit = raise_open_file_limit().expect("readable limit");
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(limit, soft);
        assert!(soft == hard || soft >= 10_240, "soft {soft}, hard {hard}");
    }

    #[test]
    fn what_does_not_fit_is_lowered_with_a_note() {
        assert_eq!(fit(4, 1, 0, "K"), (4, None));
        let (k, note) = fit(usize::MAX / 2, 3, 0, "K");
        assert!((1..usize::MAX / 2).contains(&k));
        let note = note.expect("a note");
        assert!(
            note.contains("lowered from") && note.contains("open-file limit"),
            "{note}"
        );
    }
}
