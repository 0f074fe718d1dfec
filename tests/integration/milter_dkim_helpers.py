"""milter_dkim_helpers.py - shared by the milter-dkim integration tests.

* keys: DKIM key pairs made by our dkim-keygen, with their TXT records;
* independent verifiers, each fed the public keys through a stub DNS:
  dkimpy (python3-dkim), Mail::DKIM (perl; RSA only in Debian 12) and
  OpenDKIM's own verifier (`opendkim -t` with TestPublicKeys);
* MilterClient: a small client of the milter protocol (version 6), speaking
  to the daemon as Postfix does (NR_* flags, HDR_LEADSPC, LF folds);
* nasty messages: folded and long headers, 8-bit headers, empty body, no
  final line end, trailing blank lines, lone CR/LF, duplicate headers.
"""

import os
import re
import socket
import struct
import subprocess
import tempfile
import time

import dkim

PERL_VERIFY = r'''
use strict; use warnings;
use Mail::DKIM::Verifier; use Net::DNS;
my ($file, @recs) = @ARGV;
my %txt = map { split(/=/, $_, 2) } @recs;
no warnings 'redefine';
*Mail::DKIM::DNS::query = sub {
    my ($name, $type) = @_; $name =~ s/\.$//;
    return () unless exists $txt{$name};
    my $rr = Net::DNS::RR->new(name => $name, type => 'TXT', txtdata => $txt{$name});
    return ($rr);
};
open(my $fh, '<', $file) or die; binmode $fh;
my $v = Mail::DKIM::Verifier->new();
while (my $line = <$fh>) { $v->PRINT($line); }
$v->CLOSE;
my @sigs = $v->signatures;
print join(" ", map { $_->result } @sigs), "\n";
'''


# ---- keys ---------------------------------------------------------------------------------------

