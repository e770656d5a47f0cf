//! The controller against simulated servers, in paused time (as vector's own scenario tests
//! run): a steady server, one with a capacity that queues, one with a rate limit that is then
//! lifted, and a fixed limit that must never move. Time is virtual, so a 30-second run takes
//! milliseconds and the figures are exact.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::{Concurrency, LoadReport, Pushback, Signal};
use crate::api::throttle::Throttle;

/// A server as the sandbox plays it: a rate limit per wall-clock second that answers 429 at
/// once, then a capacity (requests served at once), then a latency with optional jitter.
struct Server {
    latency: Duration,
    /// Up to this fraction of the latency more, drawn per request.
    jitter: f64,
    capacity: Option<Semaphore>,
    /// Requests per second; 0 is none. Can be changed while the scenario runs.
    rate_limit: AtomicU32,
    window: Mutex<(u64, u32)>,
    started: Instant,
    seed: AtomicU64,
}

impl Server {
    fn new(latency_ms: u64) -> Server {
        Server {
            latency: Duration::from_millis(latency_ms),
            jitter: 0.0,
            capacity: None,
            rate_limit: AtomicU32::new(0),
            window: Mutex::new((0, 0)),
            started: Instant::now(),
            seed: AtomicU64::new(7),
        }
    }

    fn capacity(mut self, places: usize) -> Server {
        self.capacity = Some(Semaphore::new(places));
        self
    }

    fn jitter(mut self, fraction: f64) -> Server {
        self.jitter = fraction;
        self
    }

    fn rate_limit(self, per_second: u32) -> Server {
        self.rate_limit.store(per_second, Ordering::Relaxed);
        self
    }

    /// A uniform draw in [0, 1) from a linear congruential generator: reproducible.
    fn draw(&self) -> f64 {
        let next = self
            .seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_mul(6_364_136_223_846_793_005);
        (next >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Serves one request: true when it was answered, false for a 429.
    async fn call(&self) -> bool {
        let limit = self.rate_limit.load(Ordering::Relaxed);
        if limit > 0 {
            let second = self.started.elapsed().as_secs();
            let mut window = self.window.lock().unwrap();
            if window.0 != second {
                *window = (second, 0);
            }
            window.1 += 1;
            if window.1 > limit {
                return false;
            }
        }
        let _place = match &self.capacity {
            Some(capacity) => Some(capacity.acquire().await.unwrap()),
            None => None,
        };
        let delay = self.latency.mul_f64(1.0 + self.jitter * self.draw());
        tokio::time::sleep(delay).await;
        true
    }
}

/// What a scenario measured.
#[derive(Debug)]
struct Run {
    answered: u64,
    throttled: u64,
    report: LoadReport,
    /// The limit every 100 ms.
    limits: Vec<usize>,
}

/// Workers that always have a request to send, as an import does, for `duration`. A 429
/// pauses every request for a second, as the client does with `Retry-After: 1`.
async fn drive(throttle: &Arc<Throttle>, server: &Arc<Server>, duration: Duration) -> Run {
    let answered = Arc::new(AtomicU64::new(0));
    let throttled = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..throttle.report().highest.max(80) {
        let (throttle, server) = (throttle.clone(), server.clone());
        let (answered, throttled, stop) = (answered.clone(), throttled.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let slot = throttle.slot().await;
                let started = Instant::now();
                if server.call().await {
                    slot.finish(Signal::Answered(started.elapsed()));
                    answered.fetch_add(1, Ordering::Relaxed);
                } else {
                    slot.finish(Signal::Pushback(Pushback::Throttled(429)));
                    throttled.fetch_add(1, Ordering::Relaxed);
                    throttle.pause(Duration::from_secs(1));
                }
            }
        }));
    }
    let mut limits = Vec::new();
    let end = Instant::now() + duration;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
        limits.push(throttle.limit());
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    Run {
        answered: answered.load(Ordering::Relaxed),
        throttled: throttled.load(Ordering::Relaxed),
        report: throttle.report(),
        limits,
    }
}

fn adaptive(max: usize) -> Arc<Throttle> {
    Arc::new(Throttle::new(
        Concurrency::Adaptive {
            initial: Concurrency::INITIAL,
            max,
        },
        None,
    ))
}

#[tokio::test(start_paused = true)]
async fn a_steady_server_lets_the_limit_grow_to_its_cap() {
    for jitter in [0.0, 0.5] {
        let server = Arc::new(Server::new(50).jitter(jitter));
        let run = drive(&adaptive(24), &server, Duration::from_secs(10)).await;
        assert_eq!(run.report.limit, 24, "jitter {jitter}: {run:?}");
        assert_eq!(run.report.lowest, Concurrency::INITIAL, "never lowered");
        // One step per round trip: 20 steps of about 50 ms reach the cap within 2 seconds.
        assert!(
            run.limits[20..].iter().all(|l| *l == 24),
            "{:?}",
            run.limits
        );
    }
}

