//! Turns the global flags into a checked connection: base URL, key, and the sandbox if asked.
