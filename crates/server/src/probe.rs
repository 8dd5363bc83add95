//! `eclean-realtime probe`: asks a running server whether it is ready (`GET /readyz`) and exits 0
//! or 1 — the container health check, in images that have no shell, curl or wget.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// What went wrong with a probe.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Not an `http://host:port/path` URL.
    #[error("probe URL must look like http://host:port/path, got {0:?}")]
    BadUrl(String),
    /// Nothing answered.
    #[error("cannot reach {url}: {source}")]
    Unreachable {
        /// The URL.
        url: String,
        /// Cause.
        source: std::io::Error,
    },
    /// It answered, but not 200.
    #[error("{url} answered {status}")]
    NotReady {
        /// The URL.
        url: String,
        /// The status line.
        status: String,
    },
}

/// `GET url` with a short timeout; Ok when the answer is 200.
pub fn probe(url: &str, timeout: Duration) -> Result<(), ProbeError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| ProbeError::BadUrl(url.to_owned()))?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let unreachable = |source| ProbeError::Unreachable {
        url: url.to_owned(),
        source,
    };
    let address = authority
        .to_socket_addrs()
        .map_err(unreachable)?
        .next()
        .ok_or_else(|| ProbeError::BadUrl(url.to_owned()))?;
    let mut stream = TcpStream::connect_timeout(&address, timeout).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(unreachable)?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(unreachable)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: eclean-probe\r\n\r\n"
    )
    .map_err(unreachable)?;
    let mut head = [0u8; 64];
    let read = stream.read(&mut head).map_err(unreachable)?;
    let status = String::from_utf8_lossy(&head[..read])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(ProbeError::NotReady {
            url: url.to_owned(),
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_plain_http_url() {
        assert!(matches!(
            probe("https://x/readyz", Duration::from_millis(100)),
            Err(ProbeError::BadUrl(_))
        ));
        assert!(matches!(
            probe("localhost:1/readyz", Duration::from_millis(100)),
            Err(ProbeError::BadUrl(_))
        ));
    }

    #[test]
    fn nothing_listening_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let result = probe(
            &format!("http://127.0.0.1:{port}/readyz"),
            Duration::from_millis(300),
        );
        assert!(
            matches!(result, Err(ProbeError::Unreachable { .. })),
            "{result:?}"
        );
    }
}
