//! Who is asking: read credentials (`carbon_ledger::credential`,
//! docs/SIGNING.md) checked on the handler, never on the sequencer.
//!
//! A credential is taken when its account is known, its timestamp within
//! 60 s of the server's clock, its signature the account's key over this
//! ledger, this method and these request bytes, and it was not taken
//! before. The last check needs memory: the signatures taken in the last
//! two minutes are remembered (a credential older than that is stale
//! anyway), at most [`MAX_REMEMBERED`] of them; past that, new credentials
//! are refused with RESOURCE_EXHAUSTED rather than forgotten early, so that
//! a flood cannot make the server accept a replay.
//!
//! The request bytes are the request message as this server encodes it
//! again after decoding: protobuf's canonical encoding (fields in number
//! order, defaults left out), which is what every protobuf library writes.
//!
//! Denials: UNAUTHENTICATED for a missing or bad credential (with the
//! reason), PERMISSION_DENIED for a known caller the call is not for.
//! Who may call what is docs/ACCESS.md; each handler asks [`Caller`].
//!
//! Reads are also **budgeted** ([`ReadBudget`]): every read, public or not,
//! spends a token of its client address's bucket, and an authenticated one
//! also of its account's, so that a flood of reads cannot take the
//! sequencer's time from the market (RESOURCE_EXHAUSTED past them).

use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use carbon_ledger::command::Role;
use carbon_ledger::credential::{Credential, ACCOUNT_KEY, FRESHNESS_MS, SIGNATURE_KEY, TIMESTAMP_KEY};
use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

use crate::sequencer::KeyMap;

/// Most credentials remembered against replay.
pub const MAX_REMEMBERED: usize = 200_000;

/// Reads per second one client address may make, sustained, and in a burst.
pub const READS_PER_ADDRESS_PER_S: u32 = 2_000;
pub const READ_BURST_PER_ADDRESS: u32 = 4_000;
/// Reads per second one account may make, sustained, and in a burst.
pub const READS_PER_ACCOUNT_PER_S: u32 = 500;
pub const READ_BURST_PER_ACCOUNT: u32 = 1_000;
/// Buckets kept before idle ones are forgotten (a full bucket is the same
/// as none, so forgetting costs nothing).
const MAX_BUCKETS: usize = 100_000;

/// The account behind a call, as the ledger knows it.
#[derive(Clone, Debug)]
pub struct Caller {
    pub account: String,
    pub role: Role,
    /// `None` for the operator.
    pub jurisdiction: Option<String>,
    /// When the credential goes stale (Unix ms): a stream opened with it
    /// ends then.
    pub expires_ms: u64,
}

impl Caller {
    /// The operator, the provincial (`ZJ`) regulator and auditors read the
    /// whole market.
    pub fn sees_everything(&self) -> bool {
        matches!(self.role, Role::Operator | Role::Auditor)
            || (self.role == Role::Regulator && self.jurisdiction.as_deref() == Some("ZJ"))
    }

    /// True when the caller may see what concerns an account of
    /// `jurisdiction`: the whole market, or a city regulator's own city.
    pub fn governs(&self, jurisdiction: Option<&str>) -> bool {
        self.sees_everything()
            || (self.role == Role::Regulator && jurisdiction.is_some() && jurisdiction == self.jurisdiction.as_deref())
    }

    /// True when the caller may read what belongs to `account` (of
    /// `jurisdiction`): the account itself or one who governs it.
    pub fn may_read(&self, account: &str, jurisdiction: Option<&str>) -> bool {
        self.account == account || self.governs(jurisdiction)
    }

    /// Regulators, the operator and auditors: who watches the market.
    pub fn is_supervisor(&self) -> bool {
        matches!(self.role, Role::Regulator | Role::Operator | Role::Auditor)
    }

    /// PERMISSION_DENIED unless the caller is a regulator, the operator or an auditor.
    pub fn require_supervisor(&self, method: &str) -> Result<(), Status> {
        if self.is_supervisor() {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "{method} is for regulators, the operator and auditors; {} is {}",
                self.account,
                self.role.as_str()
            )))
        }
    }

    /// PERMISSION_DENIED naming the rule: `what` belongs to `owner`.
    pub fn denied(&self, what: &str, owner: &str) -> Status {
        Status::permission_denied(format!(
            "{what} of {owner} is for {owner} itself and its regulators; {} ({}) may not read it",
            self.account,
            self.role.as_str()
        ))
    }
}

