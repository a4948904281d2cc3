//! Client commands: `carbon keygen` and `carbon submit`.
//!
//! `carbon submit --key FILE --server URL --actor ID [--nonce N] '{json}'`
//! turns a market-day line (REPLAY.md; `"as"` optional, `--actor` wins)
//! into a `Command`, signs it exactly as docs/SIGNING.md says and sends it.
//! The nonce defaults to the current Unix time in microseconds: strictly
//! increasing for a person typing commands, and never below a nonce used
//! earlier from the same account by this tool. Scripts that send faster than
//! one command per microsecond, or that share an account between machines
//! with unsynchronised clocks, should pass `--nonce` themselves.

pub(crate) use carbon_server::keyfile;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context};
use carbon_ledger::market_day::{parse_line, Line};
use carbon_ledger::replay::sign_command;
use carbon_proto::v1 as pb;
use carbon_server::LEADER_METADATA;
use ed25519_dalek::SigningKey;
use prost::Message;
use serde_json::{json, Value};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

/// `--ca FILE`: the TLS option every client command shares (with `--server`).
#[derive(clap::Args, Clone, Default)]
pub struct Tls {
    /// A CA certificate (PEM) to trust for a TLS server, instead of the
    /// system's roots. With it, a server given as host:port is reached over
    /// https; an https:// server without it is checked against the system's roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

/// `host:port` or a URL as tonic wants it: https when a CA is given.
pub fn server_url(server: &str, tls: &Tls) -> String {
    if server.contains("://") {
        server.to_string()
    } else if tls.ca.is_some() {
        format!("https://{server}")
    } else {
        format!("http://{server}")
    }
}

/// Connects to `server` (`host:port` or an http:// or https:// URL), over
/// TLS for https:// (trusting `--ca` if given, else the system's roots).
/// A replicated ledger's members may be given separated by commas: the
/// first that answers is used (every member serves reads; writes go
/// through [`submit_anywhere`], which follows the leader).
pub async fn channel(server: &str, tls: &Tls) -> anyhow::Result<Channel> {
    let mut last = None;
    for one in server.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match channel_to(one, tls).await {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| anyhow!("--server names no server")))
}

async fn channel_to(server: &str, tls: &Tls) -> anyhow::Result<Channel> {
    let url = server_url(server, tls);
    let https = url.starts_with("https://");
    if tls.ca.is_some() && !https {
        bail!("--ca is for a TLS server: give it as https://... or host:port, not {url}");
    }
    let mut endpoint = Channel::from_shared(url.clone()).with_context(|| format!("not a server URL: {url}"))?;
    if https {
        let config = match &tls.ca {
            Some(file) => ClientTlsConfig::new().ca_certificate(read_pem(file)?),
            None => ClientTlsConfig::new().with_native_roots(),
        };
        endpoint = endpoint.tls_config(config).context("the TLS configuration")?;
    }
    endpoint.connect().await.with_context(|| format!("connecting to {url}"))
}

fn read_pem(file: &Path) -> anyhow::Result<Certificate> {
    let pem = std::fs::read(file).with_context(|| format!("reading the CA certificate {}", file.display()))?;
    Ok(Certificate::from_pem(pem))
}

/// Arguments of `carbon keygen`.
#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Write the key file here (mode 0600, never overwritten) and print the
    /// public key; without it the key file is printed on stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Arguments of `carbon submit`.
#[derive(clap::Args)]
pub struct SubmitArgs {
    /// The actor's key file (from `carbon keygen`).
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The server's URL; for a replicated ledger, its members' addresses
    /// separated by commas (the command goes to the leader).
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub(crate) server: String,
    #[command(flatten)]
    pub(crate) tls: Tls,
    /// The account that issues the command (overrides "as" in the JSON).
    #[arg(long)]
    pub(crate) actor: Option<String>,
    /// The nonce; default: the current Unix time in microseconds.
    #[arg(long)]
    pub(crate) nonce: Option<u64>,
    /// The command as a market-day JSON line, e.g.
    /// '{"cmd":"transfer","instrument":"ZJEA-2025","to":"NB-POWER","qty":100}'.
    pub(crate) command: String,
}

pub fn keygen(a: KeygenArgs) -> anyhow::Result<()> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    match &a.out {
        Some(path) => {
            keyfile::write(path, &key)?;
            println!("{}", hex::encode(key.verifying_key().to_bytes()));
            eprintln!("wrote {}", path.display());
        }
        None => print!("{}", keyfile::to_json(&key)),
    }
    Ok(())
}

