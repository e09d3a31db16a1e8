//! Abuse protection: CSRF tokens on the forms, the client's address (believing
//! `X-Forwarded-For` only from configured proxies), a per-client upload rate limit, the optional
//! arithmetic captcha, and the security headers every response carries.
//!
//! Tokens are HMAC-SHA256 under `SECRET_KEY`: a CSRF token is the MAC of a random nonce kept in
//! a SameSite=Strict cookie (a cross-site page can neither read the cookie nor forge the MAC);
//! a captcha token is the MAC of the answer and an expiry time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use ipnet::IpNet;
use rand::Rng;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Cookie, CookieJar, Header, SameSite};
use rocket::{Request, Response};
use sha2::Sha256;

use super::error::Error;
use crate::config::AppConfig;

const CSRF_COOKIE: &str = "hamlet_csrf";
/// How long a captcha question may be answered.
const CAPTCHA_TTL: Duration = Duration::from_secs(30 * 60);

/// The protection settings and state, managed by Rocket.
pub(crate) struct Shield {
    key: Vec<u8>,
    /// `None`: every peer is a proxy that appends the client to X-Forwarded-For.
    trusted: Option<Vec<IpNet>>,
    limiter: RateLimiter,
    api_limiter: RateLimiter,
    pub captcha: bool,
    pub upload_max_bytes: u64,
    /// `HAMLET_ALLOWED_HOSTS` (with Heroku's app host); `None` answers any host.
    allowed_hosts: Option<Vec<String>>,
}

