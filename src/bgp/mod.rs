//! BGP wire handling shared by the daemon and replay: message framing (`codec`), OPEN and
//! capability negotiation (`open`, `capability`), the OPENs a pair mirrors (`mirror`),
//! NOTIFICATION (`notification`), graceful restart's rules (`graceful`), UPDATE decoding (one decoder per attribute) and encoding with
//! packing (`update`), and the one RFC 7606 table that says which action a malformed attribute
//! calls for, asked by the UPDATE decoder and by replay for the findings of bgpkit-parser, which
//! only reports them (`rfc7606`).

pub mod capability;
pub mod codec;
pub mod diag;
pub mod fsm;
pub mod graceful;
pub mod mirror;
pub mod notification;
pub mod open;
pub mod rfc7606;
pub mod session;
pub mod sockopt;
pub mod update;
