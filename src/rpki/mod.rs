//! RPKI data: VRPs and ASPA records, loaders, ROV and ASPA verification.
