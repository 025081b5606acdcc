//! Keys inside a PKCS#11 token, end to end with real components: a key generated inside a real
//! SoftHSM2 token and never exported signs through the `synthmark` binary, for every supported
//! algorithm, and the output checks `labelled-ai` / `trusted` in `synthmark check` and in
//! c2pa-python. A wrong PIN, label or key fails at startup without showing the PIN.
//!
//! SoftHSM2 (`softhsm2`), `pkcs11-tool` (`opensc`) and c2pa-python are skipped with a note when
//! missing, and fail the test under `CI=true` (see `common::needed`).

mod common;

#[cfg(unix)]
use common::signers::chmod;
use common::signers::{
    assert_trusted, c2pa_python, files_in, inputs, path_str, write, SoftHsm, TestCa, PIN,
    TOKEN_LABEL,
};
use common::{image_bytes, stderr, synthmark_env};
use synthmark::Format;

#[test]
fn a_key_generated_inside_softhsm_signs_credentials_trusted_by_synthmark_and_c2pa_python() {
    let Some(hsm) = SoftHsm::new() else { return };
    let home = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let public = hsm.generate("EC:prime256v1", "c2pa-signer", "01");
    let listing = hsm.tool(&[
        "--login",
        "--pin",
        PIN,
        "--list-objects",
        "--type",
        "privkey",
    ]);
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("never extractable") && listing.contains("sensitive"),
        "the private key must be generated inside the token and never leave it:\n{listing}"
    );
    let chain = home.path().join("chain.pem");
    let ca_pem = home.path().join("ca.pem");
    write(&chain, ca.certify(&public, "synthmark PKCS#11 test signer"));
    write(&ca_pem, &ca.pem);
    let pin_file = home.path().join("pin");
    write(&pin_file, format!("{PIN}\n"));
    chmod(&pin_file, 0o600);

    let inputs = inputs(home.path(), 8);
    let out = home.path().join("out");
    let conf = hsm.conf();
    let env = [("SOFTHSM2_CONF", conf.as_str())];
    let pkcs11 = [
        "--cert",
        path_str(&chain),
        "--pkcs11-module",
        path_str(&hsm.module),
        "--pkcs11-token",
        TOKEN_LABEL,
    ];
    let mut args = vec!["stamp", "-j", "4", "--no-registry", "--out", path_str(&out)];
    args.extend(pkcs11);
    args.extend([
        "--pkcs11-key-label",
        "c2pa-signer",
        "--pkcs11-pin-file",
        path_str(&pin_file),
        path_str(&inputs),
    ]);
    let stamped = synthmark_env(home.path(), &args, &env);
    assert_eq!(stamped.status.code(), Some(0), "{}", stderr(&stamped));
    assert!(!stderr(&stamped).contains(PIN), "{}", stderr(&stamped));
    assert!(
        !stderr(&stamped).contains("DEVELOPMENT"),
        "{}",
        stderr(&stamped)
    );
    assert_eq!(assert_trusted(home.path(), &ca_pem, &out), 8);

    // The PIN from the environment, the key by its id.
    let by_id = home.path().join("by-id");
    let mut args = vec!["stamp", "--no-registry", "--out", path_str(&by_id)];
    args.extend(pkcs11);
    let one = inputs.join("image-1.jpg");
    args.extend(["--pkcs11-key-id", "01", path_str(&one)]);
    let env_pin = [
        ("SOFTHSM2_CONF", conf.as_str()),
        ("SYNTHMARK_PKCS11_PIN", PIN),
    ];
    let stamped = synthmark_env(home.path(), &args, &env_pin);
    assert_eq!(stamped.status.code(), Some(0), "{}", stderr(&stamped));
    assert_eq!(assert_trusted(home.path(), &ca_pem, &by_id), 1);

    // A wrong PIN and a wrong label fail at startup, saying what is wrong and never the PIN.
    let failed = home.path().join("failed");
    let mut args = vec!["stamp", "--no-registry", "--out", path_str(&failed)];
    args.extend(pkcs11);
    args.extend(["--pkcs11-key-label", "c2pa-signer", path_str(&one)]);
    let wrong_pin = synthmark_env(
        home.path(),
        &args,
        &[
            ("SOFTHSM2_CONF", conf.as_str()),
            ("SYNTHMARK_PKCS11_PIN", "999999"),
        ],
    );
    assert_eq!(wrong_pin.status.code(), Some(2), "{}", stderr(&wrong_pin));
    let err = stderr(&wrong_pin);
    assert!(err.contains("PIN") && err.contains("incorrect"), "{err}");
    assert!(!err.contains("999999"), "{err}");
    let no_pin = synthmark_env(home.path(), &args, &env);
    assert_eq!(no_pin.status.code(), Some(2));
    assert!(
        stderr(&no_pin).contains("SYNTHMARK_PKCS11_PIN"),
        "{}",
        stderr(&no_pin)
    );

    let mut args = vec!["stamp", "--no-registry", "--out", path_str(&failed)];
    args.extend(pkcs11);
    args.extend(["--pkcs11-key-label", "nope", path_str(&one)]);
    let wrong_label = synthmark_env(home.path(), &args, &env_pin);
    assert_eq!(wrong_label.status.code(), Some(2));
    let err = stderr(&wrong_label);
    assert!(
        err.contains("no private key `nope`") && err.contains("`c2pa-signer` (id 01)"),
        "{err}"
    );
    assert!(files_in(&failed).is_empty());

    // A key on the token that is not the certificate's is caught by the probe signature.
    hsm.generate("EC:prime256v1", "other-key", "02");
    let mut args = vec!["stamp", "--no-registry", "--out", path_str(&failed)];
    args.extend(pkcs11);
    args.extend(["--pkcs11-key-label", "other-key", path_str(&one)]);
    let mismatch = synthmark_env(home.path(), &args, &env_pin);
    assert_eq!(mismatch.status.code(), Some(2));
    assert!(
        stderr(&mismatch).contains("does not belong to the signing certificate"),
        "{}",
        stderr(&mismatch)
    );

    // An independent reader agrees.
    let first = out.join("image-0.png");
    let second = out.join("image-1.jpg");
    if let Some(report) = c2pa_python(&ca_pem, &[&first, &second]) {
        println!("c2pa-python on the PKCS#11-signed files:\n{report}");
    }
}

