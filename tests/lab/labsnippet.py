"""labsnippet - the shipped Postfix snippets (conf/*.snippet), read for the lab.

NAME
    labsnippet - parse conf/main.cf.snippet and conf/master.cf.snippet

DESCRIPTION
    The policy tests run Postfix with the policy hooks and per-IP transports
    an operator copies from conf/, not with hooks the lab writes itself.  This
    module reads those files the way Postfix does and changes only what must
    differ in the lab:

      policy_params(socket)
          {parameter: value} of main.cf.snippet.  The parameters carrying
          check_policy_service (smtpd_recipient_restrictions and
          smtpd_end_of_data_restrictions) keep their text verbatim except
          the daemon's address inet:127.0.0.1:10040, replaced by SOCKET.
          Other active parameters are returned as well if the lab knows them
          (KNOWN_OTHER_PARAMS); an unknown one is an error.

      ip_transports(ips)
          master.cf entries of master.cf.snippet, the I-th with its address
          (in the service name, smtp_bind_address and syslog_name) replaced
          by IPS[I]; everything else verbatim, chroot "y" included (the lab's
          own services run unchrooted, these need nothing in the chroot: no
          DNS, numeric relay addresses, logging through public/postlog).

    Both raise LabError, naming the file, when the snippet no longer has the
    shape the lab relies on (a parameter gone or added, the address changed,
    a transport not bound to the address in its name...): the test must then
    be adapted, never silently run against hooks of the lab's own making.

    Standard library only; reads files, writes nothing.
"""

import os
import re

from labproc import LabError

__all__ = ["MAIN_CF_SNIPPET", "MASTER_CF_SNIPPET", "SNIPPET_POLICY_ADDRESS", "POLICY_PARAMS",
           "KNOWN_OTHER_PARAMS", "parse_main_cf", "parse_master_cf", "pipe_transport", "policy_params",
           "ip_transports"]

CONF_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf")
MAIN_CF_SNIPPET = os.path.normpath(os.path.join(CONF_DIR, "main.cf.snippet"))
MASTER_CF_SNIPPET = os.path.normpath(os.path.join(CONF_DIR, "master.cf.snippet"))

SNIPPET_POLICY_ADDRESS = "inet:127.0.0.1:10040"
# The restriction lists that must call the daemon (RCPT and END-OF-MESSAGE).
POLICY_PARAMS = ("smtpd_recipient_restrictions", "smtpd_end_of_data_restrictions")
# Other main.cf parameters the snippet may set and the lab applies as they are.
KNOWN_OTHER_PARAMS = ("enable_long_queue_ids",)

_POLICY_CHECK = re.compile(r"check_policy_service\s*(\{\s*)?" + re.escape(SNIPPET_POLICY_ADDRESS)
                           + r"(?![\w.:])")


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        raise LabError("cannot read the shipped snippet: %s" % exc)


def _logical_lines(text):
    """Postfix's logical lines: [(line number, text)].  Blank lines and lines
    whose first non-blank character is # are skipped; a line that starts
    with white space continues the previous one."""
    out = []
    for no, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if raw[0] in " \t":
            if not out:
                raise LabError("line %d continues nothing: %r" % (no, raw))
            out[-1] = (out[-1][0], out[-1][1] + " " + stripped)
        else:
            out.append((no, stripped))
    return out


def parse_main_cf(text, path="main.cf"):
    """{name: value} of main.cf TEXT, in file order (a name set twice is an error)."""
    params = {}
    for no, line in _logical_lines(text):
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise LabError("%s:%d is not 'name = value': %r" % (path, no, line))
        if name in params:
            raise LabError("%s:%d sets %s a second time" % (path, no, name))
        params[name] = value.strip()
    return params


