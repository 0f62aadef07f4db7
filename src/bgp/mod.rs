//! BGP wire handling shared by the daemon and replay: message framing (`codec`), OPEN and
//! capability negotiation (`open`, `capability`), the OPENs a pair mirrors (`mirror`),
//! NOTIFICATION (`notification`), UPDATE decoding
//! with the RFC 7606 decision and encoding with packing (`update`), and the RFC 7606 decision for
//! the findings of bgpkit-parser, which only reports them (`rfc7606`, used by replay).

pub mod capability;
pub mod codec;
pub mod fsm;
pub mod mirror;
pub mod notification;
pub mod open;
pub mod rfc7606;
pub mod session;
pub mod sockopt;
pub mod update;
