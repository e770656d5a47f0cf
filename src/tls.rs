//! The process's TLS crypto provider, chosen once. Since reqwest 0.13 the application chooses
//! it (reqwest's own default is aws-lc-rs, a C build custbulk does without), and every reqwest
//! client built in the process needs one. Its own module, below both the client and the
//! sandbox, which each install it.

/// Makes ring the process's rustls crypto provider, once: code that builds its own reqwest
/// client beside ours (tests, benchmarks) calls this first; [`crate::api::Client::new`] and the
/// sandbox do.
pub fn install_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An error means another provider was installed first: that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
