"""test_grafana_dashboard.py - conf/grafana-dashboard.json loads and asks only for metrics that exist.

Two checks:

  * structure: what Grafana needs to import a dashboard (title, uid,
    schemaVersion, panels with a unique id, a type, a gridPos inside the
    24-column grid, no two panels overlapping, targets with a refId and a
    PromQL expr), and every ${variable} a query or datasource uses is
    defined in the templating list;
  * metrics: a real policyd-warmup answers a few policy requests against a
    private redis-server (it writes the pool registry, the IP state, the
    day and health counters and its own counters pf:metrics:<node>); the
    reports' counters that bounce-proc and fbl-proc would write are added
    as docs/redis-keys.md spells them; then `bin/warmupctl metrics` is run
    and every metric name any PromQL expression of the dashboard names
    must be one it printed, every label a selector or a `by (...)` names
    must be a label of those metrics, and the panels must cover volume
    against cap, stage, pauses, the bounce and complaint rates,
    suppressions and the inbound counters.
"""

import json
import os
import re
import subprocess
import time

import pytest

from policyd_lab import eom, rcpt
from postflow_lab import wait_until

DASHBOARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf", "grafana-dashboard.json")
PANEL_TYPES = {"row", "timeseries", "stat", "bargauge", "gauge", "table", "barchart", "piechart", "text",
               "state-timeline", "status-history", "heatmap"}

# PromQL words that are not metric names (functions are recognised by the "(" after them).
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "by", "without", "on", "ignoring",
                   "group_left", "group_right"}
PROMQL_FUNCTIONS = {"abs", "absent", "avg", "avg_over_time", "ceil", "clamp_max", "clamp_min", "count",
                    "count_over_time", "delta", "deriv", "floor", "histogram_quantile", "increase", "irate",
                    "label_replace", "label_values", "max", "max_over_time", "min", "min_over_time", "rate",
                    "round", "scalar", "sort", "sort_desc", "stddev", "sum", "sum_over_time", "time",
                    "timestamp", "topk", "bottomk", "vector", "quantile", "changes", "resets", "last_over_time"}
TOKEN_RE = re.compile(r"""\s+|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\[[^\]]*\]
                          |\{(?:[^}"']|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')*\}
                          |(?P<dur>\d+(?:ms|[smhdwy])\b)
                          |(?P<num>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+))
                          |(?P<id>[a-zA-Z_:][a-zA-Z0-9_:]*)|(?P<op>.)""", re.X)
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def promql_parts(expr):
    """(metric names, label names) an expression refers to: names in selectors and groupings."""
    metrics, labels, tokens = set(), set(), []
    for m in TOKEN_RE.finditer(expr):
        tokens.append((m.lastgroup, m.group(0)))
    tokens = [t for t in tokens if not t[1].isspace()]
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if text.startswith("{"):
            labels |= set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", text))
        elif kind == "id" and text.lower() in GROUPING and nxt == "(":
            j = i + 2
            while j < len(tokens) and tokens[j][1] != ")":
                if tokens[j][0] == "id":
                    labels.add(tokens[j][1])
                j += 1
            i = j
        elif kind == "id" and (nxt == "(" or (text in PROMQL_FUNCTIONS and nxt.lower() in GROUPING)):
            assert text in PROMQL_FUNCTIONS, "unknown PromQL function %r in %r" % (text, expr)
        elif kind == "id" and text.lower() not in PROMQL_KEYWORDS:
            metrics.add(text)
        i += 1
    return metrics, labels


def test_the_promql_reader_finds_metrics_and_labels():
    m, lab = promql_parts('sum by (pool, ip) (rate(a_total{x="b,c}", y=~"$v"}[5m])) / '
                          'ignoring(z) (b_gauge > 0) < +Inf and on() vector(1)')
    assert m == {"a_total", "b_gauge"} and lab == {"pool", "ip", "x", "y", "z"}
    assert promql_parts("time() - c_seconds offset 5m")[0] == {"c_seconds"}
    with pytest.raises(AssertionError):
        promql_parts("nosuchfunction(a)")


def load():
    with open(DASHBOARD) as f:
        return json.load(f)


def flat_panels(dash):
    for p in dash["panels"]:
        yield p
        for q in p.get("panels", []):
            yield q


def exprs(dash):
    """(panel or variable, PromQL expression, label names outside it): the targets' exprs and
    the query variables' label_values(EXPR, LABEL)."""
    for p in flat_panels(dash):
        for t in p.get("targets", []):
            yield p, t["expr"], set()
    for v in dash["templating"]["list"]:
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query":
            m = re.match(r"^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$", q)
            assert m, "variable %s: not label_values(EXPR, LABEL): %r" % (v["name"], q)
            yield v, m.group(1), {m.group(2)}


