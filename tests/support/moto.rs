//! A moto server (AWS API stand-in from PyPI) on a free loopback port, stopped on drop. The
//! executable comes from `RSQLFLOW_TEST_MOTO` (set by `.ci/run` to the one in its venv).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts moto if `RSQLFLOW_TEST_MOTO` names its executable; `None` when it is unset or empty.
    pub fn start() -> Option<Moto> {
        let exe = std::env::var("RSQLFLOW_TEST_MOTO")
            .ok()
            .filter(|v| !v.is_empty())?;
        // Port 0: moto binds a port the system picks and names it ("Running on
        // http://127.0.0.1:PORT"). Picking a free port here and passing it raced with the
        // other tests doing the same: two servers chose one port, one failed to bind, and its
        // test talked to the other's server until that one stopped.
        let mut child = Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {exe}: {e}"));
        let stderr = child.stderr.take().expect("moto's stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(port) =
                    line.split("Running on http://127.0.0.1:")
                        .nth(1)
                        .and_then(|rest| {
                            let digits: String =
                                rest.chars().take_while(char::is_ascii_digit).collect();
                            digits.parse::<u16>().ok()
                        })
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(port);
                }
                // Keep reading so that moto never blocks on a full pipe.
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("moto ({exe}) did not say which port it serves"));
        let m = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(m)
    }

    /// Starts moto, failing the test with what to install and set when `RSQLFLOW_TEST_MOTO` is
    /// unset: for the `#[ignore]`d tests, run with `--include-ignored`.
    pub fn require() -> Moto {
        Moto::start().unwrap_or_else(|| {
            panic!(
                "this test needs moto: set RSQLFLOW_TEST_MOTO to a moto_server executable \
                 (python3 -m venv v && v/bin/pip install 'moto[server]'; \
                 RSQLFLOW_TEST_MOTO=v/bin/moto_server); .ci/run does this"
            )
        })
    }

    /// The endpoint URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends one plain HTTP request and returns the status code.
    pub fn request(&self, method: &str, path: &str) -> u16 {
        self.send(method, path, &[], "").0
    }

    /// Sends one HTTP POST with extra headers; returns the status code and the body.
    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        self.send("POST", path, headers, body)
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).expect("write request");
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        let status = resp
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = resp
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// Creates an IAM role through moto's IAM query API (no IAM SDK client in this project)
    /// and returns its ARN.
    pub fn create_role(&self, name: &str, service: &str) -> String {
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        let enc: String = policy
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let body = format!(
            "Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument={enc}"
        );
        let (status, resp) = self.post(
            "/",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=testing/20261124/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
                ),
            ],
            &body,
        );
        assert_eq!(status, 200, "CreateRole in moto: {resp}");
        let arn = resp
            .split("<Arn>")
            .nth(1)
            .and_then(|r| r.split("</Arn>").next())
            .unwrap_or_else(|| panic!("no role ARN in {resp}"));
        arn.to_string()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
