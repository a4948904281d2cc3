//! Starting a node: open the ledger in the data folder, or create one from
//! a genesis file or from a development genesis with fresh keys.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use carbon_ledger::audit::operator_key;
use carbon_ledger::checkpoint::validate_key_name;
use carbon_ledger::journal::Journal;
use carbon_ledger::market_day::parse_genesis;
use carbon_ledger::node::Node;
use carbon_proto::v1 as pb;
use ed25519_dalek::SigningKey;
use prost::Message;

use crate::keyfile;

/// The development genesis: the operator and three regulators.
pub const DEV_OPERATOR: &str = "ZJ-CEEX";
pub const DEV_REGULATORS: [(&str, &str); 3] = [("ZJ-DEE", "ZJ"), ("HZ-EEB", "HZ"), ("NB-EEB", "NB")];

/// Where the node came from, for the start-up message.
pub enum Origin {
    /// An existing ledger was opened.
    Opened,
    /// A new ledger from a genesis file.
    Created,
    /// A new development ledger; its secret keys were written to these files.
    Development(Vec<(String, PathBuf)>),
}

/// What `carbon serve` needs to start a node.
pub struct Config<'a> {
    pub data: &'a Path,
    pub genesis: Option<&'a Path>,
    pub operator_key: Option<&'a Path>,
    pub origin: &'a str,
    /// Use an operator key file that others may read (with a warning)
    /// instead of refusing it.
    pub allow_exposed_key: bool,
}

impl Config<'_> {
    /// Reads the operator's key file, refusing one that others may read
    /// unless allowed.
    fn read_operator_key(&self, path: &Path) -> anyhow::Result<SigningKey> {
        let exposed = if self.allow_exposed_key {
            keyfile::Exposed::Warn
        } else {
            keyfile::Exposed::Refuse
        };
        keyfile::read_private(path, exposed)
    }
}

/// The folder of key files inside the data folder.
pub fn keys_dir(data: &Path) -> PathBuf {
    data.join("keys")
}

/// True when `data` holds a sled database (a ledger, possibly empty).
fn holds_ledger(data: &Path) -> bool {
    data.join("db").exists()
}

/// Opens the ledger in `c.data`, or creates it; `progress` is told how far
/// the replay of an existing journal is, as `Node::open_with_progress` says.
pub fn start(c: &Config, progress: &mut dyn FnMut(u64, u64)) -> anyhow::Result<(Node, Origin)> {
    std::fs::create_dir_all(c.data).with_context(|| format!("creating data folder {}", c.data.display()))?;
    if holds_ledger(c.data) {
        if let Some(stored) = stored_genesis(c.data)? {
            return open(c, &stored, progress).map(|n| (n, Origin::Opened));
        }
        // A database without a genesis: a creation that never completed.
        tracing::warn!("{} holds an empty database; creating the ledger", c.data.display());
    }
    validate_key_name(c.origin).map_err(|e| anyhow::anyhow!("--origin: {e}"))?;
    match c.genesis {
        Some(file) => create_from_file(c, file).map(|n| (n, Origin::Created)),
        None => create_development(c),
    }
}

/// The genesis stored as entry 0, if any. Opens the database and closes it
/// again (sled joins its threads and releases its lock on drop).
fn stored_genesis(data: &Path) -> anyhow::Result<Option<pb::Genesis>> {
    let journal = Journal::open(data)?;
    let Some(raw) = journal.raw(0)? else {
        return Ok(None);
    };
    let entry = pb::JournalEntry::decode(raw.as_slice()).context("journal entry 0")?;
    match entry.input {
        Some(pb::journal_entry::Input::Genesis(g)) => Ok(Some(g)),
        _ => bail!("journal entry 0 of {} is not a genesis", data.display()),
    }
}