class Key:
    """A key made by dkim-keygen: .path (PEM), .record (TXT value), .name (DNS name)."""

    def __init__(self, keygen, directory, domain, selector, alg, bits=2048):
        cmd = [keygen, "-d", domain, "-s", selector, "-a", alg, "-o", directory]
        if alg == "rsa":
            cmd += ["-b", str(bits)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        self.path = os.path.join(directory, selector + ".private")
        self.domain, self.selector, self.alg = domain, selector, alg
        self.name = "%s._domainkey.%s" % (selector, domain)
        self.record = "".join(re.findall(r'"([^"]*)"', out))
        self.zone = out


def dns_records(keys):
    return {k.name: k.record for k in keys}


# ---- verifiers ----------------------------------------------------------------------------------

def to_crlf(msg):
    """The message as SMTP carries it: every line ends with CRLF (a lone CR stays data)."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", msg)


def signature_count(msg):
    return len(re.findall(rb"(?im)^dkim-signature:", msg))


def verify_dkimpy(msg, records):
    """Returns a list of booleans, one per DKIM-Signature (top first)."""
    recs = {k.encode(): v.encode() for k, v in records.items()}

    def dnsfunc(name, timeout=5):
        if isinstance(name, str):
            name = name.encode()
        return recs.get(name.rstrip(b"."))
    d = dkim.DKIM(to_crlf(msg))
    return [bool(d.verify(idx=i, dnsfunc=dnsfunc)) for i in range(signature_count(msg))]


def verify_maildkim(msg, records, workdir):
    path = os.path.join(workdir, "maildkim-%d.eml" % os.getpid())
    script = os.path.join(workdir, "verify.pl")
    with open(path, "wb") as f:
        f.write(to_crlf(msg))
    with open(script, "w") as f:
        f.write(PERL_VERIFY)
    args = ["perl", script, path] + ["%s=%s" % kv for kv in records.items()]
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=300).stdout
    return out.split()


def verify_opendkim(msg, records):
    """OpenDKIM's verifier (opendkim -t).  OpenDKIM refuses files under a world-writable
    directory such as /tmp, so its private files live in a 0700 directory under /run."""
    base = "/run" if os.access("/run", os.W_OK) else None
    d = tempfile.mkdtemp(prefix="mdkim-od-", dir=base)
    os.chmod(d, 0o700)
    try:
        with open(os.path.join(d, "keys"), "w") as f:
            for name, rec in records.items():
                f.write("%s %s\n" % (name, rec))
        with open(os.path.join(d, "opendkim.conf"), "w") as f:
            f.write("Syslog no\nMode v\nTestPublicKeys %s/keys\n" % d)
        with open(os.path.join(d, "msg.eml"), "wb") as f:
            f.write(to_crlf(msg))
        p = subprocess.run(["opendkim", "-x", os.path.join(d, "opendkim.conf"), "-t",
                            os.path.join(d, "msg.eml")], capture_output=True, text=True, timeout=300)
        text = p.stdout + p.stderr
        return [m.group(1) for m in re.finditer(r"verification \([^)]*\) (succeeded|failed)", text)], text
    finally:
        subprocess.run(["rm", "-rf", d])


# ---- config -------------------------------------------------------------------------------------

def write_config(path, keys, canon="relaxed/relaxed", rules=None, extra=""):
    """A milter_dkim section with one key entry per Key and a rule per domain (all its keys)."""
    entries = []
    for i, k in enumerate(keys):
        entries.append('{ name = "k%d"; domain = "%s"; selector = "%s"; key_file = "%s"; '
                       'canonicalization = "%s"; }' % (i, k.domain, k.selector, k.path, canon))
    if rules is None:
        by_domain = {}
        for i, k in enumerate(keys):
            by_domain.setdefault(k.domain, []).append("k%d" % i)
        rules = [(d, names) for d, names in by_domain.items()]
    rule_text = ", ".join('{ from = "%s"; keys = [%s]; }' % (d, ", ".join('"%s"' % n for n in names))
                          for d, names in rules)
    with open(path, "w") as f:
        f.write("milter_dkim = {\n  keys = ( %s );\n  signing_table = ( %s );\n%s};\n"
                % (", ".join(entries), rule_text, extra))
    return path


# ---- messages -----------------------------------------------------------------------------------


TRACE_SECRET = b"0123456789abcdef0123456789abcdef"


def write_trace_config(tmp_path, key, extra=""):
    """A config signing with KEY and adding the trace header (key id "k1", secret TRACE_SECRET in a
    0600 file); EXTRA goes into the milter_dkim section.  Returns the config's path."""
    secret = tmp_path / "trace.secret"
    secret.write_bytes(TRACE_SECRET + b"\n")
    os.chmod(secret, 0o600)
    conf = write_config(str(tmp_path / "c.conf"), [key], extra="  trace_header = true;\n" + extra)
    with open(conf, "a") as f:
        f.write('trace = { secret_file = "%s"; key_id = "k1"; };\n' % secret)
    return conf


def nasty_messages():
    """name -> message bytes (LF line ends; tests convert as needed)."""
    # 5,600 bytes of Subject, folded into lines under RFC 5322's 998-byte limit: a longer physical
    # line is re-folded by Postfix's SMTP client (smtp_line_length_limit), which no signature survives.
    long_subject = "Subject: " + "\n ".join(" ".join("word%03d" % (i * 10 + j) for j in range(10))
                                              for i in range(70))
    folded_subject = "Subject: start\n\t" + "\n\t".join("folded-%d   with  spaces" % i for i in range(40))
    base = b"From: Joe <joe@example.com>\nTo: a@example.net\nDate: Fri, 28 Nov 2026 10:00:00 +0000\n" \
           b"Message-ID: <1@example.com>\n"
    return {
        "plain": base + b"Subject: hello\n\nHello.\n",
        "folded_long_headers": base + folded_subject.encode() + b"\n" + long_subject.encode()
        + b"\nTo: " + b",\n ".join(b"user%d@example.org" % i for i in range(200)) + b"\n\nbody\n",
        "eight_bit_headers": base + "Subject: café ünïcødé 日本語  \n".encode() + b"X-Raw: \xff\xfe\n\nbody\n",
        "empty_body": base + b"Subject: empty\n\n",
        "no_final_newline": base + b"Subject: nofinal\n\nline one\nline two",
        "trailing_blank_lines": base + b"Subject: trailing\n\nbody\n\n\n\n  \n\t\n\n",
        "lone_cr": base + b"Subject: lone cr\n\na\rb\nc\r\r\nend\n",
        "duplicate_headers": base + b"Subject: one\nSubject: two\nCc: c1@example.org\nCc: c2@example.org\n"
        b"Reply-To: r@example.com\n\nbody\n",
        "whitespace_body": base + b"Subject: ws\n\n  lead  and   trail  \t\n\t\ttabs\t \n",
        "list_unsubscribe": base + b"Subject: news\nList-Unsubscribe: <https://example.com/u/1>\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\nFeedback-ID: a:b:c:d\n\nnews\n",
    }


# ---- milter protocol client ---------------------------------------------------------------------

SMFIP_NR = {"conn": 0x1000, "mail": 0x4000, "hdr": 0x80, "eoh": 0x40000, "body": 0x80000}
SMFIP_HDR_LEADSPC = 0x100000
OFFERED_PROTOCOL = 0x1FFFFF
OFFERED_ACTIONS = 0x1FF


class MilterReply(Exception):
    pass


class MilterClient:
    """Speaks to a milter like Postfix 3.7 does; returns the modifications and the verdict."""

    def __init__(self, address, timeout=30):
        if isinstance(address, str):            # a unix socket path
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(address)
        else:
            self.sock = socket.create_connection(address, timeout=timeout)
        self.buf = b""
        self.out = []
        self.protocol = 0

    def close(self):
        try:
            self._send(b"Q")
            self._flush()
        except OSError:
            pass
        self.sock.close()

    def _send(self, cmd, data=b""):
        # Like Postfix's VSTREAM: commands that need no reply are buffered and
        # written together just before the next read (one write per round trip).
        self.out.append(struct.pack("!I", len(data) + 1) + cmd + data)

    def _flush(self):
        if self.out:
            self.sock.sendall(b"".join(self.out))
            self.out = []

    def _recv(self):
        self._flush()
        while len(self.buf) < 4 or len(self.buf) < 4 + struct.unpack("!I", self.buf[:4])[0]:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise MilterReply("connection closed by the milter")
            self.buf += chunk
        n = struct.unpack("!I", self.buf[:4])[0]
        pkt, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return pkt[:1], pkt[1:]

    def negotiate(self, version=6, actions=OFFERED_ACTIONS, protocol=OFFERED_PROTOCOL):
        self._send(b"O", struct.pack("!III", version, actions, protocol))
        cmd, data = self._recv()
        if cmd != b"O":
            raise MilterReply("bad negotiate reply %r" % cmd)
        _, self.actions, self.protocol = struct.unpack("!III", data[:12])
        return self.actions, self.protocol

    def _step(self, cmd, data, nr):
        self._send(cmd, data)
        if self.protocol & SMFIP_NR[nr]:
            return None
        c, _ = self._recv()
        return c

    def macros(self, stage, pairs):
        self._send(b"D", stage + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs.items()))

    def connect(self, host="client.example", addr="127.0.0.1", port=4242):
        fam = b"6" if ":" in addr else b"4"
        return self._step(b"C", host.encode() + b"\0" + fam + struct.pack("!H", port) + addr.encode() + b"\0",
                          "conn")

    def mail(self, sender="<s@example.com>", macros=None):
        if macros:
            self.macros(b"M", macros)
        return self._step(b"M", sender.encode() + b"\0", "mail")

    def header(self, name, value):
        return self._step(b"L", name + b"\0" + value + b"\0", "hdr")

    def eoh(self):
        return self._step(b"N", b"", "eoh")

    def body(self, data):
        for off in range(0, len(data), 65535):
            self._step(b"B", data[off:off + 65535], "body")

    def eom(self, queue_id="4F2A1C3B"):
        """Returns (verdict, [modifications]) where a modification is (cmd, index, name, value)."""
        self.macros(b"E", {"i": queue_id})
        self._send(b"E")
        mods = []
        while True:
            cmd, data = self._recv()
            if cmd in (b"h", b"i", b"m"):
                idx = 0
                if cmd != b"h":
                    idx, data = struct.unpack("!I", data[:4])[0], data[4:]
                name, value = data.split(b"\0")[:2]
                mods.append((cmd, idx, name, value))
            elif cmd == b"p":
                continue
            else:
                return cmd, mods

    def send_message(self, msg, queue_id="4F2A1C3B", auth=None, host="client.example", addr="127.0.0.1",
                     port=4242):
        """Runs a whole transaction; returns (verdict, mods, rebuilt message with CRLF)."""
        msg = to_crlf(msg)
        head, sep, body = msg.partition(b"\r\n\r\n")
        if not sep:
            head, body = msg.rstrip(b"\r\n"), b""
        fields = re.split(rb"\r\n(?![ \t])", head)
        if body and not body.endswith(b"\r\n"):
            body += b"\r\n"   # Postfix stores lines: the last one gets its line end
        self.connect(host=host, addr=addr, port=port)
        self.mail(macros={"{auth_authen}": auth} if auth else None)
        for f in fields:
            name, _, value = f.partition(b":")
            if not (self.protocol & SMFIP_HDR_LEADSPC):
                value = value.lstrip(b" ")
            self.header(name, value.replace(b"\r\n", b"\n"))   # Postfix sends folds as LF
        self.eoh()
        self.body(body)
        verdict, mods = self.eom(queue_id)
        return verdict, mods, rebuild(fields, body, mods, bool(self.protocol & SMFIP_HDR_LEADSPC))


