//! An operator's control of one pair (`bgpsieve ctl neighbor NAME down|up|refresh`, the
//! `shutdown` key): what the RIB decides and asks the sessions to do. Sans-IO like the rest of
//! the RIB: each order returns the answer for the operator and the orders for the sessions.
//!
//! - **down**: the neighbor side ends with Cease/Administrative Shutdown and the message (RFC
//!   8203/9003; a Hard Reset where RFC 8538 N was negotiated, so the neighbor drops the routes
//!   at once); the router side follows it, closing with the same message; nothing restarts the
//!   pair until **up**.
//! - **refresh in** (routes from the neighbor): the stored Adj-RIB-In is checked again against
//!   the policy in force and the router is sent the differences; where the neighbor negotiated
//!   route refresh it is also sent a ROUTE-REFRESH, and what it sends again is checked as any
//!   UPDATE.
//! - **refresh out** (routes toward the neighbor): the stored routes of the router are checked
//!   again, the neighbor is sent the differences and then its whole table again (as on a
//!   ROUTE-REFRESH it sent); where the router negotiated route refresh it is sent one, so its
//!   export to this neighbor comes again and is checked.
//!
//! It must not touch the wire: sessions do, on the outputs.

use super::{Output, Rib};
use crate::types::{Afi, Direction, SessionId, Side};

/// An administrative shutdown in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shutdown {
    /// The shutdown communication sent (empty: none).
    pub message: String,
    /// Unix seconds since when.
    pub since: i64,
    /// Set by the configuration's `shutdown` key (else by an operator's `ctl neighbor down`).
    pub configured: bool,
}

/// What `refresh` covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Routes from the neighbor (import).
    In,
    /// Routes toward the neighbor (export).
    Out,
    /// Both.
    Both,
}

impl Refresh {
    fn covers(self, d: Direction) -> bool {
        matches!(
            (self, d),
            (Refresh::Both, _) | (Refresh::In, Direction::In) | (Refresh::Out, Direction::Out)
        )
    }
}

/// An order for one pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeighborOrder {
    /// `bgpsieve ctl neighbor NAME down [MESSAGE]`.
    Down { message: String },
    /// `bgpsieve ctl neighbor NAME up`.
    Up,
    /// `bgpsieve ctl neighbor NAME refresh [in|out]`.
    Refresh(Refresh),
    /// A reload changed the `shutdown` key: `Some(message)` takes the pair down, `None` brings
    /// it up (if it is down).
    Configured { shutdown: Option<String> },
}

/// Why an order was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NeighborError {
    /// No pair of that name: 404.
    #[error("no peer named {0:?}")]
    NotFound(String),
    /// The order does not apply in the pair's state: 409.
    #[error("{0}")]
    Conflict(String),
}

/// `"message"`, or `no message` for an empty one.
fn quoted(message: &str) -> String {
    if message.is_empty() {
        "no message".to_string()
    } else {
        format!("{message:?}")
    }
}