pub fn submit(a: SubmitArgs) -> anyhow::Result<()> {
    let key = keyfile::read(&a.key)?;
    let command = build_command(&a.command, a.actor.as_deref(), a.nonce.unwrap_or_else(now_micros))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let answer = runtime.block_on(submit_anywhere(&a.server, &a.tls, &key, &command))?;
    let nonce = command.nonce.unwrap_or_default();
    match answer {
        Ok(r) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&result_json(&r.into_inner(), nonce))?
            );
            Ok(())
        }
        Err(status) => {
            let rejection = pb::Rejection::decode(status.details())
                .ok()
                .filter(|r| !r.code.is_empty());
            match rejection {
                Some(r) => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&json!({
                            "ok": false,
                            "nonce": nonce,
                            "code": r.code,
                            "message": r.message,
                            "status": format!("{:?}", status.code()),
                        }))?
                    );
                    bail!("rejected: {}", r.code)
                }
                None => bail!("the server answered {:?}: {}", status.code(), status.message()),
            }
        }
    }
}

/// Most servers `submit_anywhere` tries before it gives up.
const SUBMIT_ATTEMPTS: usize = 12;

/// Signs `command` once and sends it to the first of `servers` (a comma
/// separated list: the members of a replicated ledger) that takes it. A
/// member that is not the leader names the leader (`x-carbon-leader`),
/// which is tried next; a member that cannot be reached, or whose answer
/// was lost to a change of leader, is passed over and the *same* envelope
/// goes to another: a command is applied at most once (a second
/// application is `REPLAYED`). Returns the first real answer: a result or
/// a rejection.
pub async fn submit_anywhere(
    servers: &str,
    tls: &Tls,
    key: &SigningKey,
    command: &pb::Command,
) -> anyhow::Result<Result<tonic::Response<pb::CommandResult>, tonic::Status>> {
    let members: Vec<String> = servers
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if members.is_empty() {
        bail!("--server names no server");
    }
    let mut next: std::collections::VecDeque<String> = members.iter().cloned().collect();
    let mut envelope = None;
    let mut last_error = None;
    for attempt in 0..SUBMIT_ATTEMPTS {
        let server = next
            .pop_front()
            .unwrap_or_else(|| members[attempt % members.len()].clone());
        let mut client = match channel(&server, tls).await {
            Ok(c) => crate::grpc::ledger(c),
            Err(e) => {
                last_error = Some(e);
                continue;
            }
        };
        let env = match &envelope {
            Some(env) => env,
            // A signature is bound to one ledger: ask the server which.
            None => match ledger_id(&mut client).await {
                Ok(id) => envelope.insert(sign_command(key, &id, command)),
                Err(e) => {
                    last_error = Some(e);
                    continue;
                }
            },
        };
        match client.submit(env.clone()).await {
            Err(status) if status.code() == tonic::Code::Unavailable => {
                match status.metadata().get(LEADER_METADATA).and_then(|v| v.to_str().ok()) {
                    Some(leader) => next.push_front(leader.to_string()),
                    // No leader yet (an election), or an answer lost to one.
                    None => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
                }
                last_error = Some(anyhow!("{server}: {}", status.message()));
            }
            answer => return Ok(answer),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow!("no server took the command")))
        .context(format!("after {SUBMIT_ATTEMPTS} attempts"))
}

/// The server's ledger id (public, in its checkpoint): what command
/// signatures and read credentials are bound to.
pub async fn ledger_id(client: &mut pb::ledger_client::LedgerClient<Channel>) -> anyhow::Result<[u8; 32]> {
    let cp = client
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .context("asking the server for its ledger id")?
        .into_inner();
    cp.ledger_id
        .as_slice()
        .try_into()
        .map_err(|_| anyhow!("the server sent no ledger id; is it an older version?"))
}

/// An account that signs its reads with a read credential (docs/SIGNING.md):
/// the ledger's id comes from the server's public checkpoint.
pub struct Reader {
    key: SigningKey,
    account: String,
    ledger_id: [u8; 32],
    /// The last timestamp signed: the server takes each credential once, so
    /// two identical reads in one millisecond need distinct timestamps.
    last_ms: std::sync::atomic::AtomicU64,
}

impl Reader {
    /// Reads `account`'s key file and asks the server for its ledger id.
    pub async fn new(channel: Channel, key_file: &Path, account: &str) -> anyhow::Result<Reader> {
        Reader::with_key(channel, keyfile::read(key_file)?, account).await
    }

    /// `account` with its key; asks the server for its ledger id.
    pub async fn with_key(channel: Channel, key: SigningKey, account: &str) -> anyhow::Result<Reader> {
        let ledger_id = ledger_id(&mut crate::grpc::ledger(channel)).await?;
        Ok(Reader::for_ledger(key, account, ledger_id))
    }

    /// `account` with its key, reading the ledger `ledger_id` (known
    /// already: `carbon bench` makes a reader per enterprise).
    pub fn for_ledger(key: SigningKey, account: &str, ledger_id: [u8; 32]) -> Reader {
        Reader {
            key,
            account: account.to_string(),
            ledger_id,
            last_ms: Default::default(),
        }
    }