impl Shield {
    pub(crate) fn new(cfg: &AppConfig) -> Shield {
        let key = match &cfg.secret_key {
            Some(k) => k.expose().as_bytes().to_vec(),
            None => rand::thread_rng().gen::<[u8; 32]>().to_vec(),
        };
        Shield {
            key,
            trusted: cfg.trusted_proxy_nets().unwrap_or(Some(Vec::new())),
            limiter: RateLimiter::new(cfg.upload_rate_per_minute),
            api_limiter: RateLimiter::new(cfg.api_rate_per_minute),
            captcha: cfg.captcha,
            upload_max_bytes: cfg.upload_max_bytes,
            allowed_hosts: cfg.allowed_host_list(),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        for p in parts {
            mac.update(p);
            mac.update(b"\0");
        }
        mac
    }

    /// The CSRF token for this browser, setting its nonce cookie when it has none (a Secure
    /// cookie when the browser came over HTTPS).
    pub(crate) fn csrf_token(&self, jar: &CookieJar<'_>, https: bool) -> String {
        let nonce = match jar.get(CSRF_COOKIE) {
            Some(c) if is_nonce(c.value()) => c.value().to_string(),
            _ => {
                let nonce = hex::encode(rand::thread_rng().gen::<[u8; 16]>());
                jar.add(
                    Cookie::build((CSRF_COOKIE, nonce.clone()))
                        .path("/")
                        .http_only(true)
                        .same_site(SameSite::Strict)
                        .secure(https),
                );
                nonce
            }
        };
        hex::encode(
            self.mac(&[b"csrf", nonce.as_bytes()])
                .finalize()
                .into_bytes(),
        )
    }

    /// Checks a submitted CSRF token against this browser's cookie.
    pub(crate) fn check_csrf(&self, jar: &CookieJar<'_>, token: Option<&str>) -> Result<(), Error> {
        let refuse = || {
            Error::Forbidden(
                "this form has expired or was not sent from this site; reload the page and try again"
                    .into(),
            )
        };
        let nonce = jar.get(CSRF_COOKIE).map(|c| c.value().to_string());
        let (Some(nonce), Some(token)) = (nonce, token) else {
            return Err(refuse());
        };
        let token = hex::decode(token.trim()).map_err(|_| refuse())?;
        self.mac(&[b"csrf", nonce.as_bytes()])
            .verify_slice(&token)
            .map_err(|_| refuse())
    }

    /// A new captcha question and the token that carries its answer.
    pub(crate) fn captcha_question(&self) -> (String, String) {
        let mut rng = rand::thread_rng();
        let (a, b) = (rng.gen_range(2..10u32), rng.gen_range(2..10u32));
        const WORDS: [&str; 10] = [
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
        ];
        let question = format!(
            "What is {} plus {}? (Answer in digits.)",
            WORDS[a as usize], WORDS[b as usize]
        );
        let expires = unix_now() + CAPTCHA_TTL.as_secs();
        let answer = (a + b).to_string();
        let mac = self.mac(&[
            b"captcha",
            answer.as_bytes(),
            expires.to_string().as_bytes(),
        ]);
        (
            question,
            format!("{expires}.{}", hex::encode(mac.finalize().into_bytes())),
        )
    }

    /// Checks a captcha answer when the captcha is on.
    pub(crate) fn check_captcha(
        &self,
        answer: Option<&str>,
        token: Option<&str>,
    ) -> Result<(), Error> {
        if !self.captcha {
            return Ok(());
        }
        let wrong = || {
            Error::BadRequest(
                "the answer to the arithmetic question is wrong; try the new one".into(),
            )
        };
        let (Some(answer), Some(token)) = (answer, token) else {
            return Err(wrong());
        };
        let (expires, mac) = token.split_once('.').ok_or_else(wrong)?;
        let expires: u64 = expires.parse().map_err(|_| wrong())?;
        if expires < unix_now() {
            return Err(Error::BadRequest(
                "the arithmetic question has expired; answer the new one".into(),
            ));
        }
        let mac = hex::decode(mac).map_err(|_| wrong())?;
        let answer = answer
            .trim()
            .parse::<u32>()
            .map_err(|_| wrong())?
            .to_string();
        self.mac(&[
            b"captcha",
            answer.as_bytes(),
            expires.to_string().as_bytes(),
        ])
        .verify_slice(&mac)
        .map_err(|_| wrong())
    }

    /// Takes one upload from `client`'s allowance, or says when to come back.
    pub(crate) fn take_upload(&self, client: IpAddr) -> Result<(), Error> {
        self.limiter.take(client).map_err(Error::TooManyRequests)
    }

    /// Takes one JSON API text request from `client`'s allowance (`HAMLET_API_RATE_PER_MINUTE`,
    /// apart from uploads), or says when to come back.
    pub(crate) fn take_api_text(&self, client: IpAddr) -> Result<(), Error> {
        self.api_limiter
            .take(client)
            .map_err(Error::TooManyRequests)
    }

    /// Whether the client's request came over HTTPS: told by `X-Forwarded-Proto` from a
    /// trusted proxy (the server itself speaks plain HTTP behind the platform's router).
    pub(crate) fn is_https(&self, req: &Request<'_>) -> bool {
        let Some(peer) = req.remote().map(|r| r.ip()) else {
            return false;
        };
        let trusted = match &self.trusted {
            None => true,
            Some(nets) => nets.iter().any(|n| n.contains(&peer)),
        };
        trusted
            && req
                .headers()
                .get_one("X-Forwarded-Proto")
                .and_then(|v| v.split(',').next())
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }

    /// Whether the request's Host is one the site answers to.
    fn host_allowed(&self, req: &Request<'_>) -> bool {
        let Some(allowed) = &self.allowed_hosts else {
            return true;
        };
        // The header itself (Rocket's parsed `host()` is absent for some local requests).
        let Some(header) = req.headers().get_one("Host") else {
            return false;
        };
        let header = header.trim().to_ascii_lowercase();
        let name = match header.strip_prefix('[') {
            Some(v6) => format!("[{}]", v6.split(']').next().unwrap_or("")),
            None => header.split(':').next().unwrap_or("").to_string(),
        };
        let name = name.trim_end_matches('.');
        allowed.iter().any(|a| match a.strip_prefix('.') {
            Some(parent) => name == parent || name.ends_with(a.as_str()),
            None => name == a,
        })
    }

    /// The client's address: the peer, or when the peer is a trusted proxy, the nearest
    /// untrusted address in X-Forwarded-For.
    pub(crate) fn client_addr(&self, req: &Request<'_>) -> Option<IpAddr> {
        let peer = req.remote()?.ip();
        let forwarded: Vec<IpAddr> = req
            .headers()
            .get("X-Forwarded-For")
            .flat_map(|h| h.split(','))
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        Some(client_from(peer, &forwarded, self.trusted.as_deref()))
    }
}

/// The client given the peer and the X-Forwarded-For chain. With `trusted == None` (`*`) the
/// peer is one proxy and the last entry (the one it appended) is the client; with a list, the
/// chain is walked from the right past trusted addresses.
fn client_from(peer: IpAddr, forwarded: &[IpAddr], trusted: Option<&[IpNet]>) -> IpAddr {
    match trusted {
        None => forwarded.last().copied().unwrap_or(peer),
        Some(nets) => {
            let is_trusted = |ip: &IpAddr| nets.iter().any(|n| n.contains(ip));
            if !is_trusted(&peer) {
                return peer;
            }
            forwarded
                .iter()
                .rev()
                .find(|ip| !is_trusted(ip))
                .or(forwarded.first())
                .copied()
                .unwrap_or(peer)
        }
    }
}

fn is_nonce(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A token bucket per client: `per_minute` uploads at once, refilled continuously.
struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Ok, or Err(seconds until the next upload is allowed).
    fn take(&self, client: IpAddr) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 50_000 {
            // Forget clients whose bucket has refilled: they lose nothing.
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_sec < capacity
            });
        }
        let (tokens, at) = buckets.entry(client).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_sec).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / per_sec).ceil().max(1.0) as u64)
        }
    }
}