#[tokio::test(start_paused = true)]
async fn slow_start_doubles_from_the_first_wave_back() {
    // 30 ms a request: the first wave of 4 is the first round trip, so the limit doubles at
    // about 30, 60 and 90 ms, where waiting out the first window's 100 ms left it at 4.
    let server = Arc::new(Server::new(30));
    let run = drive(&adaptive(64), &server, Duration::from_millis(100)).await;
    assert!(run.limits[0] >= 16, "{run:?}");
}

#[tokio::test(start_paused = true)]
async fn a_saturated_server_holds_the_limit_near_its_capacity() {
    let server = Arc::new(Server::new(40).capacity(16));
    let run = drive(&adaptive(64), &server, Duration::from_secs(30)).await;
    let report = &run.report;
    assert!(
        (16..=22).contains(&report.settled),
        "settled near the 16 places: {report:?}"
    );
    assert!(
        report.highest <= 32,
        "slow start stops within twice the capacity: {report:?}"
    );
    // The bound is 16 / 0.04 s = 400 requests a second.
    let rate = run.answered as f64 / 30.0;
    assert!(rate >= 0.9 * 400.0, "{rate} requests/s");
    let median = report.median_ms.unwrap();
    assert!(
        median <= 1.5 * 40.0,
        "queueing stays small: median {median} ms"
    );
    assert!(report.baseline_ms.unwrap() < 41.0);
}

/// `n` answers of 20 ms, one after another, at `per_second`.
async fn answer(throttle: &Throttle, n: u32, per_second: f64) {
    for _ in 0..n {
        let slot = throttle.slot().await;
        tokio::time::advance(Duration::from_secs_f64(1.0 / per_second)).await;
        slot.finish(Signal::Answered(Duration::from_millis(20)));
    }
}

/// A 429 while other requests are in flight, judged (as the client's often is) on an answer
/// that comes during the pause it began: one answer closes a window just before the 429, so
/// the 429 alone does not.
async fn throttled(throttle: &Throttle) {
    let (closer, judge) = (throttle.slot().await, throttle.slot().await);
    let refused = throttle.slot().await;
    tokio::time::advance(Duration::from_millis(25)).await;
    closer.finish(Signal::Answered(Duration::from_millis(20)));
    refused.finish(Signal::Pushback(Pushback::Throttled(429)));
    throttle.pause(Duration::from_secs(1));
    tokio::time::advance(Duration::from_millis(30)).await;
    judge.finish(Signal::Answered(Duration::from_millis(20)));
}

