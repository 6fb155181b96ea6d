//! A mail server on loopback that accepts every message and keeps it (alert tests).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct MailSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<String>>>,
}

impl MailSink {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let sink = Self { port, messages: Arc::default() };
        let messages = Arc::clone(&sink.messages);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let messages = Arc::clone(&messages);
                std::thread::spawn(move || {
                    let mut writer = stream.try_clone().expect("clone");
                    let mut reader = BufReader::new(stream);
                    let _ = writer.write_all(b"220 sink ESMTP\r\n");
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let command = line.trim_end().to_ascii_uppercase();
                        if command.starts_with("EHLO") {
                            let _ = writer.write_all(b"250-sink\r\n250 8BITMIME\r\n");
                        } else if command.starts_with("DATA") {
                            let _ = writer.write_all(b"354 go ahead\r\n");
                            let mut message = String::new();
                            loop {
                                line.clear();
                                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == ".\r\n" {
                                    break;
                                }
                                message.push_str(&line);
                            }
                            messages.lock().expect("lock").push(message);
                            let _ = writer.write_all(b"250 queued\r\n");
                        } else if command.starts_with("QUIT") {
                            let _ = writer.write_all(b"221 bye\r\n");
                            return;
                        } else {
                            let _ = writer.write_all(b"250 ok\r\n");
                        }
                    }
                });
            }
        });
        sink
    }

    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().expect("lock").clone()
    }
}
