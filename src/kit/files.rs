//! The files the kit reads and writes, so that nothing is damaged and nothing hangs.
//!
//! Writing ([`write`]): a regular file, or a new path, is replaced atomically (a temporary
//! file in the same directory, then a rename), after following symlinks to the file they
//! name, so a link stays a link; a new file gets the mode the umask gives, and a replaced
//! one keeps its mode and, where the kit may, its owner. Anything else that exists (a
//! device such as `/dev/null`, a FIFO, a socket, or the file the kit's own stdout or
//! stderr is) is written in place, never replaced: the kit runs as root in CI containers,
//! where a rename over `/dev/null` would break the machine.
//!
//! Reading ([`read_text`]): only regular files, and at most a documented number of bytes,
//! so that a FIFO given by mistake never hangs a run and `/dev/zero` never fills memory.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Most bytes of a fixture, baseline or matrix file the kit reads.
pub const MAX_INPUT_FILE: u64 = 4 * 1024 * 1024;
/// Most symlinks followed from one path (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Writes `bytes` to `path` as the module says; errors name `path`, never a temporary file.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(named(io::Error::other("is a directory"))),
        Ok(meta) if !meta.is_file() || is_own_stream(&meta) => in_place(path, bytes).map_err(named),
        Ok(meta) => {
            let real = fs::canonicalize(path).map_err(named)?;
            replace(&real, bytes, Some(&meta)).map_err(named)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let real = link_target(path).map_err(named)?;
            replace(&real, bytes, None).map_err(named)
        }
        Err(e) => Err(named(e)),
    }
}

/// Whether [`write`] can be expected to succeed, checked before a run so that a bad path
/// loses nothing: a directory that takes a new file, or something that exists and may be
/// written. Opens nothing (a FIFO would block until a reader came).
pub fn check_writable(path: &Path) -> Result<(), String> {
    use nix::unistd::{AccessFlags, access};
    let why = |reason: String| format!("{}: {reason}", path.display());
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(why("is a directory".into())),
        Ok(meta) if !meta.is_file() || is_own_stream(&meta) => {
            access(path, AccessFlags::W_OK).map_err(|e| why(format!("cannot be written: {e}")))
        }
        Ok(_) | Err(_) => {
            let real = match fs::canonicalize(path) {
                Ok(real) => real,
                Err(_) => link_target(path).map_err(|e| why(e.to_string()))?,
            };
            let dir = parent(&real);
            access(dir, AccessFlags::W_OK | AccessFlags::X_OK)
                .map_err(|e| why(format!("cannot create a file in {}: {e}", dir.display())))
        }
    }
}

/// Whether two paths name the same file, after symlinks (existing or not).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let place = |p: &Path| {
        fs::canonicalize(p)
            .or_else(|_| link_target(p).map(|t| absolute(&t)))
            .ok()
    };
    place(a).is_some_and(|a| Some(a) == place(b))
}

fn absolute(path: &Path) -> PathBuf {
    match fs::canonicalize(parent(path)) {
        Ok(dir) => dir.join(path.file_name().unwrap_or_default()),
        Err(_) => path.to_path_buf(),
    }
}

/// Makes `dir` (and its parents) and checks that it takes new files: where fixtures are
/// saved, checked before a run.
pub fn check_directory(dir: &Path) -> Result<(), String> {
    use nix::unistd::{AccessFlags, access};
    fs::create_dir_all(dir)
        .map_err(|e| format!("{}: cannot make the directory: {e}", dir.display()))?;
    access(dir, AccessFlags::W_OK | AccessFlags::X_OK)
        .map_err(|e| format!("{}: cannot create files in it: {e}", dir.display()))
}

/// Reads a text file the user gave: a regular file of at most `limit` bytes, in UTF-8.
pub fn read_text(path: &Path, limit: u64) -> Result<String, String> {
    let meta = fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "cannot read: not a regular file ({}); give a file",
            kind_of(&meta)
        ));
    }
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("larger than {limit} bytes, the most the kit reads"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!("not UTF-8 text (line {line})")
    })
}

