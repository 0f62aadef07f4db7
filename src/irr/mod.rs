//! IRR data: per-neighbor prefix lists from bgpq4 JSON and RPSL.