/// Token buckets for reads, per client address and per account.
pub struct ReadBudget {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_account: DefaultKeyedRateLimiter<String>,
}

impl Default for ReadBudget {
    fn default() -> Self {
        let quota = |per_s: u32, burst: u32| {
            Quota::per_second(NonZeroU32::new(per_s).expect("positive"))
                .allow_burst(NonZeroU32::new(burst).expect("positive"))
        };
        ReadBudget {
            per_address: RateLimiter::keyed(quota(READS_PER_ADDRESS_PER_S, READ_BURST_PER_ADDRESS)),
            per_account: RateLimiter::keyed(quota(READS_PER_ACCOUNT_PER_S, READ_BURST_PER_ACCOUNT)),
        }
    }
}

impl ReadBudget {
    /// Spends one read of `address` (when known) and of `account` (when
    /// authenticated), or RESOURCE_EXHAUSTED.
    pub fn spend(&self, address: Option<IpAddr>, account: Option<&str>) -> Result<(), Status> {
        if self.per_address.len() > MAX_BUCKETS {
            self.per_address.retain_recent();
        }
        if self.per_account.len() > MAX_BUCKETS {
            self.per_account.retain_recent();
        }
        if let Some(ip) = address.map(crate::connections::client_key) {
            if self.per_address.check_key(&ip).is_err() {
                return Err(Status::resource_exhausted(format!(
                    "more than {READS_PER_ADDRESS_PER_S} reads a second from {ip}; slow down"
                )));
            }
        }
        if let Some(a) = account {
            if self.per_account.check_key(&a.to_string()).is_err() {
                return Err(Status::resource_exhausted(format!(
                    "more than {READS_PER_ACCOUNT_PER_S} reads a second by {a}; slow down"
                )));
            }
        }
        Ok(())
    }
}

/// Checks read credentials against the ledger's accounts, and spends reads.
pub struct Authenticator {
    keys: KeyMap,
    ledger_id: [u8; 32],
    remembered: Mutex<Remembered>,
    budget: ReadBudget,
}

/// Signatures taken recently, oldest first.
#[derive(Default)]
struct Remembered {
    set: HashSet<[u8; 64]>,
    by_age: VecDeque<(u64, [u8; 64])>,
}

/// The server's clock, Unix milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn unauthenticated(why: impl std::fmt::Display) -> Status {
    Status::unauthenticated(format!("read credential refused: {why}"))
}

impl Authenticator {
    pub fn new(keys: KeyMap, ledger_id: [u8; 32]) -> Self {
        Authenticator {
            keys,
            ledger_id,
            remembered: Mutex::default(),
            budget: ReadBudget::default(),
        }
    }

