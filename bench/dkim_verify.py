#!/usr/bin/python3
"""dkim_verify.py - verify every DKIM-Signature of a message with dkimpy.

Usage: dkim_verify.py MESSAGE DOMAIN SELECTOR=PUBKEY.pem [SELECTOR=PUBKEY.pem ...]

The public keys are served to dkimpy from a stub DNS function (no network):
RSA keys as the DER SubjectPublicKeyInfo, Ed25519 keys as the raw 32-byte key
(RFC 8463).  Exits 0 when every signature in the message verifies and there is
at least one; prints one line per signature.  Used by bench/run.sh to check
that what the benchmark counted as signed is really signed.
"""
import base64
import re
import subprocess
import sys

import dkim


def txt_record(pem_path):
    """Builds the DKIM TXT record for the public half of a private key file."""
    der = subprocess.run(["openssl", "pkey", "-in", pem_path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    text = subprocess.run(["openssl", "pkey", "-in", pem_path, "-noout", "-text"],
                          check=True, capture_output=True, text=True).stdout
    if text.startswith("ED25519"):
        return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:])
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    msg = open(sys.argv[1], "rb").read()
    domain = sys.argv[2]
    records = {}
    for spec in sys.argv[3:]:
        sel, pem = spec.split("=", 1)
        records[f"{sel}._domainkey.{domain}.".encode()] = txt_record(pem)

    def dnsfunc(name, timeout=5):
        return records.get(name if name.endswith(b".") else name + b".")

    nsig = len(re.findall(rb"(?im)^DKIM-Signature:", msg))
    if nsig == 0:
        print("no DKIM-Signature in", sys.argv[1])
        sys.exit(1)
    ok = 0
    for i in range(nsig):
        try:
            good, why = dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc), ""
        except dkim.DKIMException as e:
            good, why = False, f" ({e})"
        print(f"signature {i}: {'pass' if good else 'FAIL'}{why}")
        ok += bool(good)
    sys.exit(0 if ok == nsig else 1)


if __name__ == "__main__":
    main()
