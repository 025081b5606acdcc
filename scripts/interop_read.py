#!/usr/bin/env python3
"""Validate C2PA files with an independent reader: c2pa-python, the Python bindings of the C2PA SDK.

Prints one JSON object per file (path, validation_state, failure_codes of the active manifest, the
digital source types declared in any manifest) and exits 1 when a file misses an expectation.

    interop_read.py [--trust CA.pem] [--trust-tsa TSA-CA.pem] [--expect-state Trusted]
                    [--expect-not-state Trusted] [--expect-source-type URI] [--expect-timestamp] FILE...
"""

import argparse
import json
import sys

import c2pa

# The signer EKUs synthmark's own checker accepts: emailProtection, documentSigning, C2PA, Microsoft.
SIGNER_EKUS = "1.3.6.1.5.5.7.3.4\n1.3.6.1.5.5.7.3.36\n1.3.6.1.4.1.62558.2.1\n1.3.6.1.4.1.311.76.59.1.9\n"


def context(trust_pem, tsa_trust_pem):
    settings = {
        "verify": {"verify_trust": True, "remote_manifest_fetch": False, "ocsp_fetch": False},
        "trust": {"trust_config": SIGNER_EKUS},
    }
    anchors = []
    for path, kind in ((trust_pem, "manifest"), (tsa_trust_pem, "tsa")):
        if path:
            with open(path, encoding="utf-8") as f:
                anchors.append({"trust_anchors": f.read(), "trust_uri": f"urn:interop:{kind}", "trust_kind": kind})
    if anchors:
        settings["trust"]["anchors"] = anchors
    return c2pa.Context.from_dict(settings)


def read(path, ctx):
    reader = c2pa.Reader(path, context=ctx)
    store = json.loads(reader.json())
    results = store.get("validation_results", {}).get("activeManifest", {})
    source_types = []
    for manifest in store.get("manifests", {}).values():
        for assertion in manifest.get("assertions", []):
            if assertion.get("label", "").startswith("c2pa.actions"):
                for action in assertion.get("data", {}).get("actions", []):
                    if "digitalSourceType" in action:
                        source_types.append(action["digitalSourceType"])
    timestamp_codes = [
        s.get("code")
        for kind in ("success", "informational", "failure")
        for s in results.get(kind, [])
        if s.get("code", "").startswith("timeStamp.")
    ]
    signature = store.get("manifests", {}).get(store.get("active_manifest"), {}).get("signature_info", {})
    return {
        "path": path,
        "validation_state": reader.get_validation_state(),
        "failure_codes": [f.get("code") for f in results.get("failure", [])],
        "timestamp_codes": timestamp_codes,
        "signature_time": signature.get("time"),
        "digital_source_types": source_types,
        "reader": f"c2pa-python (c2pa-rs {c2pa.sdk_version()})",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trust", help="PEM file of trust anchors")
    parser.add_argument("--trust-tsa", help="PEM file of time-stamping authority trust anchors")
    parser.add_argument("--expect-timestamp", action="store_true", help="require a validated, trusted timestamp")
    parser.add_argument("--expect-state", help="required validation state, e.g. Trusted")
    parser.add_argument("--expect-not-state", help="forbidden validation state")
    parser.add_argument("--expect-source-type", help="a digital source type some manifest must declare")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    ctx = context(args.trust, args.trust_tsa)
    failed = 0
    for path in args.files:
        try:
            result = read(path, ctx)
        except Exception as err:  # the reader's own error is the finding
            result = {"path": path, "error": str(err)}
        problems = []
        state = result.get("validation_state")
        if "error" in result:
            problems.append(result["error"])
        if args.expect_state and state != args.expect_state:
            problems.append(f"state {state}, expected {args.expect_state}")
        if args.expect_not_state and state == args.expect_not_state:
            problems.append(f"state {state}, expected anything else")
        if args.expect_source_type and args.expect_source_type not in result.get("digital_source_types", []):
            problems.append(f"no digital source type {args.expect_source_type}")
        if args.expect_timestamp:
            codes = result.get("timestamp_codes", [])
            if "timeStamp.validated" not in codes or "timeStamp.trusted" not in codes:
                problems.append(f"no validated, trusted timestamp (timestamp codes: {codes})")
        result["ok"] = not problems
        if problems:
            result["problems"] = problems
            failed += 1
        print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
