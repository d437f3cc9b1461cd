//! One session's life: its sockets, its client machine (driven with
//! `rtsp_core::io::drain`), its events, and what its sockets read.

use super::*;

impl Load {
    /// Session `i`'s source address (see `--sources`).
    pub(super) fn source(&self, i: usize) -> IpAddr {
        self.sources[i % self.sources.len()]
    }

    /// Binds and registers session `i`'s RTP/RTCP socket pair.
    pub(super) fn open_udp(&mut self, i: usize) -> Result<(), String> {
        let source = self.source(i);
        let (rtp, rtcp) = bind_pair(source).map_err(|e| format!("bind udp {source}: {e}"))?;
        if self.args.rcvbuf > 0 {
            let _ = sys::set_rcvbuf(rtp.as_raw_fd(), self.args.rcvbuf);
        }
        if self.args.gro {
            sys::enable_gro(rtp.as_raw_fd()).map_err(|e| format!("UDP_GRO: {e}"))?;
        }
        // Without stamps, arrival is when the datagram is read (see `rtp_readable`).
        let _ = sys::enable_timestamps(rtp.as_raw_fd());
        let (a, b) = (rtp.local_addr().ok(), rtcp.local_addr().ok());
        let mut rtp = UdpSocket::from_std(rtp);
        let mut rtcp = UdpSocket::from_std(rtcp);
        let reg = self.poll.registry();
        reg.register(&mut rtp, token(i, KIND_RTP), Interest::READABLE)
            .and_then(|()| reg.register(&mut rtcp, token(i, KIND_RTCP), Interest::READABLE))
            .map_err(|e| format!("register udp: {e}"))?;
        let s = &mut self.sessions[i];
        s.rtp = Some(rtp);
        s.rtcp = Some(rtcp);
        s.rtp_local = a;
        s.rtcp_local = b;
        Ok(())
    }

    pub(super) fn start(&mut self, i: usize, now: Instant) {
        let mut cfg = ClientConfig::new(self.args.url.clone());
        // A load tool: distinct (not secret) SSRCs per session are enough.
        cfg.seed = Some(rtsp_core::rng::RngSeed::from_u64(
            0x5eed_0000_0000_0000 ^ i as u64,
        ));
        cfg.user_agent = "rtsp-load".into();
        let mut client = match Client::new(cfg, now) {
            Ok(c) => c,
            Err(e) => return self.fail(i, format!("client: {e}")),
        };
        let source = (self.sources.len() > 1).then(|| self.source(i));
        let s = &mut self.sessions[i];
        // Setup time counts from the connect: not from the loop iteration that started a
        // batch, nor the UDP sockets (bound before the run starts).
        s.started = Some(Instant::now());
        s.marks[0] = s.started;
        s.phase = Phase::Connecting;
        let _ = client.describe();
        s.client = Some(client);
        match connect_from(source, self.server) {
            Ok(mut tcp) => {
                if let Err(e) = self.poll.registry().register(
                    &mut tcp,
                    token(i, KIND_TCP),
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    return self.fail(i, format!("register tcp: {e}"));
                }
                let _ = tcp.set_nodelay(true);
                s.tcp = Some(tcp);
            }
            Err(e) => return self.fail(i, format!("connect: {e}")),
        }
        self.drain(i);
    }

    pub(super) fn fail(&mut self, i: usize, why: String) {
        let s = &mut self.sessions[i];
        if matches!(s.phase, Phase::Failed | Phase::Done) {
            return;
        }
        if s.phase == Phase::TearingDown {
            // Errors while tearing down at the end do not count as failures.
            s.phase = Phase::Done;
            self.close(i);
            return;
        }
        if s.phase == Phase::Playing {
            self.established -= 1;
        }
        s.phase = Phase::Failed;
        s.fail = Some(why.clone());
        self.failed += 1;
        self.fail_reasons.push(why);
        self.close(i);
    }

    pub(super) fn close(&mut self, i: usize) {
        let reg = self.poll.registry();
        let s = &mut self.sessions[i];
        if let Some(mut t) = s.tcp.take() {
            let _ = reg.deregister(&mut t);
        }
        if let Some(mut u) = s.rtp.take() {
            let _ = reg.deregister(&mut u);
        }
        if let Some(mut u) = s.rtcp.take() {
            let _ = reg.deregister(&mut u);
        }
        if let Some(c) = s.client.as_mut() {
            c.close();
        }
        s.client = None;
        s.deadline = None;
    }

