//! A minimal keep-alive HTTP/1.1 client, so the bench measures the server, not a client library.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::BenchResult;

pub(crate) fn expect_status(response: &Response, allowed: &[u16], what: &str) -> BenchResult {
    if allowed.contains(&response.status) {
        return Ok(());
    }
    Err(format!(
        "{what}: the server answered {}: {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    )
    .into())
}

/// One keep-alive HTTP/1.1 connection: a request written whole, a response read by its
/// `Content-Length` (every answer of this server has one).
pub(crate) struct Conn {
    pub(crate) addr: SocketAddr,
    pub(crate) stream: BufReader<TcpStream>,
    pub(crate) line: String,
    pub(crate) request: Vec<u8>,
    pub(crate) open: bool,
}

pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Conn {
    pub(crate) async fn connect(addr: SocketAddr) -> BenchResult<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            addr,
            stream: BufReader::new(stream),
            line: String::new(),
            request: Vec::with_capacity(1024),
            open: true,
        })
    }

    pub(crate) async fn json(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: &serde_json::Value,
    ) -> BenchResult<Response> {
        let body = serde_json::to_vec(body)?;
        self.send(method, path, token, key, Some(&body)).await
    }

    pub(crate) async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<&[u8]>,
    ) -> BenchResult<Response> {
        if !self.open {
            *self = Conn::connect(self.addr).await?;
        }
        use std::io::Write;
        let request = &mut self.request;
        request.clear();
        write!(
            request,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n",
            self.addr
        )?;
        if let Some(key) = key {
            write!(request, "Idempotency-Key: {key}\r\n")?;
        }
        if let Some(body) = body {
            write!(
                request,
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )?;
        }
        request.extend_from_slice(b"\r\n");
        if let Some(body) = body {
            request.extend_from_slice(body);
        }
        self.stream.get_mut().write_all(&self.request).await?;
        self.read_response().await
    }

    pub(crate) async fn read_response(&mut self) -> BenchResult<Response> {
        let mut status = None;
        let mut length = None;
        loop {
            self.line.clear();
            if self.stream.read_line(&mut self.line).await? == 0 {
                self.open = false;
                return Err("the server closed the connection before it answered".into());
            }
            let line = self.line.trim_end();
            if status.is_none() {
                let code = line
                    .strip_prefix("HTTP/1.1 ")
                    .and_then(|rest| rest.get(..3))
                    .and_then(|code| code.parse::<u16>().ok())
                    .ok_or_else(|| format!("not an HTTP/1.1 status line: {line:?}"))?;
                status = Some(code);
                continue;
            }
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(format!("not an HTTP header: {line:?}").into());
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>()?);
            } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close")
            {
                self.open = false;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(format!("a response with Transfer-Encoding {value}: this client reads only Content-Length").into());
            }
        }
        let length = length.ok_or("a response without Content-Length")?;
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok(Response {
            status: status.ok_or("a response without a status line")?,
            body,
        })
    }
}
