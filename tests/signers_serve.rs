//! Signing in `synthmark serve`: it refuses to stamp with the development identity unless
//! `--dev`, signs with a PKCS#11 key named in the configuration file from several requests at
//! once, and answers a signer's failure with a generic 500 while its log has the reason.
//!
//! SoftHSM2 (`softhsm2`), `pkcs11-tool` (`opensc`) and `openssl` are skipped with a note when
//! missing, and fail the test under `CI=true` (see `common::needed`).

mod common;

use common::signers::{
    assert_trusted, chmod, keygen, path_str, serve, stop, write, SoftHsm, TestCa, PIN, TOKEN_LABEL,
};
use common::{image_bytes, stderr};
use synthmark::Format;

#[test]
fn serve_refuses_to_stamp_with_the_development_identity_unless_dev() {
    let home = tempfile::tempdir().unwrap();
    let refused = serve(home.path(), &["--token", "t0k3n"], &[]).expect_err("serve must refuse");
    assert_eq!(refused.status.code(), Some(2));
    let err = stderr(&refused);
    assert!(
        err.contains("DEVELOPMENT identity") && err.contains("--cert") && err.contains("--dev"),
        "{err}"
    );
    assert!(!err.contains("t0k3n"), "{err}");

    let (child, base) = serve(home.path(), &["--token", "t0k3n", "--dev"], &[])
        .unwrap_or_else(|out| panic!("serve --dev did not start: {}", stderr(&out)));
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let err = stop(child);
    assert!(
        err.contains("WARNING") && err.contains("DEVELOPMENT"),
        "{err}"
    );

    // Without tokens nothing is signed: no refusal, no warning.
    let (child, _) = serve(home.path(), &[], &[])
        .unwrap_or_else(|out| panic!("serve did not start: {}", stderr(&out)));
    let err = stop(child);
    assert!(!err.contains("DEVELOPMENT"), "{err}");
}

#[test]
fn serve_stamps_with_a_pkcs11_key_named_in_the_configuration_file() {
    let Some(hsm) = SoftHsm::new() else { return };
    let home = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let public = hsm.generate("EC:prime256v1", "service-key", "21");
    write(
        &home.path().join("chain.pem"),
        ca.certify(&public, "synthmark service signer"),
    );
    let ca_pem = home.path().join("ca.pem");
    write(&ca_pem, &ca.pem);
    let pin_file = home.path().join("pin");
    write(&pin_file, PIN);
    chmod(&pin_file, 0o600);
    let config = home.path().join("synthmark.toml");
    write(
        &config,
        format!(
            "[stamp]\ncert = \"chain.pem\"\npkcs11_module = \"{}\"\npkcs11_token = \"{TOKEN_LABEL}\"\n\
             pkcs11_key_id = \"21\"\npkcs11_pin_file = \"pin\"\n",
            hsm.module.display()
        ),
    );
    let conf = hsm.conf();
    let (child, base) = serve(
        home.path(),
        &["--config", path_str(&config), "--token", "t0k3n"],
        &[("SOFTHSM2_CONF", conf.as_str())],
    )
    .unwrap_or_else(|out| panic!("serve did not start: {}", stderr(&out)));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let stamped: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let requests: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut response = agent
                        .post(&format!("{base}/v1/stamp"))
                        .header("Authorization", "Bearer t0k3n")
                        .send(&image_bytes(Format::Png)[..])
                        .unwrap();
                    let status = response.status().as_u16();
                    let body = response.body_mut().read_to_vec().unwrap();
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                    body
                })
            })
            .collect();
        requests.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let err = stop(child);
    assert!(!err.contains("DEVELOPMENT") && !err.contains(PIN), "{err}");
    let out = home.path().join("out");
    std::fs::create_dir(&out).unwrap();
    for (i, bytes) in stamped.iter().enumerate() {
        write(&out.join(format!("stamped-{i}.png")), bytes);
    }
    assert_eq!(assert_trusted(home.path(), &ca_pem, &out), 4);
}

#[cfg(unix)]
#[test]
fn serve_answers_a_signer_failure_with_a_generic_500_and_logs_the_reason() {
    if !common::program("openssl", "version", "openssl") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let id = keygen(home.path());
    // Signs the start-up probe, then fails like a KMS over its quota.
    let flaky = home.path().join("kms-sign.sh");
    write(
        &flaky,
        format!(
            "#!/bin/sh\n\
             if [ -e '{marker}' ]; then cat >/dev/null; echo 'kms: quota exceeded' >&2; exit 4; fi\n\
             touch '{marker}'\n\
             exec openssl dgst -sha256 -sign '{key}'\n",
            marker = home.path().join("probed").display(),
            key = id.join("key.pem").display()
        ),
    );
    chmod(&flaky, 0o755);
    let command = format!("'{}' --token=hunter2", flaky.display());
    let (child, base) = serve(
        home.path(),
        &[
            "--token",
            "t0k3n",
            "--cert",
            path_str(&id.join("cert.pem")),
            "--signer-cmd",
            &command,
        ],
        &[],
    )
    .unwrap_or_else(|out| panic!("serve did not start: {}", stderr(&out)));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(&format!("{base}/v1/stamp"))
        .header("Authorization", "Bearer t0k3n")
        .send(&image_bytes(Format::Png)[..])
        .unwrap();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap();
    let log = stop(child);
    assert_eq!(status, 500, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        answer["error"], "signing failed; the server log has the reason",
        "{body}"
    );
    assert!(
        !body.contains("quota") && !body.contains("kms-sign"),
        "{body}"
    );
    assert!(log.contains("kms: quota exceeded"), "{log}");
    assert!(log.contains("kms-sign.sh"), "{log}");
    assert!(!log.contains("hunter2"), "{log}");
}
