//! The end of a run: the final machine-readable line, loss totals, the setup trace.

use super::*;

impl Load {
    /// `--setup-trace`: one CSV line per session, ms from `t0` (empty when not reached).
    pub(super) fn write_trace(&self, path: &std::path::Path, t0: Instant) -> io::Result<()> {
        // The start on CLOCK_MONOTONIC, to line the trace up with `perf record -k CLOCK_MONOTONIC`.
        let t0_mono = sys::monotonic().saturating_sub(t0.elapsed());
        let mut out = format!("# t0_monotonic_s={:.6}\n", t0_mono.as_secs_f64());
        out.push_str("session,connect,connected,described,setup,playing\n");
        for (i, s) in self.sessions.iter().enumerate() {
            out.push_str(&i.to_string());
            for m in s.marks {
                out.push(',');
                if let Some(t) = m {
                    let ms = t.duration_since(t0).as_secs_f64() * 1000.0;
                    out.push_str(&format!("{ms:.3}"));
                }
            }
            out.push('\n');
        }
        std::fs::write(path, out)
    }

    pub(super) fn loss(&self) -> (u64, u64) {
        let mut lost = 0;
        let mut exp = 0;
        for s in &self.sessions {
            if self.args.transport == Transport::Tcp {
                lost += s.tcp_stats.2.max(0) as u64;
                exp += s.tcp_stats.0 + s.tcp_stats.2.max(0) as u64;
            } else {
                lost += s.counter.lost();
                exp += s.counter.expected();
            }
        }
        (lost, exp)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn final_line(
        &self,
        window: Option<&Snapshot>,
        end: Instant,
        rss0: Option<u64>,
        rss_peak: Option<u64>,
        udp0: &UdpCounters,
        load0: f64,
    ) -> String {
        let k = self.args.sessions;
        let w = window.map_or_else(
            || Snapshot {
                at: end,
                pkts: self.pkts,
                bytes: self.bytes,
                frames: self.sessions.iter().map(|s| s.counter.frames).collect(),
                client_cpu: sys::process_cpu(),
                server_cpu: self.args.server_pid.and_then(procfs::cpu_time),
                machine: MachineCpu::read(),
            },
            |w| Snapshot {
                at: w.at,
                pkts: w.pkts,
                bytes: w.bytes,
                frames: w.frames.clone(),
                client_cpu: w.client_cpu,
                server_cpu: w.server_cpu,
                machine: w.machine,
            },
        );
        let secs = end.saturating_duration_since(w.at).as_secs_f64().max(1e-3);
        let pps = (self.pkts - w.pkts) as f64 / secs;
        let mbps = (self.bytes - w.bytes) as f64 * 8.0 / secs / 1e6;
        let (lost, exp) = self.loss();
        let late: u64 = self.sessions.iter().map(|s| s.counter.late).sum();
        let early: u64 = self.sessions.iter().map(|s| s.counter.early).sum();
        let frames: u64 = self.sessions.iter().map(|s| s.counter.frames).sum();
        let max_late_ms = self
            .sessions
            .iter()
            .filter(|s| s.counter.frames >= 2)
            .map(|s| s.counter.max_late_s * 1000.0)
            .fold(f64::NAN, f64::max);
        let anchor_shift_max_ms = self
            .sessions
            .iter()
            .map(|s| s.counter.anchor_shift_s * 1000.0)
            .fold(0.0, f64::max);
        let fps: Vec<f64> = self
            .sessions
            .iter()
            .zip(&w.frames)
            .filter(|(s, _)| s.phase == Phase::Playing)
            .filter_map(|(s, &f0)| window_fps(&s.counter, f0, w.at, end))
            .collect();
        let fps_min = fps.iter().copied().fold(f64::NAN, f64::min);
        let fps_max = fps.iter().copied().fold(f64::NAN, f64::max);
        let fps_mean = if fps.is_empty() {
            0.0
        } else {
            fps.iter().sum::<f64>() / fps.len() as f64
        };
        let mut setup: Vec<f64> = self.sessions.iter().filter_map(|s| s.setup_ms).collect();
        setup.sort_by(f64::total_cmp);
        let ccpu = 100.0
            * sys::process_cpu()
                .saturating_sub(w.client_cpu)
                .as_secs_f64()
            / secs;
        let scpu = match (
            w.server_cpu,
            self.args.server_pid.and_then(procfs::cpu_time),
        ) {
            (Some(a), Some(b)) => Some(CpuMeter::new(w.at, a).percent(end, b)),
            _ => None,
        };
        let machine = MachineCpu::read().percent_since(&w.machine, procfs::ncpu());
        let rss_end = self.args.server_pid.and_then(procfs::rss_kib);
        let rss_max = match (rss_peak, rss_end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let udp = UdpCounters::read().since(udp0);
        let listen = ListenCounters::read().since(&self.listen0);
        let pkts_per_frame = if frames > 0 {
            self.pkts as f64 / frames as f64
        } else {
            0.0
        };
        let bytes_per_pkt = if self.pkts > 0 {
            self.bytes as f64 / self.pkts as f64
        } else {
            0.0
        };
        let mut line = format!(
            "sessions={k} established={} pps={pps:.0} mbps={mbps:.2} loss={:.2}% late={late} early={early} max_late_ms={:.1} anchor_shift_max_ms={anchor_shift_max_ms:.1} fps_min={:.2} fps_mean={fps_mean:.2} fps_max={:.2} setup_p50_ms={:.1} setup_p99_ms={:.1} setup_max_ms={:.1} client_cpu={ccpu:.1}% machine_cpu={machine:.1}%",
            self.established,
            pct(lost, exp),
            nan0(max_late_ms),
            nan0(fps_min),
            nan0(fps_max),
            percentile(&setup, 50.0),
            percentile(&setup, 99.0),
            setup.last().copied().unwrap_or(0.0),
        );
        match scpu {
            Some(c) => {
                // Frames delivered to all sessions in the window (http-load's
                // server_cpu_per_viewer_frame_us, for the HTTP/RTSP comparison of issue 16).
                let w_frames = frames.saturating_sub(w.frames.iter().sum::<u64>());
                let per_frame_us = if w_frames > 0 {
                    c / 100.0 * secs * 1e6 / w_frames as f64
                } else {
                    0.0
                };
                line += &format!(
                    " server_cpu={c:.1}% server_cpu_per_session={:.4}% server_cpu_per_viewer_frame_us={per_frame_us:.2}",
                    c / self.established.max(1) as f64
                );
            }
            None => line += " server_cpu=na",
        }
        if let (Some(a), Some(b)) = (rss0, rss_max) {
            line += &format!(
                " server_rss_kib={b} server_rss_per_session_kib={:.1}",
                b.saturating_sub(a) as f64 / self.established.max(1) as f64
            );
        }
        line += &format!(
            " lost={lost} frames={frames} pkts_per_frame={pkts_per_frame:.2} bytes_per_pkt={bytes_per_pkt:.0} window_s={secs:.1} udp_rcvbuf_errors={} udp_sndbuf_errors={} tcp_listen_overflows={} tcp_listen_drops={} syncookies={} failed={} gro={} loadavg={load0:.2} sources={} source_range={}",
            udp.rcvbuf_errors, udp.sndbuf_errors, listen.overflows, listen.drops, listen.syncookies, self.failed, self.args.gro,
            self.sources.len(), source_range(&self.sources)
        );
        line
    }
}

pub(super) fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

pub(super) fn nan0(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v
    }
}
