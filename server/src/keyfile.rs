//! Key files: one ed25519 key pair as JSON,
//! `{"secret_key": "<64 hex>", "public_key": "<64 hex>"}`, mode 0600.
//! Written by `carbon keygen` and by `carbon serve` for a development
//! genesis; read by `carbon submit` and by `carbon serve` (operator key).

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use carbon_ledger::keys::parse_key_hex;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

/// The JSON form of a key file.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    secret_key: String,
    #[serde(default)]
    public_key: Option<String>,
}

/// The key file text of `key`.
pub fn to_json(key: &SigningKey) -> String {
    let f = KeyFile {
        secret_key: hex::encode(key.to_bytes()),
        public_key: Some(hex::encode(key.verifying_key().to_bytes())),
    };
    serde_json::to_string_pretty(&f).expect("a key file serializes") + "\n"
}

/// Writes `key` to a new file at `path` (never overwrites), readable by its
/// owner only.
pub fn write(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating key file {}", path.display()))?;
    f.write_all(to_json(key).as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Reads a key file; its public key, when present, must match the secret.
pub fn read(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading key file {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "key file {} is readable by others (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            );
        }
    }
    let f: KeyFile = serde_json::from_str(&text).with_context(|| format!("{} is not a key file", path.display()))?;
    let Some(secret) = parse_key_hex(&f.secret_key) else {
        bail!("{}: secret_key is not 64 hex digits", path.display());
    };
    let key = SigningKey::from_bytes(&secret);
    if let Some(p) = &f.public_key {
        if parse_key_hex(p) != Some(key.verifying_key().to_bytes()) {
            bail!("{}: public_key does not belong to secret_key", path.display());
        }
    }
    Ok(key)
}
