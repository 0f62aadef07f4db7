//! Policy: pure checks, no I/O.
pub mod reason;
pub use reason::{Reason, ReasonSet};