/// The families of a session, as `ipv4, ipv6`.
fn families(afis: &[Afi]) -> String {
    afis.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

// `self.pairs[i]`: `i` is found by name in the RIB's own table.
#[allow(clippy::indexing_slicing)]
impl Rib {
    /// Carries out `order` for the pair named `name` at unix time `now`: the answer for the
    /// operator and what the sessions must do.
    pub fn neighbor(
        &mut self,
        name: &str,
        order: NeighborOrder,
        now: i64,
    ) -> (Result<String, NeighborError>, Vec<Output>) {
        let Some(i) = self.pairs.iter().position(|p| p.name == name && !p.gone) else {
            return (Err(NeighborError::NotFound(name.to_string())), Vec::new());
        };
        match order {
            NeighborOrder::Down { message } => self.shut(i, message, false, now),
            NeighborOrder::Up => self.unshut(i),
            NeighborOrder::Configured {
                shutdown: Some(message),
            } => {
                self.pairs[i].shutdown_configured = Some(message.clone());
                self.shut(i, message, true, now)
            }
            NeighborOrder::Configured { shutdown: None } => {
                self.pairs[i].shutdown_configured = None;
                self.unshut(i)
            }
            NeighborOrder::Refresh(what) => self.refresh(i, what),
        }
    }

    /// Takes pair `i` administratively down (or changes the message of a shutdown in force).
    fn shut(
        &mut self,
        i: usize,
        message: String,
        configured: bool,
        now: i64,
    ) -> (Result<String, NeighborError>, Vec<Output>) {
        let p = &mut self.pairs[i];
        let name = p.name.clone();
        let to = SessionId::new(i, Side::Neighbor);
        let out = vec![Output::AdminDown {
            to,
            message: message.clone(),
        }];
        let answer = match p.shutdown.as_mut() {
            Some(s) if s.message == message => {
                s.configured |= configured;
                return (
                    Ok(format!("{name} is already administratively down")),
                    Vec::new(),
                );
            }
            Some(s) => {
                s.message = message.clone();
                s.configured |= configured;
                format!(
                    "{name} stays administratively down; connections are now refused with {}",
                    quoted(&message)
                )
            }
            None => {
                p.shutdown = Some(Shutdown {
                    message: message.clone(),
                    since: now,
                    configured,
                });
                format!(
                    "{name} administratively down: the neighbor is sent Cease/Administrative \
                     Shutdown with {}, the router side closes with it; it stays down until \
                     `bgpsieve ctl neighbor {name} up`{}",
                    quoted(&message),
                    if configured {
                        " or a reload that clears `shutdown`"
                    } else {
                        ""
                    }
                )
            }
        };
        (Ok(answer), out)
    }

    /// Ends pair `i`'s administrative shutdown.
    fn unshut(&mut self, i: usize) -> (Result<String, NeighborError>, Vec<Output>) {
        let p = &mut self.pairs[i];
        let name = p.name.clone();
        if p.shutdown.take().is_none() {
            return (
                Ok(format!("{name} is not administratively down")),
                Vec::new(),
            );
        }
        let mut answer = format!("{name} administratively up: the session starts again");
        if p.shutdown_configured.is_some() {
            answer.push_str(
                " (its configuration says `shutdown`: it is down again when bgpsieve restarts; \
                 remove the key to keep it up)",
            );
        }
        (
            Ok(answer),
            vec![Output::AdminUp {
                to: SessionId::new(i, Side::Neighbor),
            }],
        )
    }

    /// Checks pair `i`'s stored routes of the directions `what` covers again, sends the
    /// receiving side the differences (and the neighbor its whole table again for `out`), and
    /// asks the sending side for a ROUTE-REFRESH where it negotiated route refresh.
    fn refresh(&mut self, i: usize, what: Refresh) -> (Result<String, NeighborError>, Vec<Output>) {
        let name = self.pairs[i].name.clone();
        if self.pairs[i].shutdown.is_some() {
            return (
                Err(NeighborError::Conflict(format!(
                    "{name} is administratively down: nothing to refresh"
                ))),
                Vec::new(),
            );
        }
        if !self.pairs[i].is_up(Side::Neighbor) {
            return (
                Err(NeighborError::Conflict(format!(
                    "{name}: the neighbor session is not established: nothing to refresh"
                ))),
                Vec::new(),
            );
        }
        let mut out = Vec::new();
        let mut said = Vec::new();
        for d in [Direction::In, Direction::Out] {
            if !what.covers(d) {
                continue;
            }
            let mut stats = super::Reevaluation::default();
            let observe: Vec<bool> = self.pairs.iter().map(|p| p.policy.observe).collect();
            let touched = self.routes_under(d, None, Some(i));
            self.recheck(touched, &observe, &mut stats, &mut out);
            // The side the routes come from, and the one they go to.
            let (from, to) = match d {
                Direction::In => (Side::Neighbor, Side::Router),
                Direction::Out => (Side::Router, Side::Neighbor),
            };
            let mut text = format!(
                "refresh {}: {} stored routes from the {from} checked again, {} changed",
                d.as_str(),
                stats.checked,
                stats.changed
            );
            if d == Direction::Out {
                let before = out.len();
                out.extend(self.full_table(SessionId::new(i, to)));
                let sent: usize = out
                    .iter()
                    .skip(before)
                    .map(|o| match o {
                        Output::Routes { out, .. } => {
                            out.announce.iter().map(|(_, n)| n.len()).sum()
                        }
                        _ => 0,
                    })
                    .sum();
                text.push_str(&format!("; the neighbor is sent its {sent} routes again"));
            } else if self.pairs[i].is_up(to) {
                text.push_str("; the router is sent the differences");
            }
            match self.pairs[i].sessions[from].as_ref() {
                Some(neg) if neg.route_refresh => {
                    let afis = neg.families.clone();
                    text.push_str(&format!(
                        "; ROUTE-REFRESH sent to the {from} ({})",
                        families(&afis)
                    ));
                    out.push(Output::RouteRefresh {
                        to: SessionId::new(i, from),
                        afis,
                    });
                }
                Some(_) => text.push_str(&format!(
                    "; the {from} did not negotiate route refresh: no ROUTE-REFRESH"
                )),
                None => text.push_str(&format!(
                    "; the {from} session is not established: no ROUTE-REFRESH"
                )),
            }
            said.push(text);
        }
        (Ok(format!("{name}: {}", said.join("\n"))), out)
    }
}
