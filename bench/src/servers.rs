//! Starting and stopping the servers under test.

use crate::procfs;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server: its process (and, for nginx, its workers) and its address.
pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    child: Child,
    /// Where its stderr goes, quoted when it fails.
    log: PathBuf,
}

impl Server {
    /// The server's processes: the one started and its children (nginx's workers).
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.child.id()];
        pids.extend(procfs::children(self.child.id()));
        pids
    }

    /// Fails if the server has exited, quoting the end of its stderr.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "{} exited ({status}): {}",
                self.name,
                tail(&self.log)
            )),
            Err(e) => Err(format!("{}: {e}", self.name)),
        }
    }

    /// A server that prints `listening on http://ADDR` first on stdout (hello-server and
    /// the tokio peer).
    pub fn start_listening(
        name: &str,
        program: &Path,
        args: &[String],
        work: &Path,
    ) -> Result<Server, String> {
        let log = work.join(format!("{}.log", name.replace(' ', "-")));
        let stderr = fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut command = Command::new(program);
        command
            .args(args)
            // The servers are sized by their flags (`--threads`), not by the caller's shell.
            .env_remove("ASYNC_STD_THREAD_COUNT")
            .env_remove("TOKIO_WORKER_THREADS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = spawn(&mut command, name)?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let _ = line_tx.send(first);
            // Keep reading so that the server never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut server = Server {
            name: name.to_string(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            child,
            log,
        };
        let first = line_rx
            .recv_timeout(START_TIMEOUT)
            .map_err(|_| format!("{name} printed no address in {START_TIMEOUT:?}"))?;
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => server.addr = addr,
            None => {
                server.check_alive()?;
                return Err(format!(
                    "{name}: expected `listening on http://ADDR`, got {first:?}"
                ));
            }
        }
        Ok(server)
    }

    /// nginx serving the hello page as a static file with keep-alive off, configured in
    /// `work/nginx`.
    pub fn start_nginx(
        nginx: &Path,
        page: &[u8],
        header_timeout: Duration,
        workers: usize,
        work: &Path,
    ) -> Result<Server, String> {
        let dir = work.join("nginx");
        let io = |e: std::io::Error| format!("nginx setup in {}: {e}", dir.display());
        fs::create_dir_all(dir.join("www")).map_err(io)?;
        fs::create_dir_all(dir.join("tmp")).map_err(io)?;
        // Workers run as an unprivileged user: the page must be readable by everyone.
        for path in [work, &dir, &dir.join("www")] {
            fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(io)?;
        }
        fs::write(dir.join("www/index.html"), page).map_err(io)?;
        let port = free_port().map_err(io)?;
        let config = nginx_config(&dir, port, header_timeout, workers);
        fs::write(dir.join("nginx.conf"), config).map_err(io)?;
        let log = dir.join("stderr.log");
        let stderr = fs::File::create(&log).map_err(io)?;
        let mut command = Command::new(nginx);
        command
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let child = spawn(&mut command, "nginx")?;
        let mut server = Server {
            name: "nginx".into(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            log,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            server
                .check_alive()
                .map_err(|e| format!("{e} {}", tail(&dir.join("error.log"))))?;
            if TcpStream::connect(server.addr).is_ok() && server.pids().len() > 1 {
                return Ok(server);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "nginx did not start: {}",
                    tail(&dir.join("error.log"))
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    /// SIGTERM (nginx stops its workers), then SIGKILL after 5 s.
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our own child, which has not been reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(command: &mut Command, name: &str) -> Result<Child, String> {
    // SAFETY: prctl is async-signal-safe; the server gets SIGTERM if the benchmark dies.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    command
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))
}

/// A port nobody listens on right now.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `workers` 0 is nginx's `auto`, one per CPU core.
fn nginx_config(dir: &Path, port: u16, header_timeout: Duration, workers: usize) -> String {
    let dir = dir.display();
    let workers = match workers {
        0 => "auto".to_string(),
        n => n.to_string(),
    };
    let header_timeout = header_timeout.as_millis();
    format!(
        r#"# Generated by unblocked-bench: the hello page as a static file, keep-alive off.
daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile 20000;
pid {dir}/nginx.pid;
error_log {dir}/error.log error;
events {{
    worker_connections 16384;
}}
http {{
    access_log off;
    server_tokens off;
    keepalive_timeout 0;
    client_header_timeout {header_timeout}ms;
    open_file_cache max=16 inactive=60s;
    open_file_cache_valid 60s;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    types {{ text/html html; }}
    charset utf-8;
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        root {dir}/www;
        index index.html;
    }}
}}
"#
    )
}

/// The last lines of a log file, on one line.
fn tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}
