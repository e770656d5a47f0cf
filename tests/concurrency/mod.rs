//! Adaptive concurrency end to end: the sandbox's capacity, the client's limit moving against
//! it, and imports and exports that lose and duplicate nothing while it moves.

mod capacity;
mod moving;
