//! What the limits that say "in all" or "per IP address" count, shared by every event loop
//! of one server: a client cannot pass a per-IP limit by landing on several loops.

use super::Limit;
use core::net::IpAddr;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Connection and session counts, in all and per client IP address. Clones share the counts:
/// give one to every event loop's [`ServerConfig::counts`](super::ServerConfig::counts)
/// (a server without one counts alone).
#[derive(Clone, Default)]
pub struct SharedCounts(Arc<Mutex<Counts>>);

#[derive(Default)]
struct Counts {
    connections: usize,
    sessions: usize,
    connections_per_ip: HashMap<IpAddr, usize>,
    sessions_per_ip: HashMap<IpAddr, usize>,
    /// Limits run into, by [`Limit::name`].
    exceeded: BTreeMap<&'static str, u64>,
}

impl std::fmt::Debug for SharedCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.lock();
        f.debug_struct("SharedCounts")
            .field("connections", &c.connections)
            .field("sessions", &c.sessions)
            .finish()
    }
}

/// The limits one kind of thing is counted against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    pub(crate) total: usize,
    pub(crate) per_ip: usize,
}

impl SharedCounts {
    /// Counts of nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Open control connections, in all.
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    /// Live sessions, in all.
    pub fn sessions(&self) -> usize {
        self.lock().sessions
    }

    /// Counts a [`ServerEvent::LimitExceeded`](super::ServerEvent::LimitExceeded).
    pub fn limit_exceeded(&self, limit: Limit) {
        *self.lock().exceeded.entry(limit.name()).or_default() += 1;
    }

    /// How often each limit was run into (by [`Limit::name`]), in all event loops.
    pub fn limits_exceeded(&self) -> Vec<(&'static str, u64)> {
        self.lock().exceeded.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Open control connections from `ip`.
    pub fn connections_from(&self, ip: IpAddr) -> usize {
        self.lock()
            .connections_per_ip
            .get(&ip)
            .copied()
            .unwrap_or(0)
    }

    /// Live sessions of clients at `ip`.
    pub fn sessions_of(&self, ip: IpAddr) -> usize {
        self.lock().sessions_per_ip.get(&ip).copied().unwrap_or(0)
    }

    /// Counts a connection from `ip` unless that would pass a cap (which one it would pass).
    pub(crate) fn add_connection(&self, ip: IpAddr, caps: Caps) -> Result<(), Limit> {
        let mut c = self.lock();
        let c = &mut *c;
        add(
            &mut c.connections,
            &mut c.connections_per_ip,
            ip,
            caps,
            (Limit::Connections, Limit::ConnectionsPerIp),
        )
    }

    /// Forgets a connection from `ip`.
    pub(crate) fn remove_connection(&self, ip: IpAddr) {
        let mut c = self.lock();
        let c = &mut *c;
        remove(&mut c.connections, &mut c.connections_per_ip, ip);
    }

    /// Which cap a new session of a client at `ip` would pass, if any (nothing is counted).
    pub(crate) fn session_room(&self, ip: IpAddr, caps: Caps) -> Result<(), Limit> {
        let c = self.lock();
        room(
            c.sessions,
            &c.sessions_per_ip,
            ip,
            caps,
            (Limit::Sessions, Limit::SessionsPerIp),
        )
    }

    /// Counts a session of a client at `ip` unless that would pass a cap.
    pub(crate) fn add_session(&self, ip: IpAddr, caps: Caps) -> Result<(), Limit> {
        let mut c = self.lock();
        let c = &mut *c;
        add(
            &mut c.sessions,
            &mut c.sessions_per_ip,
            ip,
            caps,
            (Limit::Sessions, Limit::SessionsPerIp),
        )
    }

    /// Forgets a session of a client at `ip`.
    pub(crate) fn remove_session(&self, ip: IpAddr) {
        let mut c = self.lock();
        let c = &mut *c;
        remove(&mut c.sessions, &mut c.sessions_per_ip, ip);
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // The counts stay consistent even if a thread panicked holding the lock: every
        // update is a few integer operations.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn room(
    total: usize,
    per_ip: &HashMap<IpAddr, usize>,
    ip: IpAddr,
    caps: Caps,
    limits: (Limit, Limit),
) -> Result<(), Limit> {
    if total >= caps.total {
        Err(limits.0)
    } else if per_ip.get(&ip).copied().unwrap_or(0) >= caps.per_ip {
        Err(limits.1)
    } else {
        Ok(())
    }
}

fn add(
    total: &mut usize,
    per_ip: &mut HashMap<IpAddr, usize>,
    ip: IpAddr,
    caps: Caps,
    limits: (Limit, Limit),
) -> Result<(), Limit> {
    room(*total, per_ip, ip, caps, limits)?;
    *total += 1;
    *per_ip.entry(ip).or_default() += 1;
    Ok(())
}

fn remove(total: &mut usize, per_ip: &mut HashMap<IpAddr, usize>, ip: IpAddr) {
    *total = total.saturating_sub(1);
    if let Some(n) = per_ip.get_mut(&ip) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            per_ip.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_in_all_and_per_ip_shared_by_clones() {
        let a = SharedCounts::new();
        let b = a.clone();
        let (x, y): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let caps = Caps {
            total: 3,
            per_ip: 2,
        };
        assert_eq!(a.add_connection(x, caps), Ok(()));
        assert_eq!(b.add_connection(x, caps), Ok(()));
        assert_eq!(a.add_connection(x, caps), Err(Limit::ConnectionsPerIp));
        assert_eq!(b.add_connection(y, caps), Ok(()));
        assert_eq!(a.add_connection(y, caps), Err(Limit::Connections));
        assert_eq!((a.connections(), b.connections_from(x)), (3, 2));
        b.remove_connection(x);
        assert_eq!(a.add_connection(y, caps), Ok(()));
        assert_eq!(a.connections_from(y), 2);
        // Sessions are counted apart from connections.
        assert_eq!(a.session_room(x, caps), Ok(()));
        assert_eq!(a.add_session(x, caps), Ok(()));
        assert_eq!(a.add_session(x, caps), Ok(()));
        assert_eq!(b.session_room(x, caps), Err(Limit::SessionsPerIp));
        assert_eq!(b.add_session(x, caps), Err(Limit::SessionsPerIp));
        a.remove_session(x);
        a.remove_session(x);
        a.remove_session(x); // one too many: no underflow
        assert_eq!((b.sessions(), b.sessions_of(x)), (0, 0));
    }
}
