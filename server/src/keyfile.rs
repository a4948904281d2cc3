//! Key files: one ed25519 key pair as JSON,
//! `{"secret_key": "<64 hex>", "public_key": "<64 hex>"}`, mode 0600.
//! Written by `carbon keygen` and by `carbon serve` for a development
//! genesis; read by `carbon submit` and by `carbon serve` (operator key).
//!
//! A key file that its group or others may access (any of the mode bits
//! 0o077) is exposed. Clients read one with a warning ([`read`]); the server
//! refuses to sign checkpoints with one ([`read_private`] with
//! [`Exposed::Refuse`]) unless told otherwise (`carbon serve
//! --allow-exposed-key`, for development).

use std::io::{Read as _, Write};
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

/// What to do with a key file its group or others may access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exposed {
    /// Log a warning and use it (clients; a server told to allow it).
    Warn,
    /// Refuse it (the server's operator key).
    Refuse,
}

/// Reads a key file; its public key, when present, must match the secret.
/// An exposed key file is used with a warning.
pub fn read(path: &Path) -> anyhow::Result<SigningKey> {
    read_private(path, Exposed::Warn)
}

/// Reads a key file, as [`read`], doing `exposed` with one that its group
/// or others may access. The mode checked is the mode of the file read
/// (taken from the open file, not looked up again by name).
pub fn read_private(path: &Path, exposed: Exposed) -> anyhow::Result<SigningKey> {
    let mut file = std::fs::File::open(path).with_context(|| format!("reading key file {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file
            .metadata()
            .with_context(|| format!("reading key file {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            let what = format!(
                "key file {} may be read by others than its owner (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            );
            match exposed {
                Exposed::Warn => tracing::warn!("{what}"),
                Exposed::Refuse => bail!("{what} (or, for development only, start with --allow-exposed-key)"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = exposed;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .with_context(|| format!("reading key file {}", path.display()))?;
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn key_file(dir: &Path, mode: u32) -> std::path::PathBuf {
        let path = dir.join(format!("op-{mode:o}.key"));
        write(&path, &SigningKey::from_bytes(&[7; 32])).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn written_key_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        write(&path, &SigningKey::from_bytes(&[7; 32])).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        read_private(&path, Exposed::Refuse).unwrap();
    }

    /// The server refuses an exposed key file; clients (and a server told
    /// to allow it) read it.
    #[test]
    fn an_exposed_key_file_is_refused_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
            let path = key_file(dir.path(), mode);
            let e = read_private(&path, Exposed::Refuse).expect_err("an exposed key file is refused");
            let e = format!("{e:#}");
            assert!(e.contains(&format!("mode {mode:o}")), "{e}");
            assert!(e.contains("chmod 600") && e.contains("--allow-exposed-key"), "{e}");
            let key = SigningKey::from_bytes(&[7; 32]);
            assert_eq!(read_private(&path, Exposed::Warn).unwrap().to_bytes(), key.to_bytes());
            assert_eq!(read(&path).unwrap().to_bytes(), key.to_bytes());
        }
        for mode in [0o600, 0o400] {
            read_private(&key_file(dir.path(), mode), Exposed::Refuse).unwrap();
        }
    }
}
