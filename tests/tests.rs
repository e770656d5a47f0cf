//! One integration test binary; each area has its own module file.

mod mapping;
mod read;
mod template;
mod validate;
