"""test_policy_postfix - policyd-warmup behind a real Postfix (the lab).

Postfix calls the daemon at RCPT (smtpd_recipient_restrictions) and at
END-OF-MESSAGE (smtpd_end_of_data_restrictions) with the parameters of the
shipped conf/main.cf.snippet, read by the lab (policy_snippet, labsnippet):
only the daemon's address inet:127.0.0.1:10040 is replaced, so the
check_policy_service options (timeout, default_action) and the restriction
order are the shipped ones.  The per-IP transports are the entries of the
shipped conf/master.cf.snippet with their addresses replaced by 127.0.0.2
and 127.0.0.3.  A snippet whose shape the lab no longer understands fails
the module at start.

The tests check what an SMTP client sees (5xx for a suppressed recipient,
4xx over the cap), and which transport delivered: its name in Postfix's log
and its source address and HELO name at the receiving end (the sink).
"""

import re
import subprocess

import pytest

import labsnippet
import postflow_lab as lab
from policyd_lab import Policyd

TRANSPORTS = lab.shipped_ip_transports(("127.0.0.2", "127.0.0.3"))
POSTFIX_LAB_OPTIONS = {
    "extra_master_cf": TRANSPORTS,
    "policy_snippet": True,
    "policy_stages": ("rcpt", "data_end"),
}

MESSAGE = b"From: news@example.com\r\nTo: someone\r\nSubject: warm-up test\r\n\r\nhello\r\n"
# The HELO name the shipped transport of the first address says (smtp_helo_name).
HELO = re.search(r"-o smtp_helo_name=(\S+)", TRANSPORTS[0]).group(1)


def message(mid):
    """MESSAGE with a Message-ID, to find it in the sink."""
    return MESSAGE.replace(b"Subject:", b"Message-ID: <%s@lab.test>\r\nSubject:" % mid.encode())


def config(redis_address):
    return """
redis = { address = "%s"; };
policy = {
  warmup = {
    smoothing_hours = 0;
    schedules = ( { name = "std"; caps = "2, 10"; } );
    pools = ( { name = "main"; sender_domains = [ "example.com" ];
                ips = ( { address = "127.0.0.2"; schedule = "std"; } ); } );
  };
  rate_limits = ( { name = "per-sender"; key = "sender"; count = "recipients"; limit = 3; window = "1h"; } );
};
""" % redis_address


@pytest.fixture
def policyd(bin_path, redis_server, lab_dir, postfix_lab):
    pd = Policyd(bin_path("policyd-warmup"), lab_dir("policyd"), config(redis_server.address)).start()
    postfix_lab.set_hooks(policy=pd.socket)
    yield pd
    postfix_lab.set_hooks(policy=None)
    assert pd.stop() == 0, pd.log()[-3000:]


def test_suppressed_recipient_gets_5xx_at_rcpt(policyd, redis_server, postfix_lab):
    # The lab's client, 127.0.0.1, is in mynetworks: this also proves that the
    # snippet asks the daemon before permit_mynetworks ends the evaluation.
    redis_server.client().hset("pf:sup:{gone@sink.example.org}",
                               mapping={"reason": "hard", "source": "bounce-proc", "time": "1",
                                        "detail": "5.1.1 userunknown"})
    res = postfix_lab.try_send("news@example.com", ["gone@sink.example.org"], MESSAGE)
    assert res.stage == "rcpt"
    code, text = res.refused["gone@sink.example.org"]
    assert code == 550 and "5.1.1" in text and "suppression list (hard bounce" in text


def test_filter_steers_delivery_to_the_per_ip_transport_and_over_cap_gets_4xx(policyd, postfix_lab):
    postfix_lab.clear_sink()
    mids = ["steer%d" % i for i in range(2)]
    sent = [postfix_lab.send("news@example.com", ["u%d@sink.example.org" % i], message(mid))
            for i, mid in enumerate(mids)]
    for mid, res in zip(mids, sent):
        d = postfix_lab.wait_delivery(res.queue_id, status="sent")
        # The shipped transport's syslog_name, its source address and HELO name.
        assert d["tag"] == "postfix/smtp-127.0.0.2/smtp", d["line"]
        env, _ = postfix_lab.wait_sink_message("<%s@lab.test>" % mid)
        assert (env["client_addr"], env["helo"]) == ("127.0.0.2", HELO), env
    # The third message is over the day's cap of 2 and no warm IP is left: 4xx after DATA.
    res = postfix_lab.try_send("news@example.com", ["u9@sink.example.org"], MESSAGE)
    assert res.stage == "data" and 400 <= res.code < 500, res
    assert "4.7.1" in res.message and "sending volume limit" in res.message
    # Mail of a domain outside every pool is not steered: the default smtp transport.
    res = postfix_lab.send("someone@elsewhere.example", ["v@sink.example.org"], MESSAGE)
    d = postfix_lab.wait_delivery(res.queue_id, status="sent")
    assert d["service"] != "smtp-127.0.0.2", d["line"]


