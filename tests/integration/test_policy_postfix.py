"""test_policy_postfix - policyd-warmup behind a real Postfix (the lab).

Postfix calls the daemon at RCPT (smtpd_recipient_restrictions) and at
END-OF-MESSAGE (smtpd_end_of_data_restrictions), exactly as
conf/main.cf.snippet sets it up; the per-IP transports come from
conf/master.cf.snippet's pattern (smtp_bind_address per IP).  The tests
check what an SMTP client sees (5xx for a suppressed recipient, 4xx over
the cap) and, in Postfix's own log, which transport delivered.
"""

import smtplib

import pytest

import postflow_lab as lab
from policyd_lab import Policyd

POSTFIX_LAB_OPTIONS = {
    "extra_master_cf": [lab.ip_transport("127.0.0.2"), lab.ip_transport("127.0.0.3")],
    "policy_stages": ("rcpt", "data_end"),
}

MESSAGE = b"From: news@example.com\r\nTo: someone\r\nSubject: warm-up test\r\n\r\nhello\r\n"


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
    redis_server.client().hset("pf:sup:{gone@sink.example.org}",
                               mapping={"reason": "hard", "source": "bounce-proc", "time": "1",
                                        "detail": "5.1.1 userunknown"})
    res = postfix_lab.try_send("news@example.com", ["gone@sink.example.org"], MESSAGE)
    assert res.stage == "rcpt"
    code, text = res.refused["gone@sink.example.org"]
    assert code == 550 and "5.1.1" in text and "suppression list (hard bounce" in text


def test_filter_steers_delivery_to_the_per_ip_transport_and_over_cap_gets_4xx(policyd, postfix_lab):
    postfix_lab.clear_sink()
    sent = [postfix_lab.send("news@example.com", ["u%d@sink.example.org" % i], MESSAGE) for i in range(2)]
    for res in sent:
        d = postfix_lab.wait_delivery(res.queue_id, status="sent")
        assert d["service"] == "smtp-127.0.0.2", d["line"]
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
