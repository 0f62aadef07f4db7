//! Offline replay of MRT dumps through the policy.
