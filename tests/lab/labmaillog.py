"""labmaillog - reading the lab Postfix's maillog.

DESCRIPTION
    Maillog(path) wraps the file Postfix writes through postlogd
    (maillog_file): the whole text, its tail, the lines of one queue id,
    waiting for a line that matches a pattern, and waiting for the delivery
    line of a message, parsed:

        Nov 28 11:39:45 mta-lab postfix-lab/smtp-127.0.0.2/smtp[10712]:
          7A8F9A72501: to=<a@example.com>, relay=127.0.0.1[127.0.0.1]:44191,
          delay=0.03, delays=..., dsn=2.0.0, status=sent (250 2.0.0 Ok)

    gives {"service": "smtp-127.0.0.2", "tag": "postfix-lab/smtp-127.0.0.2/smtp",
    "to": ..., "orig_to": ..., "relay": ..., "dsn": "2.0.0", "status": "sent",
    "text": "250 2.0.0 Ok", "line": ...}.  For a pipe delivery the relay is
    the master.cf transport name (e.g. "bounceproc").
"""

import re

from labproc import LabError, wait_until

__all__ = ["Maillog", "parse_delivery"]

_DELIVERY = (r"^.*? (?P<syslog>[\w./-]+)\[\d+\]: %s: to=<(?P<to>[^>]*)>,"
             r"(?: orig_to=<(?P<orig_to>[^>]*)>,)? relay=(?P<relay>[^,]+),.*?"
             r" dsn=(?P<dsn>[\d.]+), status=(?P<status>\w+) \((?P<text>.*)\)$")


def parse_delivery(match):
    """The dict of one delivery-line match (see the module doc)."""
    d = match.groupdict()
    d["line"] = match.group(0)
    # syslog tag "postfix/smtp" or "postfix-lab/smtp-127.0.0.2/smtp": the
    # service is the part before the program name if there is one.
    d["tag"] = d.pop("syslog")
    parts = d["tag"].split("/")
    d["service"] = parts[-2] if len(parts) >= 3 else parts[-1]
    return d


class Maillog:
    """The maillog file of one lab Postfix."""

    def __init__(self, path):
        self.path = path

    def text(self):
        try:
            with open(self.path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def tail(self, lines=40):
        return "".join(self.text().splitlines(True)[-lines:])

    def lines(self, queue_id):
        """Lines about QUEUE_ID."""
        tag = " %s: " % queue_id
        return [line for line in self.text().splitlines() if tag in line]

    def wait(self, pattern, timeout=30):
        """Wait for a line matching the regex PATTERN; return the match."""
        rx = re.compile(pattern, re.M)
        m = wait_until(lambda: rx.search(self.text()), timeout)
        if not m:
            raise LabError("no maillog line matches %r after %ss; maillog tail:\n%s"
                           % (pattern, timeout, self.tail()))
        return m

    def wait_delivery(self, queue_id, status=None, recipient=None, timeout=30):
        """Wait for a delivery line of QUEUE_ID, optionally for RECIPIENT and
        with status STATUS (sent, deferred, bounced); return its dict."""
        rx = re.compile(_DELIVERY % re.escape(queue_id), re.M)

        def find():
            for m in rx.finditer(self.text()):
                if (status is None or m.group("status") == status) and \
                        (recipient is None or m.group("to") == recipient):
                    return m
            return None
        m = wait_until(find, timeout)
        if not m:
            raise LabError("no delivery line for %s (status=%s, to=%s) after %ss; log:\n%s"
                           % (queue_id, status, recipient, timeout,
                              "\n".join(self.lines(queue_id)) or self.tail()))
        return parse_delivery(m)