def test_dashboard_structure():
    d = load()
    assert isinstance(d["title"], str) and d["title"].strip()
    assert re.match(r"^[A-Za-z0-9_-]{1,40}$", d["uid"]), d["uid"]
    assert isinstance(d["schemaVersion"], int) and d["schemaVersion"] >= 30
    assert isinstance(d["panels"], list) and d["panels"]
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids, boxes = set(), []
    for p in flat_panels(d):
        assert isinstance(p["id"], int) and p["id"] not in ids, p.get("title")
        ids.add(p["id"])
        assert p["type"] in PANEL_TYPES and p.get("title"), p
        g = p["gridPos"]
        assert all(isinstance(g[k], int) for k in ("x", "y", "w", "h")), g
        assert g["x"] >= 0 and g["y"] >= 0 and g["w"] >= 1 and g["h"] >= 1 and g["x"] + g["w"] <= 24, g
        for (x, y, w, h, other) in boxes:
            overlap = g["x"] < x + w and x < g["x"] + g["w"] and g["y"] < y + h and y < g["y"] + g["h"]
            assert not overlap, "panels %r and %r overlap" % (p["title"], other)
        boxes.append((g["x"], g["y"], g["w"], g["h"], p["title"]))
        if p["type"] == "row":
            continue
        assert p["datasource"]["type"] == "prometheus", p["title"]
        assert isinstance(p["targets"], list) and p["targets"], p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(set(refs)) == len(refs) and all(refs), p["title"]
        for t in p["targets"]:
            assert isinstance(t["expr"], str) and t["expr"].strip(), p["title"]
    texts = [(h, e) for h, e, _ in exprs(d)] + [(p, json.dumps(p.get("datasource"))) for p in flat_panels(d)]
    for holder, text in texts:
        for name in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text or ""):
            assert name in variables, "%s uses undefined variable $%s" % (holder.get("title", holder.get("name")), name)


def warmup_config(address):
    return """
log = { level = "info"; };
redis = { address = "%s"; command_timeout_ms = 500; connect_timeout_ms = 500; };
policy = {
  node_name = "mx1";
  warmup = {
    smoothing_hours = 0;
    schedules = ( { name = "std"; caps = "50, 200, 1000"; } );
    pools = ( { name = "main"; sender_domains = [ "example.com" ];
                ips = ( { address = "127.0.0.2"; schedule = "std"; }, { address = "127.0.0.3"; } ); } );
  };
};
warmupctl = { audit_log = "none"; };
""" % address


def metrics_printed(bin_path, redis_server, lab_dir, daemons):
    """{metric name: set of label names} of `warmupctl metrics` over real state."""
    work = lab_dir("grafana")
    pd = daemons(work, warmup_config(redis_server.address))
    for n, rcpt_addr in enumerate(("a@gmail.com", "b@yahoo.com", "c@example.net")):
        assert pd.ask(**rcpt(rcpt_addr)) == "DUNNO"
        pd.ask(**eom("Q%d" % n, recipient=rcpt_addr))
    r = redis_server.client(decode_responses=True)
    assert wait_until(lambda: r.hget("pf:metrics:mx1", "requests"), 20), pd.log()[-2000:]
    # what bounce-proc and fbl-proc add: health counters, domain counters, their own event counters
    hour = int(time.time()) // 3600
    for key in r.scan_iter("pf:hl:{main}:*"):
        r.hset(key, mapping={"hard": "1", "soft": "2", "complaint": "1"})
    r.hset("pf:dh:{example.com}:gmail:%d" % hour, "complaint", "1")
    r.hset("pf:inbound:{bounce-proc}", mapping={"bounce|hard|mailbox_unknown|1": "4", "autoreply|||0": "1"})
    r.hset("pf:inbound:{fbl-proc}", "complaint||abuse|1", "2")
    p = subprocess.run([bin_path("warmupctl"), "-c", pd.conf_path, "metrics"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr.decode()
    found = {}
    for line in p.stdout.decode().splitlines():
        if line.startswith("#") or not line:
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? \S+$", line)
        assert m, line
        found.setdefault(m.group(1), set()).update(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(2) or ""))
    return found


def test_every_query_names_metrics_that_warmupctl_prints(bin_path, redis_server, lab_dir, daemons):
    printed = metrics_printed(bin_path, redis_server, lab_dir, daemons)
    assert "postflow_warmup_ip_cap" in printed and "postflow_policyd_suppressed_total" in printed
    used = set()
    for holder, expr, outside in exprs(load()):
        names, labels = promql_parts(expr)
        labels |= outside
        where = holder.get("title", holder.get("name"))
        assert names, "%s: %r names no metric" % (where, expr)
        missing = names - set(printed)
        assert not missing, "%s: %s not printed by warmupctl metrics (it prints %s)" % (
            where, sorted(missing), sorted(printed))
        have = set().union(*(printed[n] for n in names))
        assert labels <= have, "%s: labels %s not on %s" % (where, sorted(labels - have), sorted(names))
        used |= names
    wanted = {"postflow_warmup_ip_used_today", "postflow_warmup_ip_cap", "postflow_warmup_ip_stage",
              "postflow_warmup_ip_paused", "postflow_warmup_sent_24h", "postflow_warmup_hard_bounces_24h",
              "postflow_warmup_soft_bounces_24h", "postflow_warmup_complaints_24h",
              "postflow_policyd_suppressed_total", "postflow_inbound_events_total"}
    assert wanted <= used, "no panel for %s" % sorted(wanted - used)
