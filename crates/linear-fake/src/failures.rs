//! Failure injection: scripted faults (`fail_next`) and seeded random faults (`set_failure_rate`).
//!
//! Faults are drawn only for requests that passed authentication and validation, so a test
//! that scripts "the next request fails" is not thrown off by a malformed request it sent on
//! purpose. A fault decides the whole HTTP answer; except for [`Failure::LostResponse`] (and
//! [`Failure::Delay`], which only slows the answer down) the request changes nothing.

use std::collections::VecDeque;
use std::time::Duration;

/// One way a request to Linear can go wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Linear's rate limiting: HTTP 400, `errors[0].extensions.code == "RATELIMITED"`,
    /// remaining budgets 0 and resets `reset_after_ms` from now.
    RateLimited { reset_after_ms: u64 },
    /// HTTP 429 (what the SDK also treats as rate limited); nothing applied.
    TooManyRequests,
    /// HTTP 500; nothing applied.
    ServerError,
    /// HTTP 200 with `errors[{message}]` and `data: null`; nothing applied.
    GraphqlError(String),
    /// HTTP 200 with a `FORBIDDEN` error (a permission the caller lacks, such as creating
    /// labels in a workspace that restricts label management to admins); nothing applied.
    Forbidden(String),
    /// The operation is applied, then the answer is lost (HTTP 502). This is the case that
    /// makes a naive retry of a create produce a duplicate.
    LostResponse,
    /// The request is answered normally, after this delay.
    Delay(Duration),
}

/// Scripted and random faults; lives inside the fake's state.
#[derive(Debug, Default)]
pub(crate) struct Injector {
    scripted: VecDeque<Scripted>,
    random: Option<RandomFaults>,
}

#[derive(Debug)]
struct Scripted {
    /// `None` matches any operation.
    operation: Option<String>,
    failure: Failure,
}

#[derive(Debug)]
struct RandomFaults {
    probability: f64,
    rng: SplitMix64,
    modes: Vec<Failure>,
}

impl Injector {
    pub(crate) fn fail_next(&mut self, n: usize, failure: Failure, operation: Option<&str>) {
        for _ in 0..n {
            self.scripted.push_back(Scripted { operation: operation.map(str::to_owned), failure: failure.clone() });
        }
    }

    pub(crate) fn set_rate(&mut self, probability: f64, seed: u64, modes: Vec<Failure>) {
        self.random = (probability > 0.0 && !modes.is_empty()).then(|| RandomFaults {
            probability: probability.min(1.0),
            rng: SplitMix64(seed),
            modes,
        });
    }

    pub(crate) fn clear(&mut self) {
        self.scripted.clear();
        self.random = None;
    }

    /// The fault for the next request of `operation`, if any. Scripted faults come first, in
    /// the order they were scripted; the first one whose operation matches is consumed.
    pub(crate) fn draw(&mut self, operation: Option<&str>) -> Option<Failure> {
        let matching = self.scripted.iter().position(|s| match &s.operation {
            None => true,
            Some(name) => Some(name.as_str()) == operation,
        });
        if let Some(index) = matching {
            return self.scripted.remove(index).map(|s| s.failure);
        }
        let random = self.random.as_mut()?;
        if random.rng.next_f64() >= random.probability {
            return None;
        }
        // `modes` is never empty (checked in `set_rate`); the modulo keeps the index in range.
        let index = (random.rng.next_u64() % random.modes.len() as u64) as usize;
        random.modes.get(index).cloned()
    }
}

/// SplitMix64: tiny, deterministic for a seed, good enough to spread faults over requests.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) from the top 53 bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_faults_are_consumed_in_order_and_by_operation() {
        let mut injector = Injector::default();
        injector.fail_next(1, Failure::ServerError, Some("CommentCreate"));
        injector.fail_next(2, Failure::TooManyRequests, None);
        assert_eq!(injector.draw(Some("Viewer")), Some(Failure::TooManyRequests));
        assert_eq!(injector.draw(Some("CommentCreate")), Some(Failure::ServerError));
        assert_eq!(injector.draw(Some("CommentCreate")), Some(Failure::TooManyRequests));
        assert_eq!(injector.draw(Some("CommentCreate")), None);
    }

    #[test]
    fn random_faults_are_deterministic_for_a_seed() {
        let draws = |seed| {
            let mut injector = Injector::default();
            injector.set_rate(0.5, seed, vec![Failure::ServerError, Failure::LostResponse]);
            (0..64).map(|_| injector.draw(None)).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        let faults = draws(7).into_iter().flatten().count();
        assert!((16..=48).contains(&faults), "{faults} faults out of 64 at p=0.5");
    }
}
