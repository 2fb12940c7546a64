//! Bound service-account sessions, kept for the next operation: a TLS handshake, a bind and two
//! reads of the domain root cost more than the write a reset is for. Only sessions bound as the
//! service account are kept; a user's own bind (a change, a verify) always has a connection of
//! its own, closed after it.
//!
//! A kept session is used again only while it is young enough, and checked before: its
//! connection must still be open (a DC that drops it closes it), and after a quiet spell it
//! must answer a read of the rootDSE. An operation that finds its reused session broken runs once more on
//! a new one — what runs that way is a read or a write of fixed values (a reset, an unlock),
//! which leaves the same directory run once or twice; a change (old password out, new in) is
//! not run twice. What the domain root says (naming
//! contexts, controls, policy) is read once per DC and again after `INFO_TTL`.

use std::time::{Duration, Instant};

use ldap3::{Ldap, Scope};

use super::{lock, LdapDirectory};
use crate::directory::{DirectoryError, DomainInfo};

/// Sessions kept idle at most: enough for the few operations an agent runs at once.
pub(super) const POOL_SIZE: usize = 4;
/// A session unused this long is closed rather than reused (DCs drop idle connections after
/// 15 minutes by default; this stays well inside that).
const MAX_IDLE: Duration = Duration::from_secs(60);
/// A session this old is closed when it comes back, so the order of the DCs (the PDC emulator
/// first, once it is back) takes effect again.
const MAX_AGE: Duration = Duration::from_secs(600);
/// A session unused this long must answer a read of the rootDSE before it is used again.
const PROBE_AFTER: Duration = Duration::from_secs(10);
/// A session to a DC that stood in for one earlier in the order (the PDC emulator down) is
/// reused this long; then the order is tried again from the top.
const STAND_IN: Duration = Duration::from_secs(30);
/// How long what the domain root says is used before it is read again.
pub(super) const INFO_TTL: Duration = Duration::from_secs(60);

/// A bound service-account session to one DC, and what its domain root said.
pub(super) struct Session {
    pub ldap: Ldap,
    pub info: DomainInfo,
    url: String,
    opened: Instant,
    /// The DCs before this one in the order did not answer when it was opened.
    stand_in: bool,
    /// Taken from the pool rather than opened for this operation.
    reused: bool,
}

/// A session waiting for the next operation.
pub(super) struct Idle {
    ldap: Ldap,
    url: String,
    opened: Instant,
    stand_in: bool,
    since: Instant,
}

/// What became of an operation on a service session (`settle`).
pub(super) enum Settled<T> {
    Done(Result<T, DirectoryError>),
    Again(Box<Session>),
}

/// Runs `$op` — an expression over `$ldap` (the bound session) and `$info` (its domain root)
/// that gives a `Result` — on a service session, kept or new, and keeps the session for the
/// next operation unless `$op` found it broken; a kept session that was broken costs one more
/// try on a new one. A macro rather than a function taking a closure: the operation's future
/// borrows the session, which an async closure cannot yet lend to a `Send` future.
macro_rules! with_service {
    ($directory:expr, |$ldap:ident, $info:ident| $op:expr) => {{
        let directory = $directory;
        let mut session = directory.checkout().await?;
        loop {
            let result = {
                let $ldap = &mut session.ldap;
                let $info = &session.info;
                $op
            };
            match directory.settle(session, result).await? {
                pool::Settled::Done(result) => break result,
                pool::Settled::Again(fresh) => session = *fresh,
            }
        }
    }};
}

/// Whether a session that saw this result may serve another operation: not when the
/// connection broke, timed out or its TLS failed (its state is unknown).
fn still_usable<T>(result: &Result<T, DirectoryError>) -> bool {
    !matches!(
        result,
        Err(DirectoryError::Unreachable(_) | DirectoryError::Tls(_))
    )
}

impl LdapDirectory {
    /// A new bound session to the first DC that answers, and its domain root, read now.
    pub(super) async fn open_session(&self) -> Result<Session, DirectoryError> {
        let (mut ldap, url) = self.open().await?;
        let stand_in = self.dc_order().first() != Some(&url);
        self.bind_service(&mut ldap).await?;
        let info = self.read_info(&mut ldap, &url).await?;
        Ok(Session {
            ldap,
            info,
            url,
            opened: Instant::now(),
            stand_in,
            reused: false,
        })
    }

    /// A kept session if one is live, else a new one.
    pub(super) async fn checkout(&self) -> Result<Session, DirectoryError> {
        while let Some(mut idle) = self.take_idle() {
            if idle.since.elapsed() >= PROBE_AFTER {
                // The rootDSE: every DC answers it, bound or not.
                let answered = self
                    .ldap_search(&mut idle.ldap, "", Scope::Base, "(objectClass=*)", &["1.1"])
                    .await;
                if answered.is_err() {
                    continue;
                }
            }
            let cached = lock(&self.infos)
                .get(&idle.url)
                .filter(|(_, read)| read.elapsed() < INFO_TTL)
                .map(|(info, _)| info.clone());
            let info = match cached {
                Some(info) => info,
                None => match self.read_info(&mut idle.ldap, &idle.url).await {
                    Ok(info) => info,
                    Err(_) => continue,
                },
            };
            return Ok(Session {
                ldap: idle.ldap,
                info,
                url: idle.url,
                opened: idle.opened,
                stand_in: idle.stand_in,
                reused: true,
            });
        }
        self.open_session().await
    }

    /// After an operation on `session`: keeps the session and gives the result, or — a kept
    /// session that turned out broken (the DC dropped it, restarted, or stopped answering) —
    /// a new session to run the operation on once more.
    pub(super) async fn settle<T>(
        &self,
        session: Session,
        result: Result<T, DirectoryError>,
    ) -> Result<Settled<T>, DirectoryError> {
        if session.reused && matches!(result, Err(DirectoryError::Unreachable(_))) {
            drop(session);
            return Ok(Settled::Again(Box::new(self.open_session().await?)));
        }
        self.give_back(session, &result);
        Ok(Settled::Done(result))
    }

    /// Keeps `session` for the next operation if it is sound, young and there is room.
    pub(super) fn give_back<T>(&self, mut session: Session, result: &Result<T, DirectoryError>) {
        if !still_usable(result) || session.ldap.is_closed() || session.opened.elapsed() >= MAX_AGE
        {
            return;
        }
        let mut idle = lock(&self.idle);
        if idle.len() < POOL_SIZE {
            idle.push(Idle {
                ldap: session.ldap,
                url: session.url,
                opened: session.opened,
                stand_in: session.stand_in,
                since: Instant::now(),
            });
        }
    }

    /// The most recently used kept session that is still open, not idle too long, and to the
    /// DC an operation would pick now: the first in the order (the PDC emulator once known),
    /// or one that stood in for it a short while ago. The others are dropped on the way
    /// (dropping closes their connection).
    fn take_idle(&self) -> Option<Idle> {
        let first = self.dc_order().into_iter().next();
        let mut idle = lock(&self.idle);
        idle.retain_mut(|s| {
            let right_dc =
                Some(&s.url) == first.as_ref() || (s.stand_in && s.opened.elapsed() < STAND_IN);
            right_dc && s.since.elapsed() < MAX_IDLE && !s.ldap.is_closed()
        });
        idle.pop()
    }

    /// How many sessions are kept now (for the tests).
    pub fn kept_sessions(&self) -> usize {
        lock(&self.idle).len()
    }
}
