"""labpostfix_conf - main.cf and master.cf of the lab's private Postfix.

DESCRIPTION
    Pure functions: they build the configuration measured in the sandbox notes
    (shared/docs/mta-lab-notes.md, copied here so the project does not read
    ../shared at run time) from a LabSettings, and write nothing.  PostfixLab
    writes and applies it.

    What the configuration does, and why:
      * own config/queue/data directories; logging through postlogd into
        WORKDIR/maillog (there is no syslog daemon); chroot = n; no DNS, no
        TLS, IPv4 only;
      * relayhost and smtp_fallback_relay are the smtp-sink, so every
        outbound message ends in the sink, including those routed by a policy
        "FILTER smtp-IP:" (empty next hop = the recipient's domain, which
        cannot be resolved here, so the fallback relay is used);
      * the pipe domains (bounce.example.net, plus extra ones) go to master.cf
        pipe transports, user=nobody, null_sender= (so <> is an empty
        argument), one recipient per delivery;
      * hardbounce.example.com goes to the error transport (5.1.1): Postfix
        writes a real DSN back to the sender;
      * alias@bounce.example.net is virtual-aliased to exit-0@ (so
        ${original_recipient} differs), recipient_delimiter is "+";
      * the submit listener carries the hooks (milter, policy at RCPT and
        END-OF-MESSAGE); the inbound listener has none and an empty
        mynetworks, so it only accepts the pipe domains;
      * the policy hook is the lab's own bare "check_policy_service SOCKET"
        (unreachable = 451, smtpd_policy_service_default_action), or, with
        policy_snippet, the parameters of the shipped conf/main.cf.snippet
        with only the daemon's address replaced (labsnippet).
"""

import os
import re

import labsnippet
from labproc import LabError

__all__ = ["BOUNCE_DOMAIN", "HARDBOUNCE_DOMAIN", "PIPE_ENVELOPE_ARGS", "LabSettings",
           "ip_transport", "shipped_ip_transports", "postfix_socket", "hook_params", "pipe_argv", "main_cf", "master_cf",
           "parse_extra_main_cf"]

BOUNCE_DOMAIN = "bounce.example.net"
HARDBOUNCE_DOMAIN = "hardbounce.example.com"
# The envelope as pipe(8) macros, in the order bounce-proc/fbl-proc and the
# recorder expect: sender recipient original_recipient nexthop queue_id
# client_address user extension.
PIPE_ENVELOPE_ARGS = ("${sender} ${recipient} ${original_recipient} ${nexthop} "
                      "${queue_id} ${client_address} ${user} ${extension}")

SANITIZER_ENV = ["ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"]
IMPORT_ENVIRONMENT = ["MAIL_CONFIG", "MAIL_DEBUG", "MAIL_LOGTAG", "TZ", "XAUTHORITY", "DISPLAY",
                      "LANG=C", "POSTLOG_SERVICE", "POSTLOG_HOSTNAME"]   # Postfix 3.7 defaults
EXPORT_ENVIRONMENT = ["TZ", "MAIL_CONFIG", "LANG"]


class LabSettings:
    """Everything the configuration depends on (plain attributes)."""

    def __init__(self, workdir, submit_port, inbound_port, sink_port, pipes,
                 milter=None, policy=None, policy_stages=("rcpt", "data_end"),
                 extra_main_cf=None, extra_master_cf=None, policy_snippet=False):
        """PIPES: [(domain, transport name, argv text)], the first is the
        bounce domain.  POLICY_SNIPPET: the policy hook as conf/main.cf.snippet
        writes it (see hook_params)."""
        self.workdir = workdir
        self.submit_port, self.inbound_port, self.sink_port = submit_port, inbound_port, sink_port
        self.pipes = pipes
        self.milter, self.policy, self.policy_stages = milter, policy, tuple(policy_stages)
        self.extra_main_cf, self.extra_master_cf = extra_main_cf, extra_master_cf
        self.policy_snippet = policy_snippet


