//! Readings from `/proc`: CPU time and resident memory of a process, and the kernel's UDP
//! counters (to tell receive-buffer drops from loss elsewhere).

use std::time::{Duration, Instant};

use crate::sys;

/// CPU time (user + system, all threads) of process `pid`, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces: fields start after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let tck = sys::clock_ticks_per_sec();
    Some(Duration::from_secs_f64((utime + stime) as f64 / tck as f64))
}

/// Resident set size of process `pid` in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Samples a process's CPU use as a percentage of one core between two readings.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    at: Instant,
    cpu: Duration,
}

impl CpuMeter {
    /// A reading now.
    pub fn new(at: Instant, cpu: Duration) -> Self {
        Self { at, cpu }
    }

    /// Percent of one core used from `self` to (`at`, `cpu`).
    pub fn percent(&self, at: Instant, cpu: Duration) -> f64 {
        let wall = at.saturating_duration_since(self.at).as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        100.0 * cpu.saturating_sub(self.cpu).as_secs_f64() / wall
    }
}

/// The kernel's global UDP counters (`Udp:` lines of `/proc/net/snmp`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpCounters {
    /// Datagrams delivered to sockets.
    pub in_datagrams: u64,
    /// Datagrams dropped because a socket's receive buffer was full.
    pub rcvbuf_errors: u64,
    /// Datagrams dropped because a socket's send buffer was full.
    pub sndbuf_errors: u64,
    /// Datagrams sent.
    pub out_datagrams: u64,
}

impl UdpCounters {
    /// Reads `/proc/net/snmp` (zeros when it cannot be read).
    pub fn read() -> Self {
        let get = |name: &str| proc_counter("/proc/net/snmp", "Udp:", name);
        Self {
            in_datagrams: get("InDatagrams"),
            rcvbuf_errors: get("RcvbufErrors"),
            sndbuf_errors: get("SndbufErrors"),
            out_datagrams: get("OutDatagrams"),
        }
    }

    /// Counter growth from `earlier` to `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            in_datagrams: self.in_datagrams.saturating_sub(earlier.in_datagrams),
            rcvbuf_errors: self.rcvbuf_errors.saturating_sub(earlier.rcvbuf_errors),
            sndbuf_errors: self.sndbuf_errors.saturating_sub(earlier.sndbuf_errors),
            out_datagrams: self.out_datagrams.saturating_sub(earlier.out_datagrams),
        }
    }
}

/// The kernel's TCP listen-queue counters (`TcpExt:` lines of `/proc/net/netstat`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenCounters {
    /// Connections dropped because an accept queue was full.
    pub overflows: u64,
    /// SYNs dropped at a listening socket (overflows included).
    pub drops: u64,
    /// SYN cookies sent (the SYN queue was full).
    pub syncookies: u64,
}

impl ListenCounters {
    /// Reads `/proc/net/netstat` (zeros when it cannot be read).
    pub fn read() -> Self {
        let get = |name: &str| proc_counter("/proc/net/netstat", "TcpExt:", name);
        Self {
            overflows: get("ListenOverflows"),
            drops: get("ListenDrops"),
            syncookies: get("SyncookiesSent"),
        }
    }

    /// Counter growth from `earlier` to `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            overflows: self.overflows.saturating_sub(earlier.overflows),
            drops: self.drops.saturating_sub(earlier.drops),
            syncookies: self.syncookies.saturating_sub(earlier.syncookies),
        }
    }
}

/// Machine-wide CPU jiffies from the `cpu` line of `/proc/stat`: (busy, total).
/// Busy includes softirq time (where loopback packet delivery is often charged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MachineCpu {
    busy: u64,
    total: u64,
}

impl MachineCpu {
    /// Reads `/proc/stat` (zeros when it cannot be read).
    pub fn read() -> Self {
        let Ok(s) = std::fs::read_to_string("/proc/stat") else {
            return Self::default();
        };
        let Some(line) = s.lines().find(|l| l.starts_with("cpu ")) else {
            return Self::default();
        };
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest is already in user).
        let total: u64 = v.iter().take(8).sum();
        let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
        Self {
            busy: total.saturating_sub(idle),
            total,
        }
    }

    /// Busy share of the whole machine from `earlier` to `self`, in percent of ONE core
    /// (so 2 busy cores read 200%).
    pub fn percent_since(&self, earlier: &Self, ncpu: usize) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            return 0.0;
        }
        100.0 * ncpu as f64 * self.busy.saturating_sub(earlier.busy) as f64 / total as f64
    }
}

/// Online CPUs.
pub fn ncpu() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The 1-minute load average (`/proc/loadavg`).
pub fn loadavg1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// One counter from a `/proc/net/{snmp,netstat}` table: the first line starting with `prefix`
/// holds the names, the second the values. 0 when it cannot be read.
fn proc_counter(path: &str, prefix: &str, name: &str) -> u64 {
    let Ok(s) = std::fs::read_to_string(path) else {
        return 0;
    };
    let mut lines = s.lines().filter(|l| l.starts_with(prefix));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .position(|n| n == name)
        .and_then(|i| values.split_whitespace().nth(i))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let pid = std::process::id();
        assert!(cpu_time(pid).is_some());
        assert!(rss_kib(pid).unwrap() > 0);
        let u = UdpCounters::read();
        assert_eq!(u.since(&u), UdpCounters::default());
    }
}