#[tokio::test(start_paused = true)]
async fn a_rate_is_read_from_the_end_of_the_pause_before() {
    // 300 answers a second at 20 ms each: 6 in flight. The second throttle's rate counts the
    // two seconds since the first pause ended, not the pause too (200/s: 4 in flight).
    let throttle = Throttle::new(Concurrency::default(), None);
    throttle.open_at(64);
    answer(&throttle, 300, 300.0).await;
    throttled(&throttle).await;
    assert_eq!(throttle.limit(), 6, "300/s × 20 ms");
    answer(&throttle, 600, 300.0).await;
    throttled(&throttle).await;
    assert_eq!(
        throttle.limit(),
        5,
        "a cut of 10%, not a rate read over the pause"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rate_limited_server_is_met_with_few_refusals() {
    // 270 requests a second at 20 ms each allow 5 in flight (250/s), not 6 (300/s).
    let server = Arc::new(Server::new(20).rate_limit(270));
    let run = drive(&adaptive(32), &server, Duration::from_secs(120)).await;
    let share = run.throttled as f64 / (run.answered + run.throttled) as f64;
    assert!(share <= 0.02, "few requests refused: {share} {run:?}");
    let rate = run.answered as f64 / 120.0;
    assert!(rate >= 0.85 * 270.0, "{rate} requests/s: {run:?}");
    assert!(run.report.settled <= 6, "{:?}", run.report);
}

#[tokio::test(start_paused = true)]
async fn a_throttling_server_is_backed_off_from_and_then_recovered() {
    let server = Arc::new(Server::new(20));
    let throttle = adaptive(32);
    let healthy = drive(&throttle, &server, Duration::from_secs(5)).await;
    assert_eq!(healthy.report.limit, 32);

    server.rate_limit.store(220, Ordering::Relaxed);
    let throttled = drive(&throttle, &server, Duration::from_secs(30)).await;
    assert!(throttled.throttled > 0);
    let tail = &throttled.limits[throttled.limits.len() - 50..];
    assert!(tail.iter().all(|l| *l <= 6), "backed off: {tail:?}");

    server.rate_limit.store(0, Ordering::Relaxed);
    let free = drive(&throttle, &server, Duration::from_secs(45)).await;
    assert_eq!(free.throttled, 0);
    assert_eq!(free.report.limit, 32, "recovered: {:?}", free.limits);
}

#[tokio::test(start_paused = true)]
async fn a_fixed_limit_never_moves() {
    let server = Arc::new(Server::new(40).capacity(4).rate_limit(80));
    let throttle = Arc::new(Throttle::new(Concurrency::Fixed(8), None));
    let run = drive(&throttle, &server, Duration::from_secs(10)).await;
    assert!(run.throttled > 0, "the server pushed back: {run:?}");
    assert!(run.limits.iter().all(|l| *l == 8), "{:?}", run.limits);
    let report = &run.report;
    assert_eq!(
        (
            report.changes,
            report.lowest,
            report.highest,
            report.settled
        ),
        (0, 8, 8, 8)
    );
    assert!(!report.adaptive);
    assert!(report.median_ms.unwrap() > 40.0, "still measured");
}

/// A run of reads opened at [`Concurrency::READS`], as export's pager opens one.
fn opened_wide() -> Arc<Throttle> {
    let throttle = adaptive(64);
    throttle.open_at(Concurrency::READS);
    throttle
}

#[tokio::test(start_paused = true)]
async fn reads_opened_wide_find_a_smaller_server_in_one_cut() {
    for (places, jitter) in [(4, 0.0), (4, 0.5), (16, 0.0), (16, 1.0)] {
        let server = Arc::new(Server::new(40).jitter(jitter).capacity(places));
        let throttle = opened_wide();
        assert_eq!(throttle.limit(), Concurrency::READS);
        let run = drive(&throttle, &server, Duration::from_secs(10)).await;
        let report = &run.report;
        // The first wave of answers is the server's pace, not the queue behind it: without
        // it, 32 against 4 places took an 80 ms baseline and settled at twice the places.
        let unloaded = 40.0 * (1.0 + jitter / 2.0);
        assert!(
            report.baseline_ms.unwrap() <= unloaded * 1.1,
            "{places} places, jitter {jitter}: {report:?}"
        );
        // One cut to at most the places (Little's law) within the first second, not twenty
        // of 10%, then growth one step a round trip to the places and a little past them.
        let high = places + places / 2;
        assert!(
            run.limits[..10].iter().any(|l| *l <= places)
                && run.limits[20..].iter().all(|l| (places..=high).contains(l)),
            "{places} places, jitter {jitter}: {:?}",
            run.limits
        );
        let bound = places as f64 / (unloaded / 1000.0);
        let rate = run.answered as f64 / 10.0;
        assert!(rate >= 0.9 * bound, "{places} places: {rate} requests/s");
    }
}

#[tokio::test(start_paused = true)]
async fn reads_opened_wide_keep_a_larger_server_busy() {
    let server = Arc::new(Server::new(40).capacity(32));
    let run = drive(&opened_wide(), &server, Duration::from_secs(10)).await;
    assert!(
        run.limits.iter().all(|l| *l >= 30),
        "never far below the 32 places: {:?}",
        run.limits
    );
    assert!((32..=40).contains(&run.report.settled), "{:?}", run.report);
    let server = Arc::new(Server::new(40).jitter(1.0));
    let run = drive(&opened_wide(), &server, Duration::from_secs(5)).await;
    assert_eq!(run.report.limit, 64, "grows to the cap: {:?}", run.limits);
}

#[tokio::test(start_paused = true)]
async fn only_an_adaptive_limit_that_never_moved_opens_wide() {
    let fixed = Throttle::new(Concurrency::Fixed(8), None);
    fixed.open_at(Concurrency::READS);
    assert_eq!(fixed.limit(), 8);
    let capped = Throttle::new(
        Concurrency::Adaptive {
            initial: 4,
            max: 12,
        },
        None,
    );
    capped.open_at(Concurrency::READS);
    assert_eq!(capped.limit(), 12, "never past the cap");
    let server = Arc::new(Server::new(40).capacity(4));
    let moved = adaptive(64);
    drive(&moved, &server, Duration::from_secs(2)).await;
    let before = moved.limit();
    moved.open_at(Concurrency::READS);
    assert_eq!(
        moved.limit(),
        before,
        "a limit that has learnt the server keeps it"
    );
}