def ip_transport(ip, name=None):
    """master.cf lines for an smtp transport bound to source address IP.

    The policy daemon selects it with `FILTER smtp-IP:`; its log lines are
    tagged postfix-lab/smtp-IP so the maillog shows which transport (which
    sending IP) delivered.  Example: extra_master_cf=[ip_transport("127.0.0.2")].
    """
    name = name or "smtp-" + ip
    return ("%s unix - - n - - smtp\n  -o smtp_bind_address=%s\n"
            "  -o syslog_name=postfix-lab/%s" % (name, ip, name))


def shipped_ip_transports(ips):
    """The per-IP transports of conf/master.cf.snippet, the I-th bound to
    IPS[I] instead of the snippet's address (labsnippet.ip_transports).
    Example: extra_master_cf=shipped_ip_transports(["127.0.0.2"])."""
    return labsnippet.ip_transports(ips)


def postfix_socket(addr):
    """Accept milter sockets in Postfix (inet:HOST:PORT, unix:PATH) or
    sendmail/libmilter syntax (inet:PORT@HOST) and return Postfix syntax."""
    m = re.fullmatch(r"inet:(\d+)@([\w.\-]+)", addr)
    if m:
        return "inet:%s:%s" % (m.group(2), m.group(1))
    return addr


def hook_params(milter, policy, policy_stages, policy_snippet=False):
    """main.cf parameters of the submit listener's hooks (None = no hook).

    The policy hook is "check_policy_service POLICY" at the stages named in
    POLICY_STAGES ("rcpt", "data_end"); with POLICY_SNIPPET it is the
    shipped conf/main.cf.snippet instead (its restriction lists verbatim,
    the daemon's address replaced by POLICY), and a stage left out of
    POLICY_STAGES gets an empty list.  The snippet's other known parameters
    (labsnippet.KNOWN_OTHER_PARAMS) come with it."""
    params = {"smtpd_milters": postfix_socket(milter) if milter else "",
              "smtpd_recipient_restrictions": "",
              "smtpd_end_of_data_restrictions": ""}
    if policy_snippet:
        # Read even with no policy set: a snippet the lab cannot use fails
        # at start(), not halfway through a module.
        shipped = labsnippet.policy_params(policy or labsnippet.SNIPPET_POLICY_ADDRESS)
        for name, value in shipped.items():
            if name not in params:
                params[name] = value
    if policy:
        if policy_snippet:
            rcpt = shipped["smtpd_recipient_restrictions"]
            data_end = shipped["smtpd_end_of_data_restrictions"]
        else:
            rcpt = data_end = "check_policy_service " + policy
        if "rcpt" in policy_stages:
            params["smtpd_recipient_restrictions"] = rcpt
        if "data_end" in policy_stages:
            params["smtpd_end_of_data_restrictions"] = data_end
    return params


def pipe_argv(command):
    """argv= text of a pipe transport: COMMAND (str or list) plus the
    envelope arguments unless COMMAND already uses a ${macro}."""
    if not isinstance(command, str):
        command = " ".join(command)
    if "${" not in command:
        command += " " + PIPE_ENVELOPE_ARGS
    return command


def pipe_entry(name, argv_text):
    """The master.cf entry of pipe transport NAME."""
    return ("%s unix - n n - 10 pipe\n  flags=Rq user=nobody null_sender= argv=%s"
            % (name, argv_text))


def parse_extra_main_cf(extra):
    """extra_main_cf as a dict: given a dict, or "name = value" lines."""
    if not extra:
        return {}
    if isinstance(extra, dict):
        return dict(extra)
    if isinstance(extra, str):
        extra = extra.splitlines()
    out = {}
    for line in extra:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise LabError("extra_main_cf line is not 'name = value': %r" % line)
        out[name.strip()] = value.strip()
    return out