/// Security headers on every response. The pages use no inline script or style, so the
/// policy needs no 'unsafe-inline'. HSTS is added when the client came over HTTPS.
pub(crate) struct SecurityHeaders;

pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        res.set_header(Header::new(
            "Content-Security-Policy",
            CONTENT_SECURITY_POLICY,
        ));
        if req
            .rocket()
            .state::<Shield>()
            .is_some_and(|s| s.is_https(req))
        {
            res.set_header(Header::new(
                "Strict-Transport-Security",
                "max-age=31536000; includeSubDomains",
            ));
        }
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        res.set_header(Header::new("X-Frame-Options", "DENY"));
        res.set_header(Header::new("Referrer-Policy", "same-origin"));
    }
}

/// Answers 400 to a request for a host the site does not serve (`HAMLET_ALLOWED_HOSTS`), as
/// a protection against Host-header poisoning; health checks are exempt (probes use addresses).
pub(crate) struct HostCheck;

pub(crate) const BAD_HOST: &str = "/_hamlet/bad-host";

#[rocket::async_trait]
impl Fairing for HostCheck {
    fn info(&self) -> Info {
        Info {
            name: "allowed hosts",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut rocket::Data<'_>) {
        let Some(shield) = req.rocket().state::<Shield>() else {
            return;
        };
        if shield.host_allowed(req) || req.uri().path().starts_with("/health") {
            return;
        }
        tracing::warn!(host = ?req.headers().get_one("Host"), "request for a host this site does not serve");
        req.set_method(rocket::http::Method::Get);
        req.set_uri(rocket::http::uri::Origin::parse(BAD_HOST).expect("a valid path"));
    }
}

/// Where `HostCheck` sends requests for other hosts.
#[rocket::get("/_hamlet/bad-host")]
pub(crate) fn bad_host() -> Error {
    Error::BadRequest("this server does not answer for that host name".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let fwd = [ip("6.6.6.6"), ip("1.2.3.4"), ip("10.0.0.7")];
        let private: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // Untrusted peer: its own address, whatever it claims.
        assert_eq!(
            client_from(ip("9.9.9.9"), &fwd, Some(&private)),
            ip("9.9.9.9")
        );
        // Trusted peer: the nearest untrusted hop, not the forgeable first entry.
        assert_eq!(
            client_from(ip("10.0.0.1"), &fwd, Some(&private)),
            ip("1.2.3.4")
        );
        // No trusted proxies configured: the peer.
        assert_eq!(client_from(ip("10.0.0.1"), &fwd, Some(&[])), ip("10.0.0.1"));
        // `*`: one proxy hop, the entry it appended.
        assert_eq!(client_from(ip("10.0.0.1"), &fwd, None), ip("10.0.0.7"));
        assert_eq!(client_from(ip("10.0.0.1"), &[], None), ip("10.0.0.1"));
    }

    #[test]
    fn rate_limit_allows_a_burst_then_says_when() {
        let limiter = RateLimiter::new(3);
        let a = ip("1.1.1.1");
        for _ in 0..3 {
            assert!(limiter.take(a).is_ok());
        }
        let wait = limiter.take(a).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(limiter.take(ip("2.2.2.2")).is_ok(), "per client");
        assert!(RateLimiter::new(0).take(a).is_ok(), "0 turns it off");
    }

    #[test]
    fn captcha_tokens_check_the_answer() {
        let cfg = AppConfig {
            captcha: true,
            ..AppConfig::for_tests("sqlite://x")
        };
        let shield = Shield::new(&cfg);
        let (q, token) = shield.captcha_question();
        let words = [
            "two", "three", "four", "five", "six", "seven", "eight", "nine",
        ];
        let nums: Vec<u32> = q
            .split(|c: char| !c.is_alphabetic())
            .filter_map(|w| words.iter().position(|x| *x == w).map(|i| i as u32 + 2))
            .collect();
        let answer = (nums[0] + nums[1]).to_string();
        assert!(shield.check_captcha(Some(&answer), Some(&token)).is_ok());
        assert!(shield.check_captcha(Some("99"), Some(&token)).is_err());
        assert!(shield.check_captcha(Some(&answer), Some("1.00")).is_err());
        assert!(shield.check_captcha(None, None).is_err());
    }
}
