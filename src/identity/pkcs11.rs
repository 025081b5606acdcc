//! Keys inside a PKCS#11 token (an HSM, a cloud HSM, SoftHSM2): the key never leaves the token.
//! The module is loaded at run time (nothing is linked), one logged-in session per identity
//! signs for every thread of a batch behind a mutex, and a session the token dropped (reset,
//! re-inserted, timed out) is opened again once before a signature fails (a token chosen by its
//! label is looked up again first: re-inserted, it may sit in another slot). See
//! [`Pkcs11Config`] for what a per-process login means for a second identity on a token.
//!
//! Digests are computed here and the token signs them with the plain mechanisms every token
//! has: `CKM_ECDSA` over SHA-256/384/512 (ES256/ES384/ES512), `CKM_RSA_PKCS_PSS` over SHA-256
//! (PS256) and `CKM_EDDSA` (Ed25519).

use std::fmt;
use std::path::PathBuf;

use super::secret::Secret;

/// Which token of the module holds the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSelector {
    /// The token's label, as `pkcs11-tool --list-token-slots` shows it.
    Label(String),
    /// The slot id the token sits in (slot ids of some modules change when tokens are added).
    Slot(u64),
}

impl fmt::Display for TokenSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSelector::Label(label) => write!(f, "token `{label}`"),
            TokenSelector::Slot(slot) => write!(f, "the token in slot {slot}"),
        }
    }
}

/// Which private key on the token signs: its label (`CKA_LABEL`), its id (`CKA_ID`) or both.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeySelector {
    pub label: Option<String>,
    pub id: Option<Vec<u8>>,
}

impl KeySelector {
    /// The key labelled `label`.
    pub fn label(label: impl Into<String>) -> Self {
        KeySelector {
            label: Some(label.into()),
            id: None,
        }
    }

    /// The key whose `CKA_ID` is `id` (`pkcs11-tool --id 01` is `[0x01]`).
    pub fn id(id: impl Into<Vec<u8>>) -> Self {
        KeySelector {
            label: None,
            id: Some(id.into()),
        }
    }

    /// A key id written in hex, as `pkcs11-tool --id` takes it: `01`, `a1b2`, `A1:B2` or
    /// `0x0102` (pairs of digits, either case, optionally separated by colons). `None` when it is
    /// not that.
    pub fn parse_id(text: &str) -> Option<Vec<u8>> {
        let text = text.trim();
        let text = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(text);
        let digits: Vec<u8> = text.bytes().filter(|b| *b != b':').collect();
        let hex = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
        if digits.is_empty()
            || !digits.len().is_multiple_of(2)
            || text.starts_with(':')
            || text.ends_with(':')
        {
            return None;
        }
        digits
            .chunks(2)
            .map(|pair| Some(hex(pair[0])? << 4 | hex(pair[1])?))
            .collect()
    }

    /// The key whose id is `hex` ([`KeySelector::parse_id`]); `None` when it is not hex.
    pub fn id_from_hex(hex: &str) -> Option<Self> {
        Self::parse_id(hex).map(Self::id)
    }
}

impl fmt::Display for KeySelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.label, &self.id) {
            (Some(label), Some(id)) => write!(f, "`{label}` (id {})", crate::hex::encode(id)),
            (Some(label), None) => write!(f, "`{label}`"),
            (None, Some(id)) => write!(f, "with id {}", crate::hex::encode(id)),
            (None, None) => f.write_str("(no label or id given)"),
        }
    }
}

/// Where a PKCS#11 key is and how to log in to its token. `Debug` never shows the PIN.
///
/// One logged-in session per identity signs for every thread: signatures through it are
/// serialised, which costs little (a token signs in about a millisecond, a stamp takes far
/// longer).
///
/// PKCS#11 keeps a login per process and token, not per session: once an identity of this
/// process has logged in to a token, another identity on the same token opens its session already
/// logged in, and **its PIN is not checked** (a wrong one is not noticed). Give every identity on
/// a token the same PIN, or check a PIN in a process of its own.
#[derive(Debug, Clone)]
pub struct Pkcs11Config {
    /// The module (shared library) of the token's vendor, e.g.
    /// `/usr/lib/softhsm/libsofthsm2.so`. A bare file name is looked up by the dynamic loader.
    pub module: PathBuf,
    pub token: TokenSelector,
    pub key: KeySelector,
    /// The user PIN; `None` for a token that needs no login or has its own PIN pad.
    pub pin: Option<Secret>,
}