def rebuild(fields, body, mods, leadspc):
    """Applies header insertions/changes like Postfix and returns the delivered message (CRLF)."""
    fields = list(fields)
    for cmd, idx, name, value in mods:
        value = value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        text = name + b":" + (value if leadspc else b" " + value)
        if cmd == b"i":
            fields.insert(idx, text)
        elif cmd == b"h":
            fields.append(text)
        elif cmd == b"m":
            seen = 0
            for i, f in enumerate(fields):
                if f.split(b":", 1)[0].strip().lower() == name.lower():
                    seen += 1
                    if seen == idx:
                        if value:
                            fields[i] = text
                        else:
                            del fields[i]
                        break
    return b"\r\n".join(fields) + b"\r\n\r\n" + body


# ---- the default configuration file --------------------------------------------------------------

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE_CONF = os.path.join(ROOT, "conf", "postflow.conf")


def with_default_file(binary, workdir, text):
    """A command prefix that runs a program with `text` as its default configuration file (the
    path it was built with, as --help prints it), without touching the machine: in a private mount
    namespace, an overlay on that file's grandparent directory (/etc) adds it.  The prefix execs the
    program (same pid, so signals reach it).  Needs root, as the lab has."""
    helptext = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    path = re.search(r"configuration file \(default (\S+)\)", helptext).group(1)
    top = os.path.dirname(os.path.dirname(path))
    upper, work = os.path.join(workdir, "upper"), os.path.join(workdir, "work")
    target = os.path.join(upper, os.path.relpath(path, top))
    os.makedirs(os.path.dirname(target))
    os.makedirs(work)
    with open(target, "w") as f:
        f.write(text)
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$1" && shift 3 && exec "$@"',
            "sh", top, upper, work]