    /// The jurisdiction of an account the ledger knows (`Some(None)` for
    /// the operator), `None` for an unknown account.
    pub fn jurisdiction_of(&self, account: &str) -> Option<Option<String>> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.get(account).map(|m| m.jurisdiction.clone())
    }

    /// Whether `caller` may read `what` of `account` (the account itself or
    /// one who governs it): `Ok`, NOT_FOUND (`UNKNOWN_ACCOUNT`) for an
    /// unknown account asked by one who sees everything, else
    /// PERMISSION_DENIED (an unknown account is not revealed to others).
    pub fn require_reader(&self, caller: &Caller, account: &str, what: &str) -> Result<(), Status> {
        match self.jurisdiction_of(account) {
            Some(j) if caller.may_read(account, j.as_deref()) => Ok(()),
            None if caller.sees_everything() => Err(crate::service::rejection(
                carbon_ledger::code::Code::UnknownAccount,
                format!("no account {account:?}"),
            )),
            _ => Err(caller.denied(what, account)),
        }
    }

    /// The ledger's id, which credentials and commands are signed over.
    pub fn ledger_id(&self) -> [u8; 32] {
        self.ledger_id
    }

    /// The caller of `method` (its full name, `/carbon.v1.Service/Method`)
    /// with this request, or why not: for reads that need one.
    pub fn caller<T: prost::Message>(&self, request: &Request<T>, method: &str) -> Result<Caller, Status> {
        let address = request.remote_addr().map(|a| a.ip());
        self.budget.spend(address, None)?;
        let caller = self.check(request.metadata(), method, &request.get_ref().encode_to_vec(), now_ms())?;
        self.budget.spend(None, Some(&caller.account))?;
        Ok(caller)
    }

    /// For a public read: anyone may call, and a caller who sends a
    /// credential is checked (a bad one is refused) and may be shown more.
    pub fn public<T: prost::Message>(&self, request: &Request<T>, method: &str) -> Result<Option<Caller>, Status> {
        if request.metadata().get(SIGNATURE_KEY).is_none() {
            self.budget.spend(request.remote_addr().map(|a| a.ip()), None)?;
            return Ok(None);
        }
        self.caller(request, method).map(Some)
    }

    fn check(&self, md: &MetadataMap, method: &str, request: &[u8], now: u64) -> Result<Caller, Status> {
        let value = |k: &str| -> Result<&str, Status> {
            md.get(k)
                .ok_or_else(|| unauthenticated(format!("no {k} metadata (docs/SIGNING.md)")))?
                .to_str()
                .map_err(|_| unauthenticated(format!("{k} is not ASCII")))
        };
        let c = Credential::parse(value(ACCOUNT_KEY)?, value(TIMESTAMP_KEY)?, value(SIGNATURE_KEY)?)
            .map_err(unauthenticated)?;
        if !c.is_fresh(now) {
            return Err(unauthenticated(format!(
                "the timestamp is {} ms from the server's clock (at most {FRESHNESS_MS})",
                now.abs_diff(c.timestamp_ms)
            )));
        }
        let member = {
            let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
            keys.get(&c.account).cloned()
        };
        let member = member.ok_or_else(|| unauthenticated(format!("unknown account {}", c.account)))?;
        if !c.verify(&member.key, &self.ledger_id, method, request) {
            return Err(unauthenticated(format!(
                "the signature is not {}'s over this ledger, method and request",
                c.account
            )));
        }
        self.remember(c.signature, now)?;
        Ok(Caller {
            account: c.account,
            role: member.role,
            jurisdiction: member.jurisdiction,
            expires_ms: c.timestamp_ms + FRESHNESS_MS,
        })
    }

    /// Takes a signature once; a second time is a replay.
    fn remember(&self, signature: [u8; 64], now: u64) -> Result<(), Status> {
        let mut r = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        // A credential is fresh for FRESHNESS_MS either side of its
        // timestamp, so one taken now cannot be taken again after 2x that.
        while r
            .by_age
            .front()
            .is_some_and(|(at, _)| now.saturating_sub(*at) > 2 * FRESHNESS_MS)
        {
            let (_, old) = r.by_age.pop_front().expect("front exists");
            r.set.remove(&old);
        }
        if r.set.contains(&signature) {
            return Err(unauthenticated(
                "this credential was already used (sign each call anew)",
            ));
        }
        if r.set.len() >= MAX_REMEMBERED {
            return Err(Status::resource_exhausted(
                "too many reads in the last two minutes; retry later",
            ));
        }
        r.set.insert(signature);
        r.by_age.push_back((now, signature));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, RwLock};

    use ed25519_dalek::SigningKey;
    use tonic::metadata::MetadataValue;

    use super::*;
    use crate::sequencer::Member;

    const METHOD: &str = "/carbon.v1.Supervision/GetSupervision";
    const NOW: u64 = 1_800_000_000_000;

    fn authenticator(key: &SigningKey) -> Authenticator {
        let mut m = HashMap::new();
        m.insert(
            "HZ-EEB".to_string(),
            Member {
                key: key.verifying_key(),
                role: Role::Regulator,
                jurisdiction: Some("HZ".into()),
            },
        );
        Authenticator::new(Arc::new(RwLock::new(m)), [3; 32])
    }

    fn metadata(c: &Credential) -> MetadataMap {
        let mut md = MetadataMap::new();
        md.insert(ACCOUNT_KEY, MetadataValue::try_from(c.account.as_str()).unwrap());
        md.insert(TIMESTAMP_KEY, MetadataValue::from(c.timestamp_ms));
        md.insert(SIGNATURE_KEY, MetadataValue::try_from(c.signature_hex()).unwrap());
        md
    }

    fn code(r: Result<Caller, Status>) -> tonic::Code {
        r.map(|_| tonic::Code::Ok).unwrap_or_else(|s| s.code())
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let auth = authenticator(&key);
        let sign = |ts: u64, method: &str, req: &[u8]| Credential::sign(&key, "HZ-EEB", &[3; 32], method, ts, req);

        let good = sign(NOW, METHOD, b"r");
        let caller = auth.check(&metadata(&good), METHOD, b"r", NOW).unwrap();
        assert_eq!(caller.jurisdiction.as_deref(), Some("HZ"));
        assert_eq!(caller.expires_ms, NOW + FRESHNESS_MS);

        // The same credential again: a replay.
        let again = auth.check(&metadata(&good), METHOD, b"r", NOW + 1);
        assert!(again.unwrap_err().message().contains("already used"));

        // No credential at all.
        assert_eq!(
            code(auth.check(&MetadataMap::new(), METHOD, b"r", NOW)),
            tonic::Code::Unauthenticated
        );
        // Tampered request bytes, another method.
        let c = sign(NOW + 2, METHOD, b"r");
        assert_eq!(
            code(auth.check(&metadata(&c), METHOD, b"x", NOW)),
            tonic::Code::Unauthenticated
        );
        let c = sign(NOW + 3, METHOD, b"r");
        assert_eq!(
            code(auth.check(&metadata(&c), "/carbon.v1.Supervision/ListAlerts", b"r", NOW)),
            tonic::Code::Unauthenticated
        );
        // Stale and future timestamps, at the edge and one past it.
        let c = sign(NOW - FRESHNESS_MS, METHOD, b"r");
        assert!(auth.check(&metadata(&c), METHOD, b"r", NOW).is_ok());
        let c = sign(NOW - FRESHNESS_MS - 1, METHOD, b"r");
        assert!(auth
            .check(&metadata(&c), METHOD, b"r", NOW)
            .unwrap_err()
            .message()
            .contains("timestamp"));
        let c = sign(NOW + FRESHNESS_MS + 1, METHOD, b"r");
        assert!(auth
            .check(&metadata(&c), METHOD, b"r", NOW)
            .unwrap_err()
            .message()
            .contains("timestamp"));
        // A wrong key, an unknown account.
        let other = SigningKey::from_bytes(&[6; 32]);
        let c = Credential::sign(&other, "HZ-EEB", &[3; 32], METHOD, NOW + 4, b"r");
        assert!(auth
            .check(&metadata(&c), METHOD, b"r", NOW)
            .unwrap_err()
            .message()
            .contains("signature"));
        let c = Credential::sign(&key, "NB-EEB", &[3; 32], METHOD, NOW + 5, b"r");
        assert!(auth
            .check(&metadata(&c), METHOD, b"r", NOW)
            .unwrap_err()
            .message()
            .contains("unknown"));
        // Another ledger.
        let c = Credential::sign(&key, "HZ-EEB", &[4; 32], METHOD, NOW + 6, b"r");
        assert_eq!(
            code(auth.check(&metadata(&c), METHOD, b"r", NOW)),
            tonic::Code::Unauthenticated
        );
    }

    #[test]
    fn reads_past_a_bucket_are_refused_and_other_buckets_are_not() {
        let budget = ReadBudget::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        // The bucket refills while the loop runs: a burst and a little more
        // pass, then a read is refused (the refusal that ends the loop is
        // the one checked: a second attempt could find a token refilled).
        let taken = |spend: &dyn Fn() -> Result<(), Status>, burst: u32| {
            let mut n = 0u32;
            let refused = loop {
                match spend() {
                    Ok(()) if n < 2 * burst => n += 1,
                    Ok(()) => panic!("{n} reads passed a burst of {burst}"),
                    Err(status) => break status,
                }
            };
            assert!(n >= burst, "{n} reads passed a burst of {burst}");
            assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        };
        taken(&|| budget.spend(Some(a), None), READ_BURST_PER_ADDRESS);
        budget.spend(Some(b), None).unwrap();
        taken(&|| budget.spend(None, Some("HZ-EEB")), READ_BURST_PER_ACCOUNT);
        budget.spend(None, Some("NB-EEB")).unwrap();
    }

    #[test]
    fn remembered_signatures_are_forgotten_once_stale() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let auth = authenticator(&key);
        auth.remember([1; 64], NOW).unwrap();
        assert!(auth.remember([1; 64], NOW + 2 * FRESHNESS_MS).is_err());
        auth.remember([1; 64], NOW + 2 * FRESHNESS_MS + 1).unwrap();
        assert_eq!(auth.remembered.lock().unwrap().set.len(), 1);
    }
}