def parse_master_cf(text, path="master.cf"):
    """[(line number, [8 fields], [(option, value)])] of master.cf TEXT.
    A pipe(8) entry's arguments (flags=, user=, argv=...) are not -o options:
    they are given as one option ("pipe", "the arguments")."""
    entries = []
    for no, line in _logical_lines(text):
        words = line.split()
        if len(words) < 8:
            raise LabError("%s:%d: a master.cf entry has 8 fields: %r" % (path, no, line))
        fields, rest = words[:8], words[8:]
        opts = []
        if fields[7] == "pipe":
            entries.append((no, fields, [("pipe", " ".join(rest))]))
            continue
        while rest:
            if rest[0] != "-o" or len(rest) < 2 or "=" not in rest[1]:
                raise LabError("%s:%d: expected '-o name=value' options after the command: %r"
                               % (path, no, line))
            opts.append(tuple(rest[1].split("=", 1)))
            rest = rest[2:]
        entries.append((no, fields, opts))
    return entries


def policy_params(socket, path=MAIN_CF_SNIPPET):
    """The shipped main.cf parameters with the daemon at SOCKET (see module doc)."""
    params = parse_main_cf(_read(path), path)
    unknown = [n for n in params if n not in POLICY_PARAMS and n not in KNOWN_OTHER_PARAMS]
    if unknown:
        raise LabError("%s sets %s, which the lab does not know: decide whether the policy tests "
                       "apply it (labsnippet.KNOWN_OTHER_PARAMS)" % (path, ", ".join(unknown)))
    out = {}
    for name in POLICY_PARAMS:
        if name not in params:
            raise LabError("%s no longer sets %s: the policy tests expect the daemon to be asked "
                           "there" % (path, name))
        value = params[name]
        checks = value.count("check_policy_service")
        if checks != 1 or len(_POLICY_CHECK.findall(value)) != 1 \
                or value.count(SNIPPET_POLICY_ADDRESS) != 1:
            raise LabError("%s: %s should hold one check_policy_service at %s, has: %s"
                           % (path, name, SNIPPET_POLICY_ADDRESS, value))
        out[name] = value.replace(SNIPPET_POLICY_ADDRESS, socket)
    for name in KNOWN_OTHER_PARAMS:
        if name in params:
            if "check_policy_service" in params[name] or SNIPPET_POLICY_ADDRESS in params[name]:
                raise LabError("%s: %s names the policy service" % (path, name))
            out[name] = params[name]
    return out


def pipe_transport(name, path=MASTER_CF_SNIPPET):
    """The shipped pipe(8) entry NAME: {"flags": ..., "user": ..., "argv": [...]}."""
    for no, fields, opts in parse_master_cf(_read(path), path):
        if fields[0] == name and fields[7] == "pipe":
            words = dict(opts)["pipe"].split()
            out = {"argv": []}
            for i, w in enumerate(words):
                if w.startswith("argv="):
                    out["argv"] = [w[5:]] + words[i + 1:]
                    break
                k, _, v = w.partition("=")
                out[k] = v
            return out
    raise LabError("%s has no pipe transport %s" % (path, name))


def ip_transports(ips, path=MASTER_CF_SNIPPET):
    """master.cf entries (text) of the shipped per-IP transports for IPS (see module doc)."""
    entries = [e for e in parse_master_cf(_read(path), path) if e[1][7] != "pipe"]
    if len(entries) < len(ips):
        raise LabError("%s has %d transports, the test needs %d" % (path, len(entries), len(ips)))
    out = []
    for (no, fields, opts), ip in zip(entries, ips):
        name, kind, command = fields[0], fields[1], fields[7]
        m = re.fullmatch(r"smtp-([0-9.]+|[0-9a-fA-F:]+)", name)
        bind = dict(opts).get("smtp_bind_address") or dict(opts).get("smtp_bind_address6")
        if not m or kind != "unix" or command != "smtp" or bind != m.group(1):
            raise LabError("%s:%d: expected an smtp transport smtp-<address> bound to that address "
                           "(-o smtp_bind_address=<address>), found %s" % (path, no, fields))
        old = m.group(1)
        fields = [f.replace(old, ip) for f in fields]
        text = " ".join(fields)
        for opt, value in opts:
            text += "\n  -o %s=%s" % (opt, value.replace(old, ip))
        out.append(text)
    return out