fn open(c: &Config, stored: &pb::Genesis, progress: &mut dyn FnMut(u64, u64)) -> anyhow::Result<Node> {
    if let Some(file) = c.genesis {
        let given = read_genesis(file, &stored.origin)?;
        if !same_parties(&given, stored) {
            bail!(
                "{} already holds a ledger with another genesis than {}",
                c.data.display(),
                file.display()
            );
        }
    }
    let key_path = c
        .operator_key
        .map(Path::to_path_buf)
        .unwrap_or_else(|| keys_dir(c.data).join(format!("{}.key", stored.operator)));
    let key = c
        .read_operator_key(&key_path)
        .with_context(|| format!("the operator key of {} (give it with --operator-key)", stored.operator))?;
    Ok(Node::open_with_progress(c.data, key, progress)?)
}

/// Operator, regulators and keys equal (the origin may differ: a genesis
/// file does not carry one).
fn same_parties(a: &pb::Genesis, b: &pb::Genesis) -> bool {
    a.operator == b.operator && a.operator_public_key == b.operator_public_key && a.regulators == b.regulators
}

/// A genesis file: one JSON object in the replay format, every key given.
fn read_genesis(file: &Path, origin: &str) -> anyhow::Result<pb::Genesis> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading genesis {}", file.display()))?;
    let g = parse_genesis(&text).map_err(|e| anyhow::anyhow!("{}: not a genesis: {e}", file.display()))?;
    let Some(op_key) = g.operator_public_key else {
        bail!("{}: operator_public_key is required", file.display());
    };
    let mut regulators = Vec::with_capacity(g.regulators.len());
    for (id, jurisdiction, key) in g.regulators {
        let Some(key) = key else {
            bail!("{}: regulator {id} needs a public_key", file.display());
        };
        regulators.push(pb::GenesisRegulator {
            id,
            jurisdiction,
            public_key: key.to_vec(),
        });
    }
    Ok(pb::Genesis {
        operator: g.operator,
        operator_public_key: op_key.to_vec(),
        regulators,
        origin: origin.to_string(),
    })
}

fn create_from_file(c: &Config, file: &Path) -> anyhow::Result<Node> {
    let genesis = read_genesis(file, c.origin)?;
    let Some(key_path) = c.operator_key else {
        bail!("--genesis needs --operator-key: the operator signs every checkpoint");
    };
    let key = c.read_operator_key(key_path)?;
    if operator_key(&genesis) != Some(key.verifying_key()) {
        bail!(
            "{} is not the key of operator {} named in {}",
            key_path.display(),
            genesis.operator,
            file.display()
        );
    }
    Ok(Node::create(c.data, genesis, key)?)
}

fn create_development(c: &Config) -> anyhow::Result<(Node, Origin)> {
    let dir = keys_dir(c.data);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let mut rng = rand::rngs::OsRng;
    let mut fresh = |id: &str| -> anyhow::Result<(SigningKey, PathBuf)> {
        let key = SigningKey::generate(&mut rng);
        let path = dir.join(format!("{id}.key"));
        keyfile::write(&path, &key)?;
        Ok((key, path))
    };
    let (op_key, op_path) = fresh(DEV_OPERATOR)?;
    let mut written = vec![(DEV_OPERATOR.to_string(), op_path)];
    let mut regulators = Vec::new();
    for (id, jurisdiction) in DEV_REGULATORS {
        let (key, path) = fresh(id)?;
        written.push((id.to_string(), path));
        regulators.push(pb::GenesisRegulator {
            id: id.into(),
            jurisdiction: jurisdiction.into(),
            public_key: key.verifying_key().to_bytes().to_vec(),
        });
    }
    let genesis = pb::Genesis {
        operator: DEV_OPERATOR.into(),
        operator_public_key: op_key.verifying_key().to_bytes().to_vec(),
        regulators,
        origin: c.origin.to_string(),
    };
    let node = Node::create(c.data, genesis, op_key)?;
    Ok((node, Origin::Development(written)))
}
