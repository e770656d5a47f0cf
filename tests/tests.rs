//! One integration test binary; each area has its own module file.

mod read;
