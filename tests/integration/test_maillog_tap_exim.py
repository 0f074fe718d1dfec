"""test_maillog_tap_exim - the delivery-log follower on a real Exim's main log.

Real Exim 4.96 (unpacked into the lab, test_policy_exim.py) receives and
delivers for real (`exim -bs -odi`) through the shipped conf/exim-policy.snippet:
policyd-warmup picks the sending IP in the DATA ACL and the remote_smtp
transport binds to it.  The smtp-sink plays Gmail and answers 421 4.7.28 at
end of data.  maillog-tap, in daemon mode with --exim and the shipped rules,
follows Exim's mainlog (log_selector +outgoing_interface from the snippet:
the I=[ip] of each delivery; a deferral line names no interface, so its IP
comes from policyd-warmup's attribution record) and must suspend that IP x gmail in Redis; the
next gmail message is then steered to the other IP by policyd-warmup, and a
yahoo message still leaves from the first.
"""

import os
import pwd
import re
import subprocess

import pytest

import postflow_lab as lab
from labsink import SmtpSink
from policyd_lab import Policyd
from test_maillog_tap_daemon import RULES
from test_policy_exim import INTERFACE_LOG, exim_binary, exim_config, mail, snippet_transport

POLICY = """
redis = { address = "%s"; };
policy = {
  warmup = {
    smoothing_hours = 0;
    schedules = ( { name = "std"; caps = "1000"; } );
    pools = ( { name = "main"; sender_domains = [ "example.com" ];
                ips = ( { address = "127.0.0.2"; schedule = "std"; }, { address = "127.0.0.3"; } ); } );
  };
};
"""
GMAIL_421 = ("421 4.7.28 [127.0.0.2] Our system has detected an unusual rate of unsolicited mail originating "
             "from your IP address. To protect our users from spam, mail sent from your IP address has been "
             "temporarily rate limited. - gsmtp")


@pytest.fixture
def exim_lab(bin_path, redis_server, lab_dir):
    exim = exim_binary()
    work = lab_dir("exim-tap")
    sink_dir = os.path.join(work, "sink")
    os.makedirs(sink_dir)
    os.chown(sink_dir, pwd.getpwnam("nobody").pw_uid, -1)
    sink = SmtpSink(sink_dir, lab.free_port(), os.path.join(work, "sink.log"),
                    args=["-r", ".", "-b", GMAIL_421]).start()
    pd = tap = None
    try:
        pd = Policyd(bin_path("policyd-warmup"), work, POLICY % redis_server.address).start()
        helo_file = os.path.join(work, "helo-by-ip")
        open(helo_file, "w").close()
        conf = exim_config(work, pd.port, [
            "begin routers",
            "sink:", "  driver = manualroute", "  route_list = * 127.0.0.1", "  transport = remote_smtp",
            "  self = send",
            "begin transports"] + snippet_transport(helo_file) + [
            "  port = %d" % sink.port, "  allow_localhost", "  hosts_avoid_tls = *",
            "begin retry", "*  *  F,1h,1h"])
        mainlog = os.path.join(work, "log", "mainlog")
        tapconf = os.path.join(work, "tap.conf")
        with open(tapconf, "w") as f:
            f.write('log = { level = "info"; };\n' + redis_server.redis_conf() +
                    'maillog_tap = { log_file = "%s"; checkpoint = "%s/tap.cp"; rules_file = "%s"; exim = true; '
                    'from_start = true; poll_interval = 50; };\n' % (mainlog, work, RULES))
        tap_log = open(os.path.join(work, "tap.log"), "w")
        submit_one(exim, conf, "news@example.com", "first@yahoo.com", "warm-up")   # creates the mainlog
        tap = subprocess.Popen([bin_path("maillog-tap"), "-f", "-c", tapconf, "--follow"],
                               stdout=subprocess.DEVNULL, stderr=tap_log)
        lab.register_process(tap.pid, "maillog-tap (exim test)")
        yield exim, conf, mainlog, redis_server.client(decode_responses=True), os.path.join(work, "tap.log")
    finally:
        if tap is not None:
            tap.terminate()
            assert tap.wait(10) == 0
        sink.stop()
        if pd:
            assert pd.stop() == 0


def submit_one(exim, conf, sender, rcpt, mid):
    res = subprocess.run([exim, "-C", conf, "-odi", "-oMa", "127.0.0.1", "-bs"],
                         input="".join(c + "\r\n" for c in ["EHLO client.lab.test"] + mail(sender, rcpt, mid) +
                                       ["QUIT"]),
                         capture_output=True, text=True, timeout=120)
    assert re.search(r"^250 OK id=(\S+)", res.stdout, re.M), res.stdout + res.stderr
    return re.search(r"^250 OK id=(\S+)", res.stdout, re.M).group(1)


def interface_of(mainlog, msgid):
    with open(mainlog, errors="replace") as f:
        text = f.read()
    m = re.search(r"^\S+ \S+ %s " % re.escape(msgid) + re.escape(INTERFACE_LOG).replace("%s", "(.*)") + "$",
                  text, re.M)
    return m.group(1) if m else None


def test_exim_deferrals_suspend_the_ip_and_the_next_gmail_message_leaves_elsewhere(exim_lab):
    exim, conf, mainlog, r, tap_log = exim_lab
    ids = [submit_one(exim, conf, "news@example.com", "u%d@gmail.com" % i, "g%d" % i) for i in range(3)]
    assert [interface_of(mainlog, i) for i in ids] == ["127.0.0.2"] * 3
    with open(mainlog, errors="replace") as f:
        text = f.read()
    # Exim 4.96 writes I=[ip] on deliveries but not on deferrals: the follower takes the IP of those
    # from the attribution record policyd-warmup wrote at END-OF-MESSAGE (pf:q:{<message id>})
    defers = re.findall(r"^.* == u\d@gmail\.com R=sink T=remote_smtp defer .*421 4\.7\.28 .*$", text, re.M)
    assert len(defers) == 3, text
    assert all(r.hget("pf:q:{%s}" % i, "ip") == "127.0.0.2" for i in ids)
    key = "pf:fx:{main}:127.0.0.2:gmail:suspend"
    assert lab.wait_until(lambda: r.exists(key), 10), (open(tap_log).read(), r.smembers("pf:pools"), r.hgetall("pf:pool:{main}"))
    fx = r.hgetall(key)
    assert fx["rule"] == "gmail-rate-ip" and fx["evidence"] == "count 3 in 600s", fx
    # the receiver's answers are counted per IP x provider (Exim's == lines)
    counted = sum(int(r.hget(k, "deferred") or 0) for k in r.keys("pf:hl:{main}:127.0.0.2:gmail:*"))
    assert counted == 3
    nxt = submit_one(exim, conf, "news@example.com", "u9@gmail.com", "g9")
    assert interface_of(mainlog, nxt) == "127.0.0.3"
    other = submit_one(exim, conf, "news@example.com", "y@yahoo.com", "y1")
    assert interface_of(mainlog, other) == "127.0.0.2"
