"""test_lab.py - proves the real-service test lab itself works.

These tests exercise tests/lab/postflow_lab.py against the real redis-server
(and, below, the real Postfix and smtp-sink): if they fail, every other
integration test's result is meaningless.
"""

import os

import pytest
import redis

import postflow_lab as lab


# ---- redis-server ----------------------------------------------------------

def test_redis_answers_on_unix_socket_and_tcp_port(redis_server):
    redis_server.client().set("lab:key", "v1")
    host, port = redis_server.tcp_address.split(":")
    tcp = redis.Redis(host=host, port=int(port))
    assert tcp.get("lab:key") == b"v1"
    assert redis_server.address == "unix:" + redis_server.unix_socket
    assert os.path.exists(redis_server.unix_socket)


def test_redis_has_no_persistence(redis_server):
    cfg = redis_server.client().config_get("save")
    assert cfg["save"] == ""
    assert redis_server.client().config_get("appendonly")["appendonly"] == "no"


def test_redis_kill_makes_it_unreachable_and_restart_brings_it_back_empty(redis_server):
    c = redis_server.client()
    c.set("before", "1")
    old_pid = redis_server.pid
    redis_server.kill()
    assert not lab.proc_alive(old_pid)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis_server.client(socket_connect_timeout=1).ping()
    redis_server.restart()
    assert redis_server.pid != old_pid
    fresh = redis_server.client()
    assert fresh.ping()
    # No persistence: the key written before the crash is gone.
    assert fresh.get("before") is None
    # Same TCP port as before the crash.
    host, port = redis_server.tcp_address.split(":")
    assert redis.Redis(host=host, port=int(port)).ping()


def test_redis_stop_leaves_no_process(lab_dir):
    srv = lab.RedisServer(lab_dir("redis")).start()
    pid = srv.pid
    srv.stop()
    assert not lab.proc_alive(pid)
    assert not any(line.startswith("%d " % pid) for line in lab.leftovers())