/// What a non-regular file is, in words.
fn kind_of(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Whether `meta` is the file the kit's own stdout or stderr writes to (`--output
/// /dev/stdout` with stdout sent to a file): replacing it would hide the kit's own output.
fn is_own_stream(meta: &Metadata) -> bool {
    ["/proc/self/fd/1", "/proc/self/fd/2"].iter().any(|fd| {
        fs::metadata(fd).is_ok_and(|own| own.dev() == meta.dev() && own.ino() == meta.ino())
    })
}

/// Writes over what `path` is, without replacing it.
fn in_place(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).truncate(true).open(path)?;
    file.write_all(bytes)?;
    file.flush()
}

/// The path a (possibly dangling) chain of symlinks ends at; `path` itself when it is none.
fn link_target(path: &Path) -> io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let next = fs::read_link(&at)?;
                at = parent(&at).join(next);
            }
            _ => return Ok(at),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Replaces (or creates) the regular file `path` atomically: a temporary file beside it,
/// with `old`'s mode and owner when it replaces one, then a rename.
fn replace(path: &Path, bytes: &[u8], old: Option<&Metadata>) -> io::Result<()> {
    let dir = parent(path);
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let (temp, mut file) = new_temp(dir, &name)?;
    let written = (|| {
        file.write_all(bytes)?;
        if let Some(old) = old {
            file.set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))?;
            // Only root may give a file away; a user's own file is theirs already.
            let _ = std::os::unix::fs::fchown(&file, Some(old.uid()), Some(old.gid()));
        }
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// A new file `dir/.NAME.unblocked-PID-N`, created with mode 0666 less the umask.
fn new_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    for n in 0..100 {
        let temp = dir.join(format!(".{name}.unblocked-{pid}-{n}"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&temp)
        {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("cannot create a temporary file"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, symlink};

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_regular_file_is_replaced_whole_and_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        fs::write(&path, "old, and longer than the new").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(mode(&path), 0o640);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left");
    }

    #[test]
    fn a_new_file_gets_the_umask_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.xml");
        write(&path, b"x").unwrap();
        // What the umask gives a file created 0666 (e.g. 0644 under umask 022).
        let probe = dir.path().join("probe");
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&probe)
            .unwrap();
        assert_eq!(mode(&path), mode(&probe));
        assert_ne!(mode(&path), 0o600, "not tempfile's private mode");
    }

    #[test]
    fn a_symlink_stays_a_link_and_its_target_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.txt");
        symlink(&target, &link).unwrap();
        write(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        // A dangling link: the file it names is created.
        let dangling = dir.path().join("dangling");
        symlink("made.txt", &dangling).unwrap();
        write(&dangling, b"made").unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("made.txt")).unwrap(),
            "made"
        );
        assert!(
            fs::symlink_metadata(&dangling)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn a_device_or_a_fifo_is_written_in_place_never_replaced() {
        write(Path::new("/dev/null"), b"gone").unwrap();
        assert!(
            fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
        let full = write(Path::new("/dev/full"), b"x").unwrap_err();
        assert!(full.to_string().contains("/dev/full"), "{full}");
        assert!(
            fs::metadata("/dev/full")
                .unwrap()
                .file_type()
                .is_char_device()
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
        };
        write(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), "through the pipe");
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[test]
    fn unwritable_places_are_refused_before_a_run_and_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            check_writable(dir.path())
                .unwrap_err()
                .contains("is a directory")
        );
        let missing = dir.path().join("no/such/dir/report.json");
        let e = check_writable(&missing).unwrap_err();
        assert!(e.contains("no/such/dir"), "{e}");
        assert!(check_writable(&dir.path().join("fine.json")).is_ok());
        assert!(check_writable(Path::new("/dev/null")).is_ok());
    }

    #[test]
    fn inputs_are_regular_files_of_bounded_size() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(read_text(&fifo, 10).unwrap_err().contains("a FIFO"));
        assert!(
            read_text(Path::new("/dev/zero"), 10)
                .unwrap_err()
                .contains("a device")
        );
        let big = dir.path().join("big");
        fs::write(&big, "x".repeat(11)).unwrap();
        assert!(
            read_text(&big, 10)
                .unwrap_err()
                .contains("larger than 10 bytes")
        );
        let latin = dir.path().join("latin");
        fs::write(&latin, b"a\nb\n\xe9").unwrap();
        assert!(read_text(&latin, 10).unwrap_err().contains("line 3"));
        assert_eq!(read_text(&big, 11).unwrap().len(), 11);
    }
}