def test_rate_limited_recipient_gets_4xx_and_the_rest_is_delivered(policyd, postfix_lab):
    rcpts = ["r%d@sink.example.org" % i for i in range(4)]
    res = postfix_lab.send("flood@elsewhere.example", rcpts, MESSAGE)
    assert list(res.refused) == ["r3@sink.example.org"]
    code, text = res.refused["r3@sink.example.org"]
    assert code == 450 and "4.7.1" in text and 'rate limit "per-sender" reached' in text
    for rcpt in rcpts[:3]:
        postfix_lab.wait_delivery(res.queue_id, status="sent", recipient=rcpt)


def test_unreachable_daemon_fails_open_as_the_snippet_says(postfix_lab):
    # The snippet's default_action=DUNNO, not the lab's own
    # smtpd_policy_service_default_action (451), decides: the mail is
    # accepted and leaves through the default transport.
    port = lab.free_port()
    postfix_lab.set_hooks(policy="inet:127.0.0.1:%d" % port)
    try:
        res = postfix_lab.try_send("news@example.com", ["w@sink.example.org"], message("failopen"),
                                   timeout=60)
    finally:
        postfix_lab.set_hooks(policy=None)
    assert res.accepted, res
    assert "127.0.0.1:%d" % port in postfix_lab.maillog()    # smtpd did try it
    d = postfix_lab.wait_delivery(res.queue_id, status="sent")
    assert d["service"] == "smtp", d["line"]


def test_the_lab_refuses_a_snippet_it_does_not_understand(tmp_path):
    # The shipped snippets as the lab reads them, then variants that must
    # stop the tests instead of being half-applied.
    shipped = open(labsnippet.MAIN_CF_SNIPPET).read()
    params = labsnippet.policy_params("unix:/run/pd.sock")
    assert params["smtpd_end_of_data_restrictions"].startswith("check_policy_service { unix:/run/pd.sock,")
    variants = {
        "address changed": shipped.replace("127.0.0.1:10040", "127.0.0.1:10041"),
        "end-of-data hook gone": shipped.replace("smtpd_end_of_data_restrictions =",
                                                 "#smtpd_end_of_data_restrictions ="),
        "unknown parameter": shipped + "\nsmtpd_delay_reject = no\n",
        "second policy check": shipped.replace("permit_mynetworks,",
                                               "check_policy_service inet:127.0.0.1:10040, permit_mynetworks,"),
    }
    for what, text in variants.items():
        path = tmp_path / "main.cf.snippet"
        path.write_text(text)
        with pytest.raises(lab.LabError):
            labsnippet.policy_params("unix:/run/pd.sock", path=str(path))
            pytest.fail("accepted a snippet with the " + what)
    master = open(labsnippet.MASTER_CF_SNIPPET).read()
    unbound = tmp_path / "master.cf.snippet"
    unbound.write_text(master.replace("-o smtp_bind_address=192.0.2.10", "-o smtp_bind_address=192.0.2.99"))
    with pytest.raises(lab.LabError):
        labsnippet.ip_transports(["127.0.0.2"], path=str(unbound))


