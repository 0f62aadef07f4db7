//! Delivers leak incidents to `[incidents] webhook`: an HTTP/1.1 POST of the incident's JSON to
//! an `http://HOST:PORT/PATH` URL, in the background, with a timeout, never blocking the RIB.
//! Plain HTTP only (a relay on the same host can add TLS): one request, no redirects, no
//! retries beyond the log line that says it failed.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{0:?} is not an http://HOST[:PORT][/PATH] URL")]
    Url(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("the webhook answered {0:?}")]
    Status(String),
}

/// `(host:port, path)` of an `http://` URL.
fn split_url(url: &str) -> Result<(String, String), WebhookError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| WebhookError::Url(url.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains(['@', ' ']) {
        return Err(WebhookError::Url(url.to_string()));
    }
    let host_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((host_port, path.to_string()))
}

/// POSTs `body` (JSON) to `url`; `Ok` on a 2xx answer.
pub async fn post(url: &str, body: &str) -> Result<(), WebhookError> {
    let (host_port, path) = split_url(url)?;
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port.as_str(), |(h, _)| h);
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bgpsieve/{}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    let exchange = async {
        let mut s = TcpStream::connect(&host_port).await?;
        s.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        s.take(4096).read_to_end(&mut answer).await?;
        Ok::<_, WebhookError>(answer)
    };
    let answer = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| WebhookError::Timeout(TIMEOUT))??;
    let status = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code.starts_with('2') && code.len() == 3 {
        Ok(())
    } else {
        Err(WebhookError::Status(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn urls_split_into_address_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/hooks/bgp").unwrap(),
            ("127.0.0.1:8080".into(), "/hooks/bgp".into())
        );
        assert_eq!(
            split_url("http://noc.example").unwrap(),
            ("noc.example:80".into(), "/".into())
        );
        assert!(split_url("https://noc.example/").is_err());
        assert!(split_url("http:///x").is_err());
    }

    #[tokio::test]
    async fn an_incident_is_posted_as_json() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/incident", l.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !String::from_utf8_lossy(&got).contains("}") {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(got).unwrap()
        });
        post(&url, r#"{"id":1}"#).await.unwrap();
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /incident HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(request.contains("Content-Type: application/json\r\n"));
        assert!(request.ends_with("\r\n\r\n{\"id\":1}"), "{request}");
    }

    #[tokio::test]
    async fn an_error_status_is_an_error() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"HTTP/1.1 500 Oops\r\n\r\n").await;
        });
        assert!(matches!(
            post(&url, "{}").await,
            Err(WebhookError::Status(_))
        ));
    }
}
