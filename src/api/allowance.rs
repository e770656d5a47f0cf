//! What a server says about its rate limit in its answers' headers: how many requests it allows
//! per window, how many are left, and when the allowance is whole again.
//!
//! Three families are read, whichever a server sends:
//! - the IETF draft's separate fields: `RateLimit-Limit`, `RateLimit-Remaining`,
//!   `RateLimit-Reset` (seconds) and `RateLimit-Policy: 300;w=1` (the quota and its window, in
//!   seconds; several policies separated by commas);
//! - the later draft's structured fields: `RateLimit-Policy: "default";q=300;w=1` and
//!   `RateLimit: "default";r=12;t=1` (`r` remaining, `t` seconds to the reset), and the draft
//!   between, `RateLimit: limit=300, remaining=12, reset=1`;
//! - the common `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`, whose reset
//!   is seconds from now on some servers and an epoch time on others (GitHub's): a value past
//!   a billion is a date (2001 or later) in seconds, past a trillion in milliseconds, since no
//!   window lasts 31 years.
//!
//! Nothing here decides how to pace; [`super::pace`] does, from what is read.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;

/// What one answer said about the server's rate limit. Every part is optional: servers send
/// some fields and not others.
#[derive(Debug, Clone, PartialEq)]
pub struct Allowance {
    /// Requests allowed per window.
    pub limit: Option<u64>,
    /// The window, when a policy names it.
    pub window: Option<Duration>,
    /// Requests left in this window.
    pub remaining: Option<u64>,
    /// How long until the allowance is whole again.
    pub reset: Option<Duration>,
    /// Which fields said it, for messages.
    pub source: Source,
}

/// Which family of headers an allowance was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `RateLimit-Limit`, `-Remaining`, `-Reset`, `RateLimit-Policy`.
    Draft,
    /// `RateLimit` with `RateLimit-Policy`, as structured fields.
    Structured,
    /// `X-RateLimit-*`.
    X,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Draft => "RateLimit-* headers",
            Source::Structured => "RateLimit and RateLimit-Policy headers",
            Source::X => "X-RateLimit-* headers",
        })
    }
}

/// Seconds since the Unix epoch past which an `X-RateLimit-Reset` is a date, not a delay.
const EPOCH_SECONDS: f64 = 1e9;
const EPOCH_MILLIS: f64 = 1e12;

/// Reads the allowance from an answer's headers; `None` when the server says nothing.
/// `now_epoch` is the time now since the Unix epoch, for resets given as dates.
pub fn read(headers: &HeaderMap, now_epoch: Duration) -> Option<Allowance> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // The shortest window is the one that paces: a daily quota beside a per-second limit is
    // spent by the second's pace long before the day is out.
    let policy = text("ratelimit-policy")
        .map(policies)
        .and_then(|listed| listed.into_iter().min_by_key(|p| p.1));
    if let Some(combined) = text("ratelimit") {
        let field = |names: &[&str]| {
            parameters(combined).find_map(|(k, v)| names.contains(&k).then(|| number(v))?)
        };
        return Some(Allowance {
            limit: field(&["limit"]).map(|n| n as u64).or(policy.map(|p| p.0)),
            window: policy.map(|p| p.1),
            remaining: field(&["r", "remaining"]).map(|n| n as u64),
            reset: field(&["t", "reset"]).map(Duration::from_secs_f64),
            source: Source::Structured,
        });
    }
    let draft = ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"];
    if draft.iter().any(|name| text(name).is_some()) || policy.is_some() {
        let limit_field = text("ratelimit-limit");
        // Early drafts put the policies after the limit: `10, 10;w=1, 1000;w=3600`.
        let in_limit = limit_field
            .map(policies)
            .and_then(|p| p.into_iter().min_by_key(|p| p.1));
        let policy = policy.or(in_limit);
        return Some(Allowance {
            limit: limit_field
                .and_then(first_number)
                .map(|n| n as u64)
                .or(policy.map(|p| p.0)),
            window: policy.map(|p| p.1),
            remaining: text("ratelimit-remaining")
                .and_then(first_number)
                .map(|n| n as u64),
            reset: text("ratelimit-reset")
                .and_then(first_number)
                .map(Duration::from_secs_f64),
            source: Source::Draft,
        });
    }
    let limit = text("x-ratelimit-limit").and_then(first_number);
    let remaining = text("x-ratelimit-remaining").and_then(first_number);
    let reset = text("x-ratelimit-reset")
        .and_then(first_number)
        .map(|n| delay_or_date(n, now_epoch))
        .or_else(|| {
            text("x-ratelimit-reset-after")
                .and_then(first_number)
                .map(Duration::from_secs_f64)
        });
    if limit.is_none() && remaining.is_none() && reset.is_none() {
        return None;
    }
    Some(Allowance {
        limit: limit.map(|n| n as u64),
        window: None,
        remaining: remaining.map(|n| n as u64),
        reset,
        source: Source::X,
    })
}

