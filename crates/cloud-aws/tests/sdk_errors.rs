//! The real SDK client against a scripted loopback server: every kind of SDK failure (AWS error
//! responses by code and status, an HTML 500 page, a refused connection) arrives as an `ApiError`
//! of the right class. No AWS and no moto needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use swell_cloud_aws::api::AsgApi;
use swell_cloud_aws::sdk::{ClientSettings, SdkAsgApi, StaticCredentials};
use swell_node_autoscaler::provider::ErrorClass;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves one canned response per connection, `count` times, and returns the endpoint URL.
async fn serve(status: &'static str, content_type: &'static str, body: String, count: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        for _ in 0..count {
            let (mut socket, _) = listener.accept().await.unwrap();
            // Read the request: headers, then Content-Length bytes of body.
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = socket.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
            socket.shutdown().await.ok();
        }
    });
    url
}

fn aws_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    )
}

async fn client(endpoint: &str) -> SdkAsgApi {
    SdkAsgApi::connect(&ClientSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.into()),
        static_credentials: Some(StaticCredentials {
            access_key_id: "a".into(),
            secret_access_key: "b".into(),
        }),
        disable_retries: true,
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn aws_error_responses_are_classified_by_code_and_status() {
    for (status, code, message, want) in [
        (
            "400 Bad Request",
            "Throttling",
            "Rate exceeded",
            ErrorClass::Throttled,
        ),
        (
            "400 Bad Request",
            "ValidationError",
            "AutoScalingGroup name not found - AutoScalingGroup 'g' not found",
            ErrorClass::NotFound,
        ),
        (
            "400 Bad Request",
            "ValidationError",
            "New SetDesiredCapacity value 11 is above max value 10",
            ErrorClass::Fatal,
        ),
        (
            "500 Internal Server Error",
            "ResourceContentionFault",
            "busy",
            ErrorClass::Transient,
        ),
        (
            "403 Forbidden",
            "AccessDenied",
            "not authorized",
            ErrorClass::Fatal,
        ),
        (
            "500 Internal Server Error",
            "InsufficientInstanceCapacity",
            "no capacity",
            ErrorClass::InsufficientCapacity,
        ),
    ] {
        let url = serve(status, "text/xml", aws_error(code, message), 1).await;
        let err = client(&url).await.set_desired_capacity("g", 1).await.unwrap_err();
        assert_eq!(err.class, want, "{code}: {err}");
        assert_eq!(err.code.as_deref(), Some(code));
        assert_eq!(err.message, message);
    }
}

#[tokio::test]
async fn an_html_error_page_is_transient() {
    // What moto answers for some unknown names (a Python traceback page), or a proxy in the way.
    let url = serve(
        "500 Internal Server Error",
        "text/html",
        "<!doctype html><title>500</title>".into(),
        1,
    )
    .await;
    let err = client(&url)
        .await
        .terminate_instance("i-1", true)
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient, "{err}");
    assert_eq!(err.code, None);
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    // Bind then drop: nothing listens on the port any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = client(&format!("http://127.0.0.1:{port}"))
        .await
        .describe_scaling_activities("g")
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient, "{err}");
}