impl Pkcs11Config {
    pub fn new(
        module: impl Into<PathBuf>,
        token: TokenSelector,
        key: KeySelector,
        pin: Option<Secret>,
    ) -> Self {
        Pkcs11Config {
            module: module.into(),
            token,
            key,
            pin,
        }
    }

    /// "PKCS#11 key `signer` on token `hsm` (/usr/lib/…/libsofthsm2.so)": for messages.
    pub fn describe(&self) -> String {
        format!(
            "PKCS#11 key {} on {} ({})",
            self.key,
            self.token,
            self.module.display()
        )
    }
}

#[cfg(feature = "pkcs11")]
pub(crate) use token::connect;

/// Without the `pkcs11` feature: the same entry point, refusing with what to do.
#[cfg(not(feature = "pkcs11"))]
pub(crate) fn connect(
    _config: &Pkcs11Config,
) -> Result<std::sync::Arc<dyn super::external::ExternalSigner>, super::error::IdentityError> {
    Err(super::error::IdentityError::Pkcs11 {
        reason:
            "this build of synthmark has no PKCS#11 support; build it with the `pkcs11` feature"
                .into(),
    })
}

#[cfg(feature = "pkcs11")]
mod token {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex, OnceLock, PoisonError};

    use c2pa::SigningAlg;
    use cryptoki::context::{CInitializeArgs, Pkcs11};
    use cryptoki::error::{Error as CkError, RvError};
    use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
    use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
    use cryptoki::mechanism::{Mechanism, MechanismType};
    use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
    use cryptoki::session::{Session, UserType};
    use cryptoki::slot::Slot;
    use cryptoki::types::AuthPin;
    use sha2::Digest as _;

    use crate::identity::error::IdentityError;
    use crate::identity::external::ExternalSigner;
    use crate::identity::pkcs11::{KeySelector, Pkcs11Config, TokenSelector};
    use crate::identity::secret::Secret;

    /// Opens the key `config` names: loads and initialises the module (once per process), finds
    /// the token and the key, and logs in.
    pub(crate) fn connect(config: &Pkcs11Config) -> Result<Arc<dyn ExternalSigner>, IdentityError> {
        let context = context(&config.module)?;
        let slot = find_slot(&context, &config.module, &config.token)?;
        let info = context
            .get_token_info(slot)
            .map_err(|e| failed(format!("cannot read the token's information: {e}")))?;
        let login = info.login_required();
        if login && config.pin.is_none() && !info.protected_authentication_path() {
            return Err(failed(format!(
                "{} needs a PIN to log in, and none was given",
                config.token
            )));
        }
        let key = Pkcs11Key {
            context,
            module: config.module.clone(),
            selector: config.token.clone(),
            slot: Mutex::new(slot),
            key: config.key.clone(),
            pin: config.pin.clone(),
            login,
            description: config.describe(),
            token: config.token.to_string(),
            open: Mutex::new(None),
        };
        let open = key.open()?;
        *key.open.lock().unwrap_or_else(PoisonError::into_inner) = Some(open);
        Ok(Arc::new(key))
    }

    fn failed(reason: String) -> IdentityError {
        IdentityError::Pkcs11 { reason }
    }

    /// The module's context, loaded and initialised once per process: a second `C_Initialize`
    /// fails, and a `C_Finalize` when one identity is dropped would end every other identity's
    /// sessions. Contexts live until the process exits.
    fn context(module: &Path) -> Result<Pkcs11, IdentityError> {
        static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
        let mut contexts = CONTEXTS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let canonical = std::fs::canonicalize(module).unwrap_or_else(|_| module.to_path_buf());
        if let Some(context) = contexts.get(&canonical) {
            return Ok(context.clone());
        }
        if module.components().count() > 1 && !module.exists() {
            return Err(failed(format!(
                "the module {} does not exist; give the path of the token vendor's PKCS#11 library",
                module.display()
            )));
        }
        let context = Pkcs11::new(&canonical)
            .map_err(|e| failed(format!("cannot load the module {}: {e}", module.display())))?;
        match context.initialize(CInitializeArgs::OsThreads) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => {
                return Err(failed(format!(
                    "cannot initialise the module {}: {e}",
                    module.display()
                )))
            }
        }
        contexts.insert(canonical, context.clone());
        Ok(context)
    }

    fn find_slot(
        context: &Pkcs11,
        module: &Path,
        token: &TokenSelector,
    ) -> Result<Slot, IdentityError> {
        let slots = context
            .get_slots_with_token()
            .map_err(|e| failed(format!("cannot list the module's tokens: {e}")))?;
        let mut seen = Vec::new();
        for slot in slots {
            let Ok(info) = context.get_token_info(slot) else {
                continue;
            };
            let matches = match token {
                TokenSelector::Label(label) => info.label() == label,
                TokenSelector::Slot(id) => slot.id() == *id,
            };
            if matches {
                return Ok(slot);
            }
            seen.push(format!("`{}` in slot {}", info.label(), slot.id()));
        }
        let tokens = if seen.is_empty() {
            "it has none".to_string()
        } else {
            format!("its tokens: {}", seen.join(", "))
        };
        Err(failed(format!(
            "{} has no {token}; {tokens}",
            module.display()
        )))
    }

    /// A logged-in session and the key's handle in it.
    struct Open {
        session: Session,
        key: ObjectHandle,
    }

    struct Pkcs11Key {
        context: Pkcs11,
        module: PathBuf,
        selector: TokenSelector,
        /// The token's slot: looked up again (by label) when a session is reopened, since a token
        /// that was removed and re-inserted may sit in another slot.
        slot: Mutex<Slot>,
        key: KeySelector,
        pin: Option<Secret>,
        /// Whether the token wants a login before its private keys can be used.
        login: bool,
        description: String,
        token: String,
        /// `None` after the token dropped the session: opened again on the next signature.
        open: Mutex<Option<Open>>,
    }

    impl Pkcs11Key {
        /// Opens a session again after the token dropped one: a token chosen by its label is
        /// looked up again first (re-inserted, it may sit in another slot).
        fn reopen(&self) -> Result<Open, IdentityError> {
            if let TokenSelector::Label(_) = self.selector {
                let slot = find_slot(&self.context, &self.module, &self.selector)?;
                *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = slot;
            }
            self.open()
        }

        fn open(&self) -> Result<Open, IdentityError> {
            let slot = *self.slot.lock().unwrap_or_else(PoisonError::into_inner);
            let session = self
                .context
                .open_ro_session(slot)
                .map_err(|e| failed(format!("cannot open a session on {}: {e}", self.token)))?;
            if self.login {
                let pin = self
                    .pin
                    .as_ref()
                    .map(|pin| AuthPin::new(pin.expose().to_string()));
                match session.login(UserType::User, pin.as_ref()) {
                    // The login of another session of this process (another identity on the
                    // same token) covers this one.
                    Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                    Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                        return Err(failed(format!(
                            "the PIN of {} is incorrect",
                            self.token
                        )))
                    }
                    Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                        return Err(failed(format!(
                            "the PIN of {} is locked (too many wrong tries); its security officer must unlock it",
                            self.token
                        )))
                    }
                    Err(CkError::Pkcs11(RvError::PinExpired, _)) => {
                        return Err(failed(format!(
                            "the PIN of {} has expired; set a new one",
                            self.token
                        )))
                    }
                    Err(e) => {
                        return Err(failed(format!(
                            "cannot log in to {}: {}",
                            self.token,
                            short(&e)
                        )))
                    }
                }
            }
            let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
            if let Some(label) = &self.key.label {
                template.push(Attribute::Label(label.as_bytes().to_vec()));
            }
            if let Some(id) = &self.key.id {
                template.push(Attribute::Id(id.clone()));
            }
            if template.len() == 1 {
                return Err(failed(
                    "no key label or id given: say which private key of the token signs".into(),
                ));
            }
            let found = session
                .find_objects(&template)
                .map_err(|e| failed(format!("cannot search {}: {}", self.token, short(&e))))?;
            match found.as_slice() {
                [key] => Ok(Open { session, key: *key }),
                [] => Err(failed(format!(
                    "{} has no private key {}; {}",
                    self.token,
                    self.key,
                    private_keys(&session)
                ))),
                many => Err(failed(format!(
                    "{} has {} private keys {}; choose one by its id as well",
                    self.token,
                    many.len(),
                    self.key
                ))),
            }
        }

        fn sign_once(
            &self,
            open: &Open,
            mechanism: &Mechanism,
            input: &[u8],
        ) -> Result<Vec<u8>, CkError> {
            open.session.sign(mechanism, open.key, input)
        }
    }

    impl ExternalSigner for Pkcs11Key {
        fn sign(&self, data: &[u8], alg: SigningAlg) -> Result<Vec<u8>, IdentityError> {
            let pss = |hash_alg, mgf, salt: usize| {
                Mechanism::RsaPkcsPss(PkcsPssParams {
                    hash_alg,
                    mgf,
                    s_len: (salt as std::ffi::c_ulong).into(),
                })
            };
            let (mechanism, input): (Mechanism, Vec<u8>) = match alg {
                SigningAlg::Es256 => (Mechanism::Ecdsa, sha2::Sha256::digest(data).to_vec()),
                SigningAlg::Es384 => (Mechanism::Ecdsa, sha2::Sha384::digest(data).to_vec()),
                SigningAlg::Es512 => (Mechanism::Ecdsa, sha2::Sha512::digest(data).to_vec()),
                SigningAlg::Ps256 => (
                    pss(MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, 32),
                    sha2::Sha256::digest(data).to_vec(),
                ),
                SigningAlg::Ps384 => (
                    pss(MechanismType::SHA384, PkcsMgfType::MGF1_SHA384, 48),
                    sha2::Sha384::digest(data).to_vec(),
                ),
                SigningAlg::Ps512 => (
                    pss(MechanismType::SHA512, PkcsMgfType::MGF1_SHA512, 64),
                    sha2::Sha512::digest(data).to_vec(),
                ),
                SigningAlg::Ed25519 => (
                    Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                    data.to_vec(),
                ),
                other => {
                    return Err(failed(format!(
                        "signing with {other} through PKCS#11 is not supported"
                    )))
                }
            };
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            for attempt in 0..2 {
                let current = match open.take() {
                    Some(current) => current,
                    None => self.reopen()?,
                };
                match self.sign_once(&current, &mechanism, &input) {
                    Ok(signature) => {
                        *open = Some(current);
                        return Ok(signature);
                    }
                    // The token dropped the session or the login: open a new one, once.
                    Err(CkError::Pkcs11(rv, _)) if attempt == 0 && stale(rv) => drop(current),
                    Err(e) => {
                        *open = Some(current);
                        return Err(failed(format!(
                            "{} cannot sign with {alg}: {}",
                            self.description,
                            short(&e)
                        )));
                    }
                }
            }
            Err(failed(format!("{} keeps dropping its session", self.token)))
        }

        fn describe(&self) -> String {
            self.description.clone()
        }
    }

    /// Errors after which a new session may succeed.
    fn stale(rv: RvError) -> bool {
        matches!(
            rv,
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
        )
    }

    /// A PKCS#11 error without the standard's paragraph-long explanations.
    fn short(error: &CkError) -> String {
        match error {
            CkError::Pkcs11(rv, function) => format!("{function} returned {rv:?}"),
            other => other.to_string(),
        }
    }

    /// The private keys a session can see, to say which exist when the one asked for does not.
    fn private_keys(session: &Session) -> String {
        let Ok(keys) = session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)]) else {
            return "its private keys cannot be listed".into();
        };
        let names: Vec<String> = keys
            .iter()
            .take(20)
            .filter_map(|key| {
                let attributes = session
                    .get_attributes(*key, &[AttributeType::Label, AttributeType::Id])
                    .ok()?;
                let mut label = None;
                let mut id = None;
                for attribute in attributes {
                    match attribute {
                        Attribute::Label(bytes) => {
                            label = Some(String::from_utf8_lossy(&bytes).into_owned())
                        }
                        Attribute::Id(bytes) => id = Some(bytes),
                        _ => {}
                    }
                }
                Some(KeySelector { label, id }.to_string())
            })
            .collect();
        if names.is_empty() {
            "it has none this login can use".into()
        } else {
            format!("its private keys: {}", names.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::KeySelector;

    #[test]
    fn key_ids_are_hex_with_optional_colons() {
        assert_eq!(KeySelector::parse_id("01"), Some(vec![1]));
        assert_eq!(KeySelector::parse_id("A1:b2"), Some(vec![0xa1, 0xb2]));
        assert_eq!(KeySelector::parse_id("0x0102"), Some(vec![1, 2]));
        assert_eq!(KeySelector::parse_id(" a1b2 "), Some(vec![0xa1, 0xb2]));
        for bad in ["", "1", "zz", "0g", "+1", ":01", "01:", "0x", "é1"] {
            assert_eq!(KeySelector::parse_id(bad), None, "{bad:?}");
        }
        assert_eq!(
            KeySelector::id_from_hex("21"),
            Some(KeySelector::id(vec![0x21]))
        );
    }
}
