//! A tiny machine for driver tests: echoes TCP bytes and datagrams, fires one timer.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use rtsp_core::io::{ConnId, Dest, Input, Machine, Output, Transmit};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EchoEvent {
    Connected(ConnId, SocketAddr),
    Data(ConnId, Vec<u8>),
    Closed(ConnId),
    Datagram(SocketAddr, SocketAddr),
    Timer(Instant),
}

#[derive(Default)]
pub struct Echo {
    /// Sent on every new connection.
    pub greeting: Option<Vec<u8>>,
    pub timer: Option<Instant>,
    pub timers_fired: u32,
    pub bytes_in: usize,
    pub out: VecDeque<Output<EchoEvent>>,
}

impl Echo {
    #[allow(dead_code)]
    pub fn send(&mut self, conn: ConnId, data: Vec<u8>) {
        self.out.push_back(Output::Transmit(Transmit {
            dest: Dest::Stream(conn),
            data,
        }));
    }
}

impl Machine for Echo {
    type Event = EchoEvent;

    fn handle_input(&mut self, input: Input<'_>) {
        match input {
            Input::Timeout(now) => {
                if self.timer.is_some_and(|t| t <= now) {
                    self.timer = None;
                    self.timers_fired += 1;
                    self.out.push_back(Output::Event(EchoEvent::Timer(now)));
                }
            }
            Input::Connected { conn, peer, .. } => {
                if let Some(g) = self.greeting.clone() {
                    self.send(conn, g);
                }
                self.out
                    .push_back(Output::Event(EchoEvent::Connected(conn, peer)));
            }
            Input::Stream { conn, data, .. } => {
                self.bytes_in += data.len();
                if data == b"flood" {
                    for _ in 0..1024 {
                        self.send(conn, vec![0x55; 64 * 1024]);
                    }
                } else {
                    self.send(conn, data.to_vec());
                }
                if data == b"close" {
                    self.out.push_back(Output::Close(conn));
                }
                self.out
                    .push_back(Output::Event(EchoEvent::Data(conn, data.to_vec())));
            }
            Input::StreamClosed { conn, .. } => {
                self.out.push_back(Output::Event(EchoEvent::Closed(conn)));
            }
            Input::Datagram {
                local,
                remote,
                data,
                ..
            } => {
                self.out.push_back(Output::Transmit(Transmit {
                    dest: Dest::Udp { local, remote },
                    data: data.to_vec(),
                }));
                self.out
                    .push_back(Output::Event(EchoEvent::Datagram(local, remote)));
            }
        }
    }

    fn poll_output(&mut self) -> Output<EchoEvent> {
        self.out.pop_front().unwrap_or(Output::Timeout(self.timer))
    }
}
