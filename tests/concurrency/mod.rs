//! Adaptive concurrency and pacing end to end: the sandbox's capacity and rate limiters, the
//! client's limit and pace moving against them, long waits said, and imports and exports that
//! lose and duplicate nothing while they move.

mod capacity;
mod limiters;
mod moving;
mod waits;
