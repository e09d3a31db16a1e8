//! The one retry policy: waits that start at `first` and double up to 30 s, and the loop that
//! retries a step while its failure may be retried. Downloads, manifests, S3, the harvest and
//! start-up all use it.

use std::future::Future;
use std::time::Duration;

/// How often, and how patiently, a failed step is tried again.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Retries after the first attempt (`u32::MAX`: until it succeeds).
    pub retries: u32,
    /// The first wait; each later one doubles, up to 30 s.
    pub first: Duration,
}

impl Policy {
    /// The wait before retry number `attempt + 1`.
    pub fn wait(&self, attempt: u32) -> Duration {
        self.first
            .saturating_mul(1 << attempt.min(6))
            .min(Duration::from_secs(30))
    }

    /// Runs `step` until it succeeds, the retries are spent, or `retry` says a failure is not
    /// worth another try. `retry(&error, attempt, wait)` returns how long to wait (`wait`,
    /// or another delay such as a server's Retry-After), or `None` to give up; it is also where
    /// a retry is logged.
    pub async fn run<T, E, Fut>(
        &self,
        mut step: impl FnMut() -> Fut,
        mut retry: impl FnMut(&E, u32, Duration) -> Option<Duration>,
    ) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 0;
        loop {
            let e = match step().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if attempt >= self.retries {
                return Err(e);
            }
            let Some(wait) = retry(&e, attempt, self.wait(attempt)) else {
                return Err(e);
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_thirty_seconds() {
        let p = Policy {
            retries: 3,
            first: Duration::from_millis(500),
        };
        assert_eq!(p.wait(0), Duration::from_millis(500));
        assert_eq!(p.wait(1), Duration::from_secs(1));
        assert_eq!(p.wait(20), Duration::from_secs(30));
    }

    /// How many attempts `p` makes of a step that always fails, retrying while `retry` says.
    async fn attempts(p: Policy, retry: bool) -> u32 {
        let mut calls = 0;
        let r: Result<(), u32> = p
            .run(
                || {
                    calls += 1;
                    std::future::ready(Err(calls))
                },
                |_, _, wait| retry.then_some(wait),
            )
            .await;
        r.unwrap_err()
    }

    #[tokio::test]
    async fn retries_what_may_be_retried_and_no_more() {
        let p = Policy {
            retries: 2,
            first: Duration::from_millis(1),
        };
        assert_eq!(
            attempts(p, true).await,
            3,
            "the first attempt and two retries"
        );
        assert_eq!(
            attempts(p, false).await,
            1,
            "a failure not worth retrying ends it"
        );
    }
}