    /// The account that signs.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// `message` as a request of `method` (`/carbon.v1.Service/Method`),
    /// with a fresh credential.
    pub fn request<T: Message>(&self, method: &str, message: T) -> tonic::Request<T> {
        let clock = now_micros() / 1000;
        let order = std::sync::atomic::Ordering::SeqCst;
        let last = self
            .last_ms
            .fetch_update(order, order, |l| Some(clock.max(l + 1)))
            .expect("the update always succeeds");
        let now_ms = clock.max(last + 1);
        let c = carbon_ledger::credential::Credential::sign(
            &self.key,
            &self.account,
            &self.ledger_id,
            method,
            now_ms,
            &message.encode_to_vec(),
        );
        let mut request = tonic::Request::new(message);
        let md = request.metadata_mut();
        let ascii = |s: String| s.parse().expect("ids, digits and hex are ASCII");
        md.insert(carbon_ledger::credential::ACCOUNT_KEY, ascii(c.account.clone()));
        md.insert(
            carbon_ledger::credential::TIMESTAMP_KEY,
            ascii(c.timestamp_ms.to_string()),
        );
        md.insert(carbon_ledger::credential::SIGNATURE_KEY, ascii(c.signature_hex()));
        request
    }
}

/// The current Unix time in microseconds.
fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// A market-day line as a `Command` of `actor` with `nonce`.
fn build_command(text: &str, actor: Option<&str>, nonce: u64) -> anyhow::Result<pb::Command> {
    let mut v: Value = serde_json::from_str(text).context("the command is not JSON")?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| anyhow!("the command is not a JSON object"))?;
    match actor {
        Some(id) => {
            obj.insert("as".into(), Value::String(id.into()));
        }
        None if !obj.contains_key("as") => bail!("say who issues the command: --actor ID"),
        None => {}
    }
    match parse_line(&v.to_string()) {
        Line::Command { actor, body, .. } => Ok(pb::Command {
            actor: Some(actor),
            nonce: Some(nonce),
            body: Some(body),
        }),
        Line::Rejected(code) => bail!("the command was not sent: {code}"),
    }
}

/// An accepted command's answer as JSON.
fn result_json(r: &pb::CommandResult, nonce: u64) -> Value {
    let o = r.outcome.clone().unwrap_or_default();
    let mut v = json!({
        "ok": o.ok,
        "seq": r.seq,
        "nonce": nonce,
        "events": o.events.iter().map(event_json).collect::<Vec<_>>(),
    });
    if let Some(order) = &o.order {
        v["order"] = json!({"status": order.status, "filled": order.filled});
    }
    v
}

fn event_json(e: &pb::Event) -> Value {
    use pb::event::Kind;
    match &e.kind {
        Some(Kind::Trade(t)) => json!({"trade": {
            "date": t.date, "mode": t.mode, "instrument": t.instrument, "price": t.price,
            "qty": t.qty, "buyer": t.buyer, "buy_id": t.buy_id, "seller": t.seller,
            "sell_id": t.sell_id,
        }}),
        Some(Kind::Day(d)) => json!({"day": {
            "date": d.date, "instrument": d.instrument, "reference": d.reference,
            "open": d.open, "high": d.high, "low": d.low, "close": d.close,
            "volume": d.volume, "turnover": d.turnover, "block_volume": d.block_volume,
            "auction_volume": d.auction_volume,
        }}),
        Some(Kind::Compliance(c)) => json!({"compliance": {
            "year": c.year, "entity": c.entity, "status": c.status,
            "obligation": c.obligation, "surrendered": c.surrendered,
            "shortfall": c.shortfall, "penalty_min": c.penalty_min,
            "penalty_max": c.penalty_max, "energy_obligation": c.energy_obligation,
            "energy_surrendered": c.energy_surrendered, "energy_shortfall": c.energy_shortfall,
            "energy_penalty_min": c.energy_penalty_min, "energy_penalty_max": c.energy_penalty_max,
        }}),
        Some(Kind::Alert(a)) => json!({ "alert": carbon_ledger::report::alert_json(a) }),
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_flag_overrides_as() {
        let c = build_command(r#"{"as":"X","cmd":"freeze","account":"Y"}"#, Some("HZ-EEB"), 7).unwrap();
        assert_eq!(c.actor.as_deref(), Some("HZ-EEB"));
        assert_eq!(c.nonce, Some(7));
        assert!(matches!(c.body, Some(pb::command::Body::Freeze(_))));
    }

    #[test]
    fn a_command_needs_an_actor_and_a_known_cmd() {
        assert!(build_command(r#"{"cmd":"freeze","account":"Y"}"#, None, 1).is_err());
        assert!(build_command(r#"{"cmd":"teleport"}"#, Some("A"), 1).is_err());
        assert!(build_command("[1]", Some("A"), 1).is_err());
    }
}