def main_cf(s):
    """The main.cf parameters for LabSettings S, as an ordered dict."""
    d = s.workdir
    bounce = s.pipes[0][0]
    p = {
        "compatibility_level": "3.6",
        "queue_directory": d + "/spool",
        "data_directory": d + "/data",
        "mail_owner": "postfix",
        "setgid_group": "postdrop",
        "maillog_file": d + "/maillog",
        "maillog_file_prefixes": d,
        "myhostname": "mta-lab.example.test",
        "mydomain": "example.test",
        "myorigin": "$myhostname",
        "mydestination": "",
        "local_recipient_maps": "",
        "local_transport": "error:5.1.1 no local delivery in the lab",
        "alias_maps": "",
        "alias_database": "",
        "biff": "no",
        "append_dot_mydomain": "no",
        "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4",
        "mynetworks": "127.0.0.0/8",
        "smtpd_peername_lookup": "no",
        "smtp_dns_support_level": "disabled",
        "smtpd_tls_security_level": "none",
        "smtp_tls_security_level": "none",
        "smtputf8_enable": "no",
        "relayhost": "[127.0.0.1]:%d" % s.sink_port,
        "smtp_fallback_relay": "[127.0.0.1]:%d" % s.sink_port,
        "relay_domains": ", ".join(dom for dom, _, _ in s.pipes),
        "transport_maps": "inline:{ %s, { %s = error:5.1.1 mailbox unknown (lab) } }" % (
            ", ".join("%s=%s:" % (dom, name) for dom, name, _ in s.pipes), HARDBOUNCE_DOMAIN),
        "recipient_delimiter": "+",
        "virtual_alias_maps": "inline:{ alias@%s=exit-0@%s }" % (bounce, bounce),
        "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
        "smtpd_policy_service_default_action": "451 4.3.5 policy service unavailable",
        "non_smtpd_milters": "",
        "milter_default_action": "accept",
        "milter_protocol": "6",
        "minimal_backoff_time": "30s",
        "maximal_backoff_time": "60s",
        "queue_run_delay": "30s",
        "maximal_queue_lifetime": "1h",
        "bounce_queue_lifetime": "1h",
        "delay_warning_time": "0",
    }
    for _, name, _ in s.pipes:
        p["%s_destination_recipient_limit" % name] = "1"
    # Sanitizer options set for the test run reach pipe commands (an ASan
    # build of bounce-proc) through master's cleaned environment.
    san = [n for n in SANITIZER_ENV if n in os.environ]
    if san:
        p["import_environment"] = " ".join(IMPORT_ENVIRONMENT + san)
        p["export_environment"] = " ".join(EXPORT_ENVIRONMENT + san)
    p.update(hook_params(s.milter, s.policy, s.policy_stages, s.policy_snippet))
    p.update(parse_extra_main_cf(s.extra_main_cf))
    return p


def master_cf(s):
    """The master.cf text for LabSettings S (chroot = n everywhere)."""
    lines = [
        "127.0.0.1:%d inet n - n - - smtpd" % s.submit_port,
        "  -o syslog_name=postfix-lab/submit",
        # accept mail for the error-transport domain, bounce it afterwards
        "  -o smtpd_reject_unlisted_recipient=no",
        "127.0.0.1:%d inet n - n - - smtpd" % s.inbound_port,
        "  -o syslog_name=postfix-lab/inbound",
        "  -o mynetworks=",
        "  -o smtpd_milters=",
        "  -o smtpd_recipient_restrictions=",
        "  -o smtpd_end_of_data_restrictions=",
        "pickup    unix  n - n 60 1 pickup",
        "cleanup   unix  n - n -  0 cleanup",
        "qmgr      unix  n - n 300 1 qmgr",
        "rewrite   unix  - - n -  - trivial-rewrite",
        "bounce    unix  - - n -  0 bounce",
        "defer     unix  - - n -  0 bounce",
        "trace     unix  - - n -  0 bounce",
        "verify    unix  - - n -  1 verify",
        "flush     unix  n - n 1000? 0 flush",
        "proxymap  unix  - - n -  - proxymap",
        "proxywrite unix - - n -  1 proxymap",
        "smtp      unix  - - n -  - smtp",
        "relay     unix  - - n -  - smtp",
        "showq     unix  n - n -  - showq",
        "error     unix  - - n -  - error",
        "retry     unix  - - n -  - error",
        "discard   unix  - - n -  - discard",
        "anvil     unix  - - n -  1 anvil",
        "scache    unix  - - n -  1 scache",
        "postlog   unix-dgram n - n - 1 postlogd",
    ]
    for _, name, argv_text in s.pipes:
        lines.append(pipe_entry(name, argv_text))
    extra = s.extra_master_cf or []
    if isinstance(extra, str):
        extra = [extra]
    lines.extend(extra)
    return "\n".join(lines) + "\n"
