//! The `grant-ledger serve` process the load runs against: started on a free loopback
//! port, stopped with SIGTERM.

use std::ffi::OsString;
use std::io::{BufRead, BufReader as StdBufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::{BenchResult, BIN};

/// The running `grant-ledger serve`; stopped with SIGTERM (then SIGKILL if it will not
/// stop) when dropped, so an error or a panic here never leaves it behind.
pub(crate) struct Server {
    pub(crate) child: Option<Child>,
    pub(crate) pid: u32,
    pub(crate) addr: SocketAddr,
    pub(crate) log: PathBuf,
    /// Kept open so a late line from the server cannot fail on a closed pipe.
    pub(crate) stdout: StdBufReader<ChildStdout>,
}

impl Server {
    pub(crate) fn start(ledger: &[OsString], log: &Path) -> BenchResult<Server> {
        let mut child = Command::new(BIN)
            .args(ledger)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or("the server's stdout was not piped")?;
        // From here on, any failure still stops the child.
        let mut server = Server {
            pid: child.id(),
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: log.to_path_buf(),
            stdout: StdBufReader::new(stdout),
        };
        let mut line = String::new();
        server.stdout.read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => server.addr = addr,
            None => {
                let status = server.stop()?;
                return Err(format!(
                    "the server did not say where it listens (it printed {:?} and exited {status}): {}",
                    line.trim(),
                    server.log_tail()
                )
                .into());
            }
        }
        Ok(server)
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGTERM, then up to a minute for the graceful stop, then SIGKILL.
    pub(crate) fn stop(&mut self) -> BenchResult<ExitStatus> {
        let mut child = self.child.take().ok_or("the server was already stopped")?;
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        let pid = libc::pid_t::try_from(child.id())?;
        // SAFETY: kill(2) with a pid this process spawned and has not yet reaped.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill()?;
        let status = child.wait()?;
        Err(
            format!("the server did not stop within a minute of SIGTERM and was killed ({status})")
                .into(),
        )
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.is_some() {
            if let Err(e) = self.stop() {
                eprintln!("server_load: stopping the server: {e}");
            }
        }
    }
}