/// An `X-RateLimit-Reset`: seconds from now, or a date in seconds or milliseconds.
fn delay_or_date(value: f64, now_epoch: Duration) -> Duration {
    let now = now_epoch.as_secs_f64();
    let secs = if value >= EPOCH_MILLIS {
        value / 1000.0 - now
    } else if value >= EPOCH_SECONDS {
        value - now
    } else {
        value
    };
    Duration::from_secs_f64(secs.max(0.0))
}

/// The quota policies of a `RateLimit-Policy` (or an early draft's `RateLimit-Limit`): each
/// item's quota (its leading number, or its `q` parameter) and window (`w`, in seconds).
/// Items without a window are left out: a quota with no period paces nothing.
fn policies(field: &str) -> Vec<(u64, Duration)> {
    field
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let head = parts.next()?.trim();
            let mut quota = number(head);
            let mut window = None;
            for (key, value) in parts.filter_map(|p| p.split_once('=')) {
                match key.trim() {
                    "q" => quota = number(value),
                    "w" => window = number(value),
                    _ => {}
                }
            }
            let (quota, window) = (quota?, window?);
            (window > 0.0).then(|| (quota as u64, Duration::from_secs_f64(window)))
        })
        .collect()
}

/// The `key=value` parameters of a field, whether separated by `;` (structured fields) or `,`
/// (the draft between).
fn parameters(field: &str) -> impl Iterator<Item = (&str, &str)> {
    field
        .split([';', ','])
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
}

/// A non-negative number, quotes and spaces aside.
fn number(text: &str) -> Option<f64> {
    let n: f64 = text.trim().trim_matches('"').parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(n)
}

/// The first item of a list field, as a number: `10` of `10, 10;w=1`.
fn first_number(text: &str) -> Option<f64> {
    number(text.split([',', ';']).next()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    const NOW: Duration = Duration::from_secs(1_800_000_000);

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn secs(s: f64) -> Option<Duration> {
        Some(Duration::from_secs_f64(s))
    }

    #[test]
    fn the_drafts_fields_and_policy_are_read() {
        let a = read(
            &headers(&[
                ("ratelimit-limit", "300"),
                ("ratelimit-remaining", "12"),
                ("ratelimit-reset", "1"),
                ("ratelimit-policy", "300;w=1;burst=60, 10000;w=86400"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(
            (a.limit, a.window, a.remaining, a.reset, a.source),
            (Some(300), secs(1.0), Some(12), secs(1.0), Source::Draft)
        );
        let early = read(
            &headers(&[("ratelimit-limit", "10, 10;w=1, 1000;w=3600")]),
            NOW,
        );
        assert_eq!(early.unwrap().window, secs(1.0), "the shortest window");
    }

    #[test]
    fn the_structured_fields_and_the_draft_between_are_read() {
        let a = read(
            &headers(&[
                (
                    "ratelimit-policy",
                    "\"burst\";q=100;w=60, \"daily\";q=1000;w=86400",
                ),
                ("ratelimit", "\"burst\";r=0;t=30"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(
            (a.limit, a.window, a.remaining, a.reset, a.source),
            (
                Some(100),
                secs(60.0),
                Some(0),
                secs(30.0),
                Source::Structured
            )
        );
        let between = read(
            &headers(&[("ratelimit", "limit=300, remaining=7, reset=2")]),
            NOW,
        );
        let between = between.unwrap();
        assert_eq!(
            (between.limit, between.remaining, between.reset),
            (Some(300), Some(7), secs(2.0))
        );
    }

    #[test]
    fn an_x_reset_is_told_apart_as_a_delay_or_a_date() {
        let reset = |value: &str| {
            read(&headers(&[("x-ratelimit-reset", value)]), NOW)
                .unwrap()
                .reset
        };
        assert_eq!(reset("30"), secs(30.0), "seconds from now");
        assert_eq!(reset("86400"), secs(86400.0), "a day is still a delay");
        assert_eq!(reset("1800000045"), secs(45.0), "an epoch time in seconds");
        assert_eq!(reset("1800000002500"), secs(2.5), "in milliseconds");
        assert_eq!(reset("1700000000"), secs(0.0), "a date gone by");
        let a = read(
            &headers(&[
                ("x-ratelimit-limit", "5000"),
                ("x-ratelimit-remaining", "4999"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(
            (a.limit, a.remaining, a.window),
            (Some(5000), Some(4999), None)
        );
        assert_eq!(a.source, Source::X);
    }

    #[test]
    fn nothing_said_is_nothing_read() {
        assert_eq!(read(&headers(&[("retry-after", "1")]), NOW), None);
        let junk = read(&headers(&[("ratelimit-limit", "lots")]), NOW).unwrap();
        assert_eq!(junk.limit, None);
        assert!(policies("300;w=0, x;w=1, 5").is_empty());
    }
}
