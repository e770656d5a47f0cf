//! `--concurrency`, `--max-concurrency` and `--rate`: how hard a run may press the API, the
//! same flags for every command that sends many requests, turned into [`ClientOptions`].

use crate::api::{ClientOptions, Concurrency};

/// How hard a bulk run may press the API: `--concurrency`, `--max-concurrency` and `--rate`,
/// shared by the commands that send many requests.
#[derive(Debug, Clone, clap::Args)]
pub struct Load {
    /// Requests in flight, exactly: the limit no longer adapts to the server.
    #[arg(long, value_name = "N", conflicts_with = "max_concurrency",
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: Option<u32>,

    /// The most requests in flight. By default the limit adapts: it starts at 4, grows while
    /// round trips stay flat, and shrinks when they climb or the server throttles.
    #[arg(long, value_name = "N", default_value_t = Concurrency::MAX as u32,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub max_concurrency: u32,

    /// Requests per second at most.
    #[arg(long, value_name = "N", value_parser = positive_rate)]
    pub rate: Option<f64>,
}

impl Load {
    /// The concurrency the flags ask for.
    pub fn concurrency(&self) -> Concurrency {
        match self.concurrency {
            Some(n) => Concurrency::Fixed(n as usize),
            None => Concurrency::Adaptive {
                initial: Concurrency::INITIAL,
                max: self.max_concurrency as usize,
            },
        }
    }

    /// The most requests that may ever be in flight, for sizing windows of work ahead.
    pub fn most_in_flight(&self) -> usize {
        self.concurrency().most()
    }

    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            concurrency: self.concurrency(),
            rate: self.rate,
            ..ClientOptions::default()
        }
    }
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a positive number of requests per second"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        load: Load,
    }

    fn parse(args: &[&str]) -> Result<Load, clap::Error> {
        Flags::try_parse_from(std::iter::once("x").chain(args.iter().copied())).map(|f| f.load)
    }

    #[test]
    fn flags_choose_adaptive_or_fixed() {
        let default = parse(&[]).unwrap();
        assert_eq!(
            default.concurrency(),
            Concurrency::Adaptive {
                initial: 4,
                max: 64
            }
        );
        let capped = parse(&["--max-concurrency", "12"]).unwrap();
        assert_eq!(capped.most_in_flight(), 12);
        let fixed = parse(&["--concurrency", "3", "--rate", "2.5"]).unwrap();
        assert_eq!(fixed.client_options().concurrency, Concurrency::Fixed(3));
        assert_eq!(fixed.client_options().rate, Some(2.5));
        assert!(parse(&["--concurrency", "3", "--max-concurrency", "9"]).is_err());
        assert!(parse(&["--concurrency", "0"]).is_err());
        assert!(parse(&["--rate", "0"]).is_err());
    }
}
