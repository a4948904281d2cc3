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

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use carbon_ledger::command::Role;
use carbon_ledger::credential::{Credential, ACCOUNT_KEY, FRESHNESS_MS, SIGNATURE_KEY, TIMESTAMP_KEY};
use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

use crate::sequencer::KeyMap;

/// Most credentials remembered against replay.
pub const MAX_REMEMBERED: usize = 200_000;

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
    /// The operator and the provincial (`ZJ`) regulator see the whole market.
    pub fn sees_everything(&self) -> bool {
        self.role == Role::Operator || (self.role == Role::Regulator && self.jurisdiction.as_deref() == Some("ZJ"))
    }

    /// True when the caller may see what concerns an account of
    /// `jurisdiction`: the whole market, or a city regulator's own city.
    pub fn governs(&self, jurisdiction: Option<&str>) -> bool {
        self.sees_everything()
            || (self.role == Role::Regulator && jurisdiction.is_some() && jurisdiction == self.jurisdiction.as_deref())
    }

    /// PERMISSION_DENIED unless the caller is a regulator or the operator.
    pub fn require_supervisor(&self, method: &str) -> Result<(), Status> {
        match self.role {
            Role::Regulator | Role::Operator => Ok(()),
            other => Err(Status::permission_denied(format!(
                "{method} is for regulators and the operator; {} is {}",
                self.account,
                other.as_str()
            ))),
        }
    }
}

/// Checks read credentials against the ledger's accounts.
pub struct Authenticator {
    keys: KeyMap,
    ledger_id: [u8; 32],
    remembered: Mutex<Remembered>,
}

/// Signatures taken recently, oldest first.
#[derive(Default)]
struct Remembered {
    set: HashSet<[u8; 64]>,
    by_age: VecDeque<(u64, [u8; 64])>,
}

fn now_ms() -> u64 {
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
        }
    }

    /// The caller of `method` (its full name, `/carbon.v1.Service/Method`)
    /// with this request, or why not.
    pub fn caller<T: prost::Message>(&self, request: &Request<T>, method: &str) -> Result<Caller, Status> {
        self.check(request.metadata(), method, &request.get_ref().encode_to_vec(), now_ms())
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
    fn remembered_signatures_are_forgotten_once_stale() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let auth = authenticator(&key);
        auth.remember([1; 64], NOW).unwrap();
        assert!(auth.remember([1; 64], NOW + 2 * FRESHNESS_MS).is_err());
        auth.remember([1; 64], NOW + 2 * FRESHNESS_MS + 1).unwrap();
        assert_eq!(auth.remembered.lock().unwrap().set.len(), 1);
    }
}