    pub(super) fn teardown(&mut self, i: usize, _now: Instant) {
        let s = &mut self.sessions[i];
        match s.phase {
            Phase::Playing => {
                s.phase = Phase::TearingDown;
                let ok = s.client.as_mut().is_some_and(|c| c.teardown().is_ok());
                if ok {
                    self.drain(i);
                } else {
                    s.phase = Phase::Done;
                    self.close(i);
                }
            }
            Phase::Connecting | Phase::SettingUp => {
                let why = "not set up before the end of the run".to_string();
                self.fail(i, why);
            }
            _ => {}
        }
    }

    pub(super) fn input(&mut self, i: usize, input: Input<'_>) {
        let Some(c) = self.sessions[i].client.as_mut() else {
            return;
        };
        c.handle_input(input);
        self.drain(i);
    }

    /// Drains the client's outputs, then handles the events it reported (which may call the
    /// client again), until it is quiet.
    pub(super) fn drain(&mut self, i: usize) {
        loop {
            let mut evs = std::mem::take(&mut self.events);
            let s = &mut self.sessions[i];
            let Some(c) = s.client.as_mut() else {
                self.events = evs;
                return;
            };
            let mut close = false;
            let deadline = drain(c, |out| match out {
                Output::Transmit(t) => match t.dest {
                    Dest::Stream(_) => s.out.extend_from_slice(&t.data),
                    Dest::Udp { local, remote } => {
                        let sock = if Some(local) == s.rtcp_local {
                            s.rtcp.as_ref()
                        } else {
                            s.rtp.as_ref()
                        };
                        if let Some(u) = sock {
                            let _ = u.send_to(&t.data, remote);
                        }
                    }
                },
                Output::Close(_) => close = true,
                Output::Event(e) => evs.push(e),
                Output::Timeout(_) => {}
            });
            if deadline != s.deadline {
                s.deadline = deadline;
                if let Some(t) = deadline {
                    self.timers.push(Reverse((t, i)));
                }
            }
            self.flush(i);
            if close {
                let phase = self.sessions[i].phase;
                if phase == Phase::TearingDown {
                    self.sessions[i].phase = Phase::Done;
                    self.close(i);
                } else {
                    self.fail(i, "server closed the connection".into());
                }
            }
            if evs.is_empty() {
                self.events = evs;
                return;
            }
            let mut again = false;
            for e in evs.drain(..) {
                again |= self.on_event(i, e);
            }
            self.events = evs;
            if !again {
                return;
            }
        }
    }

    /// Handles one client event; true when the client was called (drain again).
    /// Issues a request on session `i`'s client; a refusal fails the session. Whether the
    /// client was called (drain again).
    fn request<E: std::fmt::Display>(
        &mut self,
        i: usize,
        what: &str,
        f: impl FnOnce(&mut Client) -> Result<u32, E>,
    ) -> bool {
        let Some(c) = self.sessions[i].client.as_mut() else {
            return true;
        };
        match f(c) {
            Ok(_) => true,
            Err(e) => {
                self.fail(i, format!("{what}: {e}"));
                false
            }
        }
    }

    pub(super) fn on_event(&mut self, i: usize, e: ClientEvent) -> bool {
        let now = Instant::now();
        let s = &mut self.sessions[i];
        match e {
            ClientEvent::Described { .. } => {
                s.marks[2] = Some(now);
                let choice = match (self.args.transport, s.rtp_local, s.rtcp_local) {
                    (Transport::Udp, Some(rtp_local), Some(rtcp_local)) => TransportChoice::Udp {
                        rtp_local,
                        rtcp_local,
                    },
                    _ => TransportChoice::Tcp,
                };
                self.request(i, "setup", |c| c.setup(choice))
            }
            ClientEvent::SetupDone { .. } => {
                s.marks[3] = Some(now);
                if self.args.no_play {
                    if s.phase != Phase::Playing && s.phase != Phase::TearingDown {
                        s.phase = Phase::Playing;
                        s.setup_ms = s
                            .started
                            .map(|t| now.duration_since(t).as_secs_f64() * 1000.0);
                        self.established += 1;
                    }
                    return false;
                }
                self.request(i, "play", |c| c.play(None))
            }
            ClientEvent::Playing { .. } => {
                if s.phase != Phase::Playing && s.phase != Phase::TearingDown {
                    s.phase = Phase::Playing;
                    s.marks[4] = Some(now);
                    s.setup_ms = s
                        .started
                        .map(|t| now.duration_since(t).as_secs_f64() * 1000.0);
                    self.established += 1;
                }
                false
            }
            ClientEvent::Frame { timestamp, .. } => {
                // TCP only (UDP RTP never reaches the client machine).
                s.counter.on_frame(timestamp, now);
                if let Some(c) = s.client.as_ref() {
                    let st = c.stats();
                    let (dp, db) = (st.packets - s.tcp_stats.0, st.bytes - s.tcp_stats.1);
                    self.pkts += dp;
                    self.bytes += db;
                    s.counter.packets += dp;
                    s.counter.bytes += db;
                    s.tcp_stats = (st.packets, st.bytes, st.lost);
                }
                false
            }
            ClientEvent::TornDown => {
                s.phase = Phase::Done;
                self.close(i);
                false
            }
            ClientEvent::RequestFailed { method, status } => {
                self.fail(i, format!("{method} failed: {status:?}"));
                false
            }
            ClientEvent::Redirected { location, .. } => {
                self.fail(i, format!("redirected to {location}"));
                false
            }
            ClientEvent::Error(e) => {
                self.fail(i, format!("client error: {e}"));
                false
            }
            ClientEvent::Closed => {
                if s.phase == Phase::TearingDown {
                    s.phase = Phase::Done;
                    self.close(i);
                } else {
                    self.fail(i, "closed".into());
                }
                false
            }
            _ => false,
        }
    }

