//! The baseline of `benches/agent.rs`: the least a process can do to read a secret from the
//! agent. Standard library only, built by the benchmark with `rustc -O`: connect to
//! `SY_AGENT_SOCKET`, send `POST /v1/read` with the body given as the only argument, read the
//! whole answer and print its body. No argument parsing, no JSON, no error handling beyond
//! aborting.

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;

fn main() {
    let socket = std::env::var_os("SY_AGENT_SOCKET").expect("SY_AGENT_SOCKET");
    let body = std::env::args().nth(1).expect("a request body");
    let mut stream = UnixStream::connect(socket).expect("connect");
    let request = format!(
        "POST /v1/read HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("receive");
    let start = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    std::io::stdout().write_all(&answer[start..]).expect("print");
}
