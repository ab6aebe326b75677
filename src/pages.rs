//! The two pages of the book's server: the only thing the reference server and the kit share.
//!
//! The bundled copies are embedded at compile time so that both binaries run from any
//! directory; `--pages DIR` replaces them with `DIR/hello.html` and `DIR/404.html`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The hello page answered to `GET /` and `GET /sleep`.
pub const BUNDLED_HELLO: &str = include_str!("../fixtures/hello.html");
/// The page answered, with a 404 status, to every other well-formed request.
pub const BUNDLED_NOT_FOUND: &str = include_str!("../fixtures/404.html");

/// File names looked up in a `--pages` directory.
pub const HELLO_FILE: &str = "hello.html";
pub const NOT_FOUND_FILE: &str = "404.html";

/// The hello and 404 pages, as bytes (a page need not be UTF-8 to be served or compared).
#[derive(Clone, PartialEq, Eq)]
pub struct Pages {
    pub hello: Arc<[u8]>,
    pub not_found: Arc<[u8]>,
}

impl fmt::Debug for Pages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pages")
            .field("hello_len", &self.hello.len())
            .field("not_found_len", &self.not_found.len())
            .finish()
    }
}

impl Default for Pages {
    fn default() -> Self {
        Self::bundled()
    }
}

impl Pages {
    /// The pages embedded in the binary.
    pub fn bundled() -> Self {
        Pages {
            hello: Arc::from(BUNDLED_HELLO.as_bytes()),
            not_found: Arc::from(BUNDLED_NOT_FOUND.as_bytes()),
        }
    }

    /// The length of the larger page.
    pub fn largest(&self) -> usize {
        self.hello.len().max(self.not_found.len())
    }

    /// Reads `dir/hello.html` and `dir/404.html`, once: regular files of at most
    /// [`MAX_PAGE`] bytes (a FIFO or `/dev/zero` given by mistake is refused).
    pub fn from_dir(dir: &Path) -> Result<Self, PagesError> {
        let read = |name: &str| {
            let path = dir.join(name);
            read_page(&path)
                .map(Arc::from)
                .map_err(|source| PagesError { path, source })
        };
        Ok(Pages {
            hello: read(HELLO_FILE)?,
            not_found: read(NOT_FOUND_FILE)?,
        })
    }
}

/// The largest page file read.
pub const MAX_PAGE: u64 = 64 * 1024 * 1024;

fn read_page(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_PAGE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_PAGE {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_PAGE} bytes"
        )));
    }
    Ok(bytes)
}

/// A page file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read page {}: {source}", path.display())]
pub struct PagesError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_pages_differ_and_are_html() {
        let pages = Pages::bundled();
        assert_ne!(pages.hello, pages.not_found);
        for page in [&pages.hello, &pages.not_found] {
            assert!(page.starts_with(b"<!DOCTYPE html>"));
        }
    }

    #[test]
    fn missing_page_names_the_file() {
        let dir = std::env::temp_dir().join("unblocked-no-such-pages-dir");
        let err = Pages::from_dir(&dir).unwrap_err();
        assert!(err.to_string().contains("hello.html"), "{err}");
    }
}
