//! The wallet: keys kept only as Web3 Secret Storage keystores (scrypt +
//! AES-128-CTR), one file per address, unlocked by passphrase.
//!
//! Invariant: a private key or mnemonic is never written in clear, logged or
//! put into an error message; a keystore is written to a temporary name and
//! renamed, so a crash leaves the old wallet set intact.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::signers::local::coins_bip39::English;
use alloy::signers::local::{LocalSigner, MnemonicBuilder, PrivateKeySigner};

/// New passphrases must be at least this long.
pub const MIN_PASSPHRASE: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("the passphrase is wrong for wallet {0}")]
    WrongPassphrase(Address),
    #[error("no wallet {0} in {1}: create one with `familiar wallet new` or import one")]
    NotFound(String, String),
    #[error("no wallet yet: create one with `familiar wallet new` or `familiar wallet import`")]
    NoWallet,
    #[error("there are several wallets ({0}); name the one to use with --wallet")]
    Ambiguous(String),
    #[error("the passphrase must be at least {MIN_PASSPHRASE} characters")]
    WeakPassphrase,
    #[error("wallet {0} already exists")]
    Exists(Address),
    #[error("that is not a valid private key (64 hex digits)")]
    BadKey,
    #[error("that is not a valid mnemonic: {0}")]
    BadMnemonic(String),
    #[error("the keystore {0} is damaged: {1}")]
    Damaged(String, String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// The keystore folder.
#[derive(Debug, Clone)]
pub struct Wallets {
    dir: PathBuf,
}

impl Wallets {
    pub fn new(dir: impl Into<PathBuf>) -> Wallets {
        Wallets { dir: dir.into() }
    }

    /// Creates a wallet with a new random key.
    pub fn create(&self, passphrase: &str) -> Result<Address, WalletError> {
        self.store(PrivateKeySigner::random(), passphrase)
    }

    /// Imports a private key given as hex (with or without `0x`).
    pub fn import_key(&self, key_hex: &str, passphrase: &str) -> Result<Address, WalletError> {
        let signer: PrivateKeySigner = key_hex.trim().parse().map_err(|_| WalletError::BadKey)?;
        self.store(signer, passphrase)
    }

    /// Imports the account at `index` (BIP-44 path m/44'/60'/0'/0/index) of a BIP-39 mnemonic.
    pub fn import_mnemonic(&self, phrase: &str, index: u32, passphrase: &str) -> Result<Address, WalletError> {
        let signer = MnemonicBuilder::<English>::default()
            .phrase(phrase.trim())
            .index(index)
            .and_then(|b| b.build())
            .map_err(|e| WalletError::BadMnemonic(mnemonic_reason(&e.to_string())))?;
        self.store(signer, passphrase)
    }

    /// Every wallet's address, sorted.
    pub fn list(&self) -> Result<Vec<Address>, WalletError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(WalletError::Io(self.dir.display().to_string(), e)),
        };
        let mut out: Vec<Address> =
            entries.flatten().filter_map(|e| e.file_name().to_str()?.strip_suffix(".json")?.parse().ok()).collect();
        out.sort();
        Ok(out)
    }

    /// The wallet named by a full or partial address, or the only one.
    pub fn resolve(&self, query: Option<&str>) -> Result<Address, WalletError> {
        let all = self.list()?;
        let matches: Vec<Address> = match query {
            None => all,
            Some(q) => {
                let q = q.trim().trim_start_matches("0x").to_ascii_lowercase();
                all.into_iter().filter(|a| hex::encode(a.as_slice()).starts_with(&q)).collect()
            }
        };
        match (matches.as_slice(), query) {
            ([one], _) => Ok(*one),
            ([], None) => Err(WalletError::NoWallet),
            ([], Some(q)) => Err(WalletError::NotFound(q.to_owned(), self.dir.display().to_string())),
            (many, _) => Err(WalletError::Ambiguous(many.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "))),
        }
    }

    /// Decrypts a wallet's key.
    pub fn unlock(&self, address: Address, passphrase: &str) -> Result<PrivateKeySigner, WalletError> {
        let path = self.path(address);
        if !path.exists() {
            return Err(WalletError::NotFound(address.to_string(), self.dir.display().to_string()));
        }
        let signer = LocalSigner::decrypt_keystore(&path, passphrase).map_err(|e| {
            let text = e.to_string();
            if text.contains("Mac Mismatch") || text.contains("MacMismatch") {
                WalletError::WrongPassphrase(address)
            } else {
                WalletError::Damaged(path.display().to_string(), text)
            }
        })?;
        if signer.address() != address {
            return Err(WalletError::Damaged(path.display().to_string(), "it holds another address's key".into()));
        }
        Ok(signer)
    }

    pub fn path(&self, address: Address) -> PathBuf {
        self.dir.join(format!("{}.json", hex::encode(address.as_slice())))
    }

    fn store(&self, signer: PrivateKeySigner, passphrase: &str) -> Result<Address, WalletError> {
        if passphrase.chars().count() < MIN_PASSPHRASE {
            return Err(WalletError::WeakPassphrase);
        }
        let address = signer.address();
        let target = self.path(address);
        if target.exists() {
            return Err(WalletError::Exists(address));
        }
        let io = |e| WalletError::Io(self.dir.display().to_string(), e);
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let staging = tempfile::Builder::new().prefix(".new-").tempdir_in(&self.dir).map_err(io)?;
        let name = "keystore.json";
        LocalSigner::encrypt_keystore(
            staging.path(),
            &mut rand::thread_rng(),
            signer.credential().to_bytes(),
            passphrase,
            Some(name),
        )
        .map_err(|e| WalletError::Damaged(target.display().to_string(), e.to_string()))?;
        sync_and_rename(&staging.path().join(name), &target).map_err(io)?;
        Ok(address)
    }
}

fn sync_and_rename(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::File::open(from)?.sync_all()?;
    std::fs::rename(from, to)?;
    if let Some(dir) = to.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The mnemonic library's message, less anything that could echo the words.
fn mnemonic_reason(text: &str) -> String {
    if text.to_ascii_lowercase().contains("word") {
        "a word is not in the English BIP-39 list, or the checksum does not match".into()
    } else {
        "expected 12 or 24 English BIP-39 words".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANVIL_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const ANVIL_MNEMONIC: &str = "test test test test test test test test test test test junk";

    #[test]
    fn a_wallet_opens_only_with_its_passphrase_and_its_file_holds_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let wallets = Wallets::new(dir.path());
        let address = wallets.import_key(ANVIL_KEY, "correct horse").unwrap();
        assert_eq!(address.to_string(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let file = std::fs::read_to_string(wallets.path(address)).unwrap();
        assert!(!file.to_ascii_lowercase().contains(ANVIL_KEY));
        let before = file.clone();
        assert!(matches!(wallets.unlock(address, "wrong horse"), Err(WalletError::WrongPassphrase(a)) if a == address));
        assert_eq!(std::fs::read_to_string(wallets.path(address)).unwrap(), before, "keystore intact");
        assert_eq!(wallets.unlock(address, "correct horse").unwrap().address(), address);
    }

    #[test]
    fn a_mnemonic_gives_the_standard_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let wallets = Wallets::new(dir.path());
        let second = wallets.import_mnemonic(ANVIL_MNEMONIC, 1, "passphrase").unwrap();
        assert_eq!(second.to_string(), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        let err = wallets.import_mnemonic("test test banana", 0, "passphrase").unwrap_err().to_string();
        assert!(!err.contains("banana"), "{err}");
    }

    #[test]
    fn weak_passphrases_duplicates_and_bad_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let wallets = Wallets::new(dir.path());
        assert!(matches!(wallets.create("short"), Err(WalletError::WeakPassphrase)));
        assert!(matches!(wallets.import_key("0x1234", "passphrase"), Err(WalletError::BadKey)));
        wallets.import_key(ANVIL_KEY, "passphrase").unwrap();
        assert!(matches!(wallets.import_key(ANVIL_KEY, "passphrase"), Err(WalletError::Exists(_))));
        assert!(wallets.resolve(Some("f39f")).is_ok());
        assert!(matches!(wallets.resolve(Some("dead")), Err(WalletError::NotFound(..))));
    }
}
