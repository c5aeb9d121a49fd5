//! Failure injection: scripted (`fail_next`) and seeded random faults (`set_failure_rate`),
//! drawn only for requests that passed authentication and validation.

use std::collections::VecDeque;
use std::time::Duration;

/// One way a request to GitHub can go wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// HTTP 500 `{"message":"Server Error"}`; nothing applied.
    ServerError,
    /// HTTP 502 after the request was applied: the answer is lost.
    LostResponse,
    /// The request is applied, then the answer is held back this long (longer than the
    /// client's timeout, it times out not knowing).
    Timeout(Duration),
    /// A secondary rate limit: HTTP 403 with `retry-after: 1`; nothing applied.
    SecondaryRateLimit,
    /// The primary budget spent: HTTP 403, `x-ratelimit-remaining: 0`, reset in a second.
    RateLimited,
}

impl Failure {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Failure::ServerError => "server_error",
            Failure::LostResponse => "lost_response",
            Failure::Timeout(_) => "timeout",
            Failure::SecondaryRateLimit => "secondary_rate_limit",
            Failure::RateLimited => "rate_limited",
        }
    }

    /// Whether the request is applied before the fault.
    pub(crate) fn applies(&self) -> bool {
        matches!(self, Failure::LostResponse | Failure::Timeout(_))
    }
}

#[derive(Debug, Default)]
pub(crate) struct Injector {
    scripted: VecDeque<(Option<String>, Failure)>,
    random: Option<(f64, u64, Vec<Failure>)>,
}

impl Injector {
    /// `route` matches the start of "METHOD /path" (e.g. "POST /repos/acme/shop/pulls").
    pub(crate) fn fail_next(&mut self, n: usize, failure: Failure, route: Option<&str>) {
        for _ in 0..n {
            self.scripted.push_back((route.map(str::to_owned), failure.clone()));
        }
    }

    pub(crate) fn set_rate(&mut self, probability: f64, seed: u64, modes: Vec<Failure>) {
        self.random = (probability > 0.0 && !modes.is_empty()).then_some((probability.min(1.0), seed, modes));
    }

    pub(crate) fn clear(&mut self) {
        self.scripted.clear();
        self.random = None;
    }

    pub(crate) fn draw(&mut self, route: &str) -> Option<Failure> {
        if let Some(index) = self.scripted.iter().position(|(r, _)| r.as_deref().is_none_or(|r| route.starts_with(r))) {
            return self.scripted.remove(index).map(|(_, f)| f);
        }
        let (probability, state, modes) = self.random.as_mut()?;
        if (splitmix(state) >> 11) as f64 / (1u64 << 53) as f64 >= *probability {
            return None;
        }
        let index = (splitmix(state) % modes.len() as u64) as usize;
        modes.get(index).cloned()
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
