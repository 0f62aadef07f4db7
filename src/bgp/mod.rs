//! BGP wire handling shared by the daemon and replay. For now: the RFC 7606 decision for the
//! findings of bgpkit-parser, which only reports them.

pub mod rfc7606;