# ---- daemon -------------------------------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    """milter-dkim -f on a loopback port; stop() sends SIGTERM and returns the log."""

    def __init__(self, binary, args, logpath, unix_path=None, prefix=()):
        """prefix: a command that execs the daemon (keeps its pid), e.g. with_default_file()."""
        self.port = free_port()
        self.unix_path = unix_path
        self.logpath = logpath
        self.log = open(logpath, "ab")
        spec = "unix:" + unix_path if unix_path else "inet:%d@127.0.0.1" % self.port
        self.proc = subprocess.Popen(list(prefix) + [binary, "-f", "-p", spec] + args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("milter-dkim exited %s: %s" % (self.proc.returncode, self.read_log()))
            try:
                MilterClient(self.address, timeout=1).sock.close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("milter-dkim did not listen: " + self.read_log())

    @property
    def address(self):
        return self.unix_path or ("127.0.0.1", self.port)

    def read_log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def only_signature(msg, alg):
    """The message with only the DKIM-Signature field(s) of algorithm alg ("rsa"/"ed25519"): the others
    are not covered by any signature, so removing them changes nothing for the one kept.  Lets
    verifiers that report a single result (opendkim -t) check each signature."""
    msg = to_crlf(msg)
    head, sep, body = msg.partition(b"\r\n\r\n")
    fields = re.split(rb"\r\n(?![ \t])", head)
    keep = [f for f in fields if not f.lower().startswith(b"dkim-signature:")
            or b"a=%s-sha256" % alg.encode() in f.replace(b"\r\n", b"")]
    return b"\r\n".join(keep) + b"\r\n\r\n" + body


# ---- every algorithm x canonicalization pair across a real MTA -----------------------------------

# (key algorithm, canonicalization): both algorithms with all four header/body combinations.
CANON_PAIRS = [(alg, canon) for alg in ("rsa", "ed25519")
               for canon in ("simple/simple", "relaxed/relaxed", "relaxed/simple", "simple/relaxed")]


def settled_files(sink, count, timeout=60):
    """Paths of a lab SmtpSink's messages once COUNT are there and the same paths are listed by two
    reads 0.2 s apart.  SmtpSink.files() lists what smtp-sink had no fd open on when it looked,
    but it looks before it globs, so a file created in between (a message still being written)
    can be counted; on the second read such a file shows as open, or has been completed."""
    sink.wait(count, timeout)
    deadline = time.time() + timeout
    previous = None
    while True:
        found = sink.files()
        if (len(found) == count and found == previous) or time.time() > deadline:
            return found
        previous = found
        time.sleep(0.2)


def pair_domain(alg, canon):
    """The From domain whose signing rule selects the one key of this pair, e.g.
    rsa-relaxed-simple.pairs.example."""
    return "%s-%s.pairs.example" % (alg, canon.replace("/", "-"))


def pair_keys(keygen, directory):
    """One Key per CANON_PAIRS entry, keyed by the pair."""
    return {(alg, canon): Key(keygen, directory, pair_domain(alg, canon), "p%d" % i, alg)
            for i, (alg, canon) in enumerate(CANON_PAIRS)}


def pair_config_text(keys):
    """libconfig text of key entries and signing rules (one rule per pair domain) for pair_keys();
    returns (key entries, rules) to splice into a milter_dkim section."""
    entries, rules = [], []
    for i, ((alg, canon), k) in enumerate(sorted(keys.items())):
        entries.append('{ name = "pair%d"; domain = "%s"; selector = "%s"; key_file = "%s"; '
                       'canonicalization = "%s"; }' % (i, k.domain, k.selector, k.path, canon))
        rules.append('{ from = "%s"; keys = ["pair%d"]; }' % (k.domain, i))
    return ", ".join(entries), ", ".join(rules)


def with_from_domain(msg, domain):
    """The message with its From address moved to domain (the signing table keys on it)."""
    return re.sub(rb"(?m)^(From:[^\n]*@)example\.com>", rb"\g<1>" + domain.encode() + rb">", msg, count=1)


def dkimpy_verdict(msg, key):
    """dkimpy on a message with one signature: True, or False for a definite fail (this dkimpy
    raises ValidationError for a body hash mismatch instead of returning False)."""
    try:
        return verify_dkimpy(msg, dns_records([key])) == [True]
    except dkim.ValidationError:
        return False


def second_verifier(msg, key, workdir):
    """The independent verifier that is not dkimpy: Mail::DKIM for RSA, OpenDKIM for Ed25519.
    Returns (verdict, detail) for the message's single signature: True for a pass, False for a
    definite fail (one result, "fail"/"failed"), None for anything else (no result, an error)."""
    recs = dns_records([key])
    if key.alg == "rsa":
        res, detail = verify_maildkim(msg, recs, workdir), None
        verdicts = {"pass": True, "fail": False}
    else:
        res, detail = verify_opendkim(msg, recs)
        verdicts = {"succeeded": True, "failed": False}
    return (verdicts.get(res[0]) if len(res) == 1 else None), (res, detail and detail[-600:])


def check_pair_message(msg, key, canon, workdir, tamper_checks=False):
    """msg (as delivered) carries exactly one signature, made with key in canonicalization canon;
    dkimpy and the second verifier both pass it.  With tamper_checks (pass a message whose body is
    "Hello.\\n" and that has "Subject: hello"), also: a changed body letter fails both verifiers;
    trailing whitespace on the Subject value passes both iff the header canonicalization is
    relaxed; a trailing space on the body line passes both iff the body canonicalization is
    relaxed.  The last two prove the signature really uses canon, not just claims it in c=.
    (Whitespace right after "Subject:" would not do: `opendkim -t` rebuilds each field as
    "Name: value", so it passes such a copy even under simple header canonicalization.)"""
    recs = dns_records([key])
    assert signature_count(msg) == 1, msg[:2000]
    sig = re.search(rb"(?ims)^dkim-signature:(.*?)\r?\n(?![ \t])", msg).group(1)
    tags = {m.group(1): m.group(2) for m in re.finditer(rb"(\w+)=([^;]*)", re.sub(rb"\s+", b"", sig))}
    assert tags[b"a"] == ("%s-sha256" % key.alg).encode(), sig
    c = tags[b"c"].decode()
    assert (c if "/" in c else c + "/simple") == canon, sig        # "relaxed" means relaxed/simple
    assert tags[b"d"] == key.domain.encode() and tags[b"s"] == key.selector.encode(), sig
    assert verify_dkimpy(msg, recs) == [True], msg[:2000]
    verdict, detail = second_verifier(msg, key, workdir)
    assert verdict is True, detail
    if not tamper_checks:
        return
    crlf = to_crlf(msg)
    assert crlf.endswith(b"\r\n\r\nHello.\r\n") and b"\r\nSubject: hello\r\n" in crlf, crlf[-300:]
    hcanon, bcanon = canon.split("/")
    cases = [(crlf[:-len(b"Hello.\r\n")] + b"Hellp.\r\n", False),
             (crlf.replace(b"\r\nSubject: hello\r\n", b"\r\nSubject: hello \t\r\n"), hcanon == "relaxed"),
             (crlf[:-len(b"Hello.\r\n")] + b"Hello. \r\n", bcanon == "relaxed")]
    for copy, expected in cases:
        assert dkimpy_verdict(copy, key) is expected, (canon, copy[-300:])
        verdict, detail = second_verifier(copy, key, workdir)
        assert verdict is expected, (canon, detail)
