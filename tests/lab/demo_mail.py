"""demo_mail - the mail `make demo` sends, and how it talks to the person watching.

DESCRIPTION
    Output (colours only when stdout is a terminal):
        step(n, title)      a numbered step heading
        info(text)          what happened, indented under the step
        ok(text)            a check that passed
        check(cond, text)   raise DemoFailure(text) unless COND
    Mail:
        newsletter(...)     one plain newsletter message (From example.com)
        arf_report(...)     an RFC 5965 feedback report about a delivered
                            message, the original attached as message/rfc822
        forge_trace(...)    the same delivered message with its trace header
                            re-made with another secret (what a stranger
                            who saw one of our messages could send)
        dkim_results(...)   the independent verifier's (dkimpy) verdict per
                            DKIM-Signature, fed our keys' DNS records
        header(...)         one unfolded header field of a message

USERS
    tests/lab/demo.py (the scenario) and tests/lab/demo_setup.py.

OWNERSHIP
    Pure helpers over bytes and strings; nothing here keeps state except the
    step counter of the output.
"""

import base64
import email.utils
import hashlib
import hmac
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from milter_dkim_helpers import verify_dkimpy  # noqa: E402  (dkimpy with a stub DNS)

_TTY = sys.stdout.isatty()
_T0 = time.monotonic()


class DemoFailure(Exception):
    """A step's check failed; the text says what was expected and what was seen."""


def _c(code, text):
    return "\033[%sm%s\033[0m" % (code, text) if _TTY else text


def step(n, title):
    print("\n" + _c("1", "%s. %s" % (n, title)) + _c("2", "   [%.1fs]" % (time.monotonic() - _T0)),
          flush=True)


def info(text, indent=3):
    for line in text.splitlines() or [""]:
        print(" " * indent + line, flush=True)


def ok(text):
    info(_c("32", "ok") + "  " + text)


def warn(text):
    info(_c("33", "--") + "  " + text)


def failed(text):
    print("\n" + _c("31;1", "FAILED: ") + text, flush=True)


def check(condition, text):
    if not condition:
        raise DemoFailure(text)


def shorten(value, width=110):
    value = " ".join(str(value).split())
    return value if len(value) <= width else value[:width - 3] + "..."


# ---- mail ------------------------------------------------------------------------------------------

def newsletter(n, rcpt, sender="news@example.com", subject="Weekly news"):
    mid = "<demo-%d-%d.%d@example.com>" % (n, os.getpid(), int(time.time() * 1e6))
    text = ("From: Example News <%s>\nTo: <%s>\nSubject: %s #%d\nDate: %s\nMessage-ID: %s\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nHello %s,\n\n"
            "this is message %d of the postflow demo.\n"
            % (sender, rcpt, subject, n, email.utils.formatdate(), mid, rcpt.split("@")[0], n))
    return mid, text.encode()


def header(message, name):
    """The first NAME field of MESSAGE (bytes), unfolded, or None."""
    head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    m = re.search(r"(?im)^%s:[ \t]*(.*(?:\r?\n[ \t].*)*)" % re.escape(name), head)
    return " ".join(m.group(1).split()) if m else None


def dkim_results(message, keys):
    """[(algorithm, passed)] for every DKIM-Signature of MESSAGE, top first."""
    records = {k.name: k.record for k in keys}
    head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    fields = re.findall(r"(?im)^dkim-signature:(.*(?:\r?\n[ \t].*)*)", head)
    algs = []
    for f in fields:
        m = re.search(r"(?:^|;)\s*a\s*=\s*([A-Za-z0-9-]+)", f)
        algs.append(m.group(1) if m else "?")
    return list(zip(algs, verify_dkimpy(message, records)))


def arf_report(original, rcpt, source_ip, reporter="feedback.mailbox.example",
               mail_from="newsletter@bounce.example.net"):
    """An RFC 5965 abuse report about ORIGINAL (the bytes as delivered),
    which RCPT marked as spam at REPORTER."""
    boundary = "arf-%d" % int(time.time() * 1e6)
    body = original.replace(b"\r\n", b"\n")
    head = ("From: <fbl@%s>\nTo: <fbl@fbl.example.net>\nSubject: Abuse report\nDate: %s\n"
            "Message-ID: <arf-%s@%s>\nMIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=feedback-report; boundary=\"%s\"\n\n"
            "--%s\nContent-Type: text/plain\n\nA user of %s marked this message as spam.\n\n"
            "--%s\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
            "User-Agent: demo-fbl/1.0\nVersion: 1\nOriginal-Mail-From: <%s>\n"
            "Original-Rcpt-To: <%s>\nArrival-Date: %s\nSource-IP: %s\nReported-Domain: example.com\n\n"
            "--%s\nContent-Type: message/rfc822\nContent-Disposition: inline\n\n"
            % (reporter, email.utils.formatdate(), boundary, reporter, boundary, boundary, reporter,
               boundary, mail_from, rcpt, email.utils.formatdate(), source_ip, boundary))
    return head.encode() + body.rstrip(b"\n") + ("\n\n--%s--\n" % boundary).encode()


def forge_trace(original, secret, header_name="X-Postflow-Trace"):
    """ORIGINAL with its trace header's MAC re-made with SECRET (same q=, t=, d=, k=)."""
    value = header(original, header_name)
    tags = dict(t.strip().split("=", 1) for t in value.split(";") if "=" in t)
    base = "v=1; k=%s; q=%s; t=%s; d=%s;" % (tags["k"], tags["q"], tags["t"], tags["d"])
    mac = hmac.new(secret, base.encode(), hashlib.sha256).digest()[:16]
    forged = base + " m=" + base64.urlsafe_b64encode(mac).decode().rstrip("=")
    pattern = rb"(?im)^%s:.*(?:\r?\n[ \t].*)*" % re.escape(header_name.encode())
    return re.sub(pattern, (header_name + ": " + forged).encode(), original, count=1), tags["q"]