def test_the_fail_closed_form_the_snippet_documents_works(postfix_lab):
    # The snippet's comment shows how to fail closed; its brace form must be
    # one Postfix accepts (a bare "default_action=451 4.3.5 ..." is fatal to
    # smtpd).  The lab's own default action is set to DUNNO meanwhile, so the
    # 451 can only come from the documented option.
    with open(labsnippet.MAIN_CF_SNIPPET) as f:
        m = re.search(r"^#\s+(\{ default_action = [^{}]+ \})", f.read(), re.M)
    assert m, "conf/main.cf.snippet no longer shows the fail-closed default_action"
    port = lab.free_port()
    postfix_lab.set_hooks(policy="inet:127.0.0.1:%d" % port)
    value = postfix_lab.main_cf()["smtpd_recipient_restrictions"]
    assert "default_action=DUNNO }" in value, value
    lab_default = postfix_lab.main_cf()["smtpd_policy_service_default_action"]
    try:
        postfix_lab.postconf("smtpd_recipient_restrictions=" + value.replace(
                                 "default_action=DUNNO }", m.group(1) + " }"),
                             "smtpd_policy_service_default_action=DUNNO")
        postfix_lab.reload()
        res = postfix_lab.try_send("news@example.com", ["x@sink.example.org"], MESSAGE, timeout=60)
    finally:
        postfix_lab.postconf("smtpd_policy_service_default_action=" + lab_default)
        postfix_lab.set_hooks(policy=None)
    assert (res.stage, res.code) == ("rcpt", 451), res
    assert "4.3.5" in res.message and "policy service unavailable" in res.message, res


def test_default_filter_nexthop_as_the_snippet_advises_reaches_the_relayhost(bin_path, redis_server,
                                                                              lab_dir):
    # A FILTER overrides relayhost (test_lab pins it); the snippet tells
    # smarthost sites to set default_filter_nexthop.  Here the lab's
    # smtp_fallback_relay is off, so only that line brings the steered
    # message to the relayhost (the sink).
    with open(labsnippet.MAIN_CF_SNIPPET) as f:
        m = re.search(r"^#\s*(default_filter_nexthop\s*=.*)$", f.read(), re.M)
    assert m, "conf/main.cf.snippet no longer advises default_filter_nexthop"
    name, _, value = m.group(1).partition("=")
    pd = Policyd(bin_path("policyd-warmup"), lab_dir("policyd-nexthop"), config(redis_server.address)).start()
    pf = lab.PostfixLab(lab_dir("postfix-nexthop"), policy=pd.socket, policy_snippet=True,
                        extra_master_cf=TRANSPORTS,
                        extra_main_cf={"smtp_fallback_relay": "", name.strip(): value.strip()})
    try:
        pf.start()
        res = pf.send("news@example.com", ["n@sink.example.org"], message("nexthop"))
        d = pf.wait_delivery(res.queue_id)
        env, _ = pf.wait_sink_message("<nexthop@lab.test>")
    finally:
        pf.stop()
        assert pd.stop() == 0, pd.log()[-3000:]
    assert (d["status"], d["service"]) == ("sent", "smtp-127.0.0.2"), d["line"]
    assert env["client_addr"] == "127.0.0.2"


def test_hold_answer_parks_the_message_in_the_hold_queue(bin_path, redis_server, lab_dir, postfix_lab):
    conf = """
redis = { address = "%s"; };
policy = {
  rate_limits = ( { name = "review"; key = "sender"; count = "messages"; limit = 1; window = "1h";
                    stage = "end_of_message"; action = "hold"; } );
};
""" % redis_server.address
    pd = Policyd(bin_path("policyd-warmup"), lab_dir("policyd-hold"), conf).start()
    postfix_lab.set_hooks(policy=pd.socket)
    try:
        first = postfix_lab.send("bulk@example.com", ["h1@sink.example.org"], message("hold1"))
        second = postfix_lab.send("bulk@example.com", ["h2@sink.example.org"], message("hold2"))
    finally:
        postfix_lab.set_hooks(policy=None)
        assert pd.stop() == 0, pd.log()[-3000:]
    try:
        postfix_lab.wait_delivery(first.queue_id, status="sent")
        held = {q["queue_id"]: q["queue_name"] for q in postfix_lab.queue()}
        assert held == {second.queue_id: "hold"}, held
        assert any("hold: END-OF-MESSAGE" in l for l in postfix_lab.log_lines(second.queue_id)), \
            postfix_lab.log_lines(second.queue_id)
    finally:   # the lab is shared by the module: leave no held mail
        subprocess.run(["/usr/sbin/postsuper", "-c", postfix_lab.config_dir, "-d", second.queue_id, "hold"],
                       capture_output=True, timeout=30)