    // ------------------------------------------------------------------------------------
    // Sockets

    pub(super) fn flush(&mut self, i: usize) {
        let s = &mut self.sessions[i];
        if s.phase == Phase::Connecting {
            return;
        }
        let Some(tcp) = s.tcp.as_mut() else {
            s.out.clear();
            return;
        };
        let mut done = 0;
        let mut err = None;
        while done < s.out.len() {
            match tcp.write(&s.out[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        s.out.drain(..done);
        if let Some(e) = err {
            self.stream_closed(i, format!("write: {e}"));
        }
    }

    pub(super) fn tcp_writable(&mut self, i: usize) {
        let s = &mut self.sessions[i];
        if s.phase == Phase::Connecting {
            let Some(tcp) = s.tcp.as_ref() else { return };
            if let Ok(Some(e)) | Err(e) = tcp.take_error() {
                return self.fail(i, format!("connect: {e}"));
            }
            match tcp.peer_addr() {
                Ok(peer) => {
                    s.phase = Phase::SettingUp;
                    s.marks[1] = Some(Instant::now());
                    self.input(
                        i,
                        Input::Connected {
                            now: Instant::now(),
                            conn: ConnId(i as u64),
                            peer,
                        },
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => return self.fail(i, format!("connect: {e}")),
            }
        }
        self.flush(i);
    }

    pub(super) fn stream_closed(&mut self, i: usize, why: String) {
        let phase = self.sessions[i].phase;
        self.input(
            i,
            Input::StreamClosed {
                now: Instant::now(),
                conn: ConnId(i as u64),
            },
        );
        if phase == Phase::TearingDown {
            self.sessions[i].phase = Phase::Done;
            self.close(i);
        } else {
            self.fail(i, why);
        }
    }

    pub(super) fn tcp_readable(&mut self, i: usize) {
        if self.sessions[i].phase == Phase::Connecting {
            // Readable before writable: a refused connect shows up here.
            self.tcp_writable(i);
            if self.sessions[i].phase == Phase::Connecting {
                return;
            }
        }
        loop {
            let Some(tcp) = self.sessions[i].tcp.as_mut() else {
                return;
            };
            match tcp.read(&mut self.rxbuf) {
                Ok(0) => return self.stream_closed(i, "server closed the connection".into()),
                Ok(n) => {
                    let data = std::mem::take(&mut self.rxbuf);
                    self.input(
                        i,
                        Input::Stream {
                            now: Instant::now(),
                            conn: ConnId(i as u64),
                            data: &data[..n],
                        },
                    );
                    self.rxbuf = data;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.stream_closed(i, format!("read: {e}")),
            }
        }
    }

    pub(super) fn rtp_readable(&mut self, i: usize) {
        let s = &mut self.sessions[i];
        let Some(sock) = s.rtp.as_ref() else { return };
        let fd = sock.as_raw_fd();
        loop {
            match self.batch.recv(fd) {
                Ok(0) => return,
                Ok(n) => {
                    // Timing from the kernel's receive stamps: when a datagram reached the
                    // socket, not when this loop got to read it.
                    let clock = StampClock::now();
                    for j in 0..n {
                        let d = self.batch.get(j);
                        self.pkts += 1;
                        self.bytes += d.len() as u64;
                        s.counter.on_datagram(d, clock.at(self.batch.stamp(j)));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    pub(super) fn rtcp_readable(&mut self, i: usize) {
        let mut buf = [0u8; 2048];
        loop {
            let s = &self.sessions[i];
            let (Some(sock), Some(local)) = (s.rtcp.as_ref(), s.rtcp_local) else {
                return;
            };
            match sock.recv_from(&mut buf) {
                Ok((n, remote)) => self.input(
                    i,
                    Input::Datagram {
                        now: Instant::now(),
                        local,
                        remote,
                        data: &buf[..n],
                    },
                ),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }
}