#[test]
fn pkcs11_keys_of_every_supported_algorithm_sign_trusted_credentials() {
    let Some(hsm) = SoftHsm::new() else { return };
    let home = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let ca_pem = home.path().join("ca.pem");
    write(&ca_pem, &ca.pem);
    let conf = hsm.conf();
    let image = home.path().join("image.png");
    write(&image, image_bytes(Format::Png));
    for (key_type, label, id) in [
        ("EC:secp384r1", "es384", "11"),
        ("EC:edwards25519", "ed25519", "12"),
        ("rsa:2048", "ps256", "13"),
    ] {
        let public = hsm.generate(key_type, label, id);
        let chain = home.path().join(format!("{label}.pem"));
        write(
            &chain,
            ca.certify(&public, &format!("synthmark {label} signer")),
        );
        let out = home.path().join(label);
        let stamped = synthmark_env(
            home.path(),
            &[
                "stamp",
                "--no-registry",
                "--out",
                path_str(&out),
                "--cert",
                path_str(&chain),
                "--pkcs11-module",
                path_str(&hsm.module),
                "--pkcs11-token",
                TOKEN_LABEL,
                "--pkcs11-key-label",
                label,
                path_str(&image),
            ],
            &[
                ("SOFTHSM2_CONF", conf.as_str()),
                ("SYNTHMARK_PKCS11_PIN", PIN),
            ],
        );
        assert_eq!(
            stamped.status.code(),
            Some(0),
            "{label}: {}",
            stderr(&stamped)
        );
        assert_eq!(assert_trusted(home.path(), &ca_pem, &out), 1, "{label}");
    }
}
