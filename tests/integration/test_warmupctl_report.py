"""test_warmupctl_report.py - `warmupctl report --html` loaded in a real headless browser.

State is written into a private redis-server the way docs/redis-keys.md
spells it (pool registry, IP state, daily counters, hourly health, the
pf:events and pf:bounces streams, shaping-effect hashes), and through
warmupctl's own `ip pause` (a real writer of the state and of an event).
The page is then loaded by Debian's chromium (--headless):

  * --dump-dom gives the DOM the browser built: one volume chart per IP
    section, one bar per day that has a pf:day: hash, one cap line per day
    whose cap is known (with the cap of that day's stage), the rates
    against their limits, the events, the bounce categories, the effects
    that apply to each IP, and no element that came from Redis text;
  * --enable-logging=stderr shows every console message: a page with no
    script must log none (a blocked resource or script would log one);
    the detector itself is checked on a page that does log an error;
  * --screenshot keeps a PNG (in the test's directory, and copied to
    $POSTFLOW_ARTIFACTS when set); its pixels must contain the bar and cap
    colours, i.e. the SVG was painted, not only parsed.

Skips (with the reason) when chromium is not installed: `make deps` installs it.
"""

import collections
import html.parser
import os
import re
import shutil
import struct
import subprocess
import time
import zlib

import pytest

from policyd_lab import eom, rcpt
from postflow_lab import wait_until

POOL = "main"
IP1, IP2, IP3 = "192.0.2.10", "192.0.2.11", "198.51.100.9"
DAY = 86400
HOSTILE = '<script>alert(1)</script><img src="http://127.0.0.1:9/x.png"> & "quoted"'
POLICY = ('warmup = { smoothing_hours = 0;'
          '  schedules = ( { name = "std"; caps = "100, 500, 2000, 10000"; } );'
          '  pools = ( { name = "main"; sender_domains = [ "example.com" ];'
          '              ips = ( { address = "%s"; schedule = "std"; },'
          '                      { address = "%s"; schedule = "std"; },'
          '                      { address = "%s"; } ); } ); };' % (IP1, IP2, IP3))
BAR_RGB = (0x3F, 0x7F, 0xD0)     # svg .bar fill in the page's style
CAP_RGB = (0xC6, 0x28, 0x28)     # svg .cap stroke


# ---- helpers -------------------------------------------------------------------

def chromium_binary():
    return shutil.which("chromium")


@pytest.fixture
def chromium():
    path = chromium_binary()
    if path is None:
        pytest.skip("Debian's chromium is not installed (`make deps` installs it: scripts/install-deps.sh)")
    return path


def run_chromium(binary, workdir, url, *extra):
    """Runs headless chromium on url; returns (stdout, stderr) as text."""
    args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--user-data-dir=" + os.path.join(workdir, "chromium-profile"),
            "--enable-logging=stderr", "--v=0"] + list(extra) + [url]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, "chromium exit %d:\n%s" % (p.returncode, p.stderr.decode(errors="replace")[-3000:])
    return p.stdout.decode(), p.stderr.decode(errors="replace")


def console_messages(stderr):
    """Console messages chromium logged (any level): lines with :CONSOLE."""
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], []

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def find(self, tag=None, cls=None):
        return [n for n in self.walk() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())]

    def all_text(self):
        return "".join(t if isinstance(t, str) else t.all_text() for t in self.text)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class TreeBuilder(html.parser.HTMLParser):
    """The serialized DOM of --dump-dom back into a tree (it closes every non-void element)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        self.cur.text.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        self.cur.text.append(n)

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        assert n is not None and n.parent is not None, "unbalanced </%s> in the DOM dump" % tag
        self.cur = n.parent

    def handle_data(self, data):
        self.cur.text.append(data)


def parse_dom(text):
    t = TreeBuilder()
    t.feed(text)
    t.close()
    return t.root


def png_pixels(path):
    """(width, height, {RGB tuple: pixel count}) of an 8-bit RGB/RGBA non-interlaced PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    width, height, depth, ctype, _, _, interlace = hdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, hdr
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    prev, colours, i = bytearray(stride), collections.Counter(), 0
    for _ in range(height):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colours.update(zip(line[0::bpp], line[1::bpp], line[2::bpp]))
        prev = line
    return width, height, colours


def keep_artifact(path):
    dest = os.environ.get("POSTFLOW_ARTIFACTS")
    if dest:
        os.makedirs(dest, exist_ok=True)
        shutil.copy(path, os.path.join(dest, os.path.basename(path)))


class Ctl:
    def __init__(self, binary, workdir, address, policy=POLICY):
        self.binary, self.workdir = binary, workdir
        self.conf = os.path.join(workdir, "postflow.conf")
        with open(self.conf, "w") as f:
            f.write('redis = { address = "%s"; };\npolicy = { %s };\n'
                    'warmupctl = { node = "report-test"; audit_log = "none"; };\n' % (address, policy))

    def run(self, *args):
        return subprocess.run([self.binary, "-c", self.conf] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)

    def ok(self, *args):
        p = self.run(*args)
        assert p.returncode == 0, "warmupctl %s: exit %d\n%s" % (" ".join(args), p.returncode, p.stderr.decode())
        return p.stdout.decode()


@pytest.fixture
def ctl(bin_path, redis_server, lab_dir):
    return Ctl(bin_path("warmupctl"), lab_dir("report"), redis_server.address)


@pytest.fixture
def r(redis_server):
    return redis_server.client(decode_responses=True)


def ymd(t):
    return int(time.strftime("%Y%m%d", time.gmtime(t)))


def seed(r, ctl, now):
    """Three IPs: IP1 warming at stage 2 (advanced from 1 three days ago), IP2 paused by the operator,
    IP3 warm (no schedule).  Returns {ip: {yyyymmdd: recipients}} of the day hashes written."""
    r.sadd("pf:pools", POOL)
    for ip in (IP1, IP2, IP3):
        r.hset("pf:pool:{%s}" % POOL, ip, "smtp-" + ip)
    r.hset("pf:ip:{main}:" + IP1, mapping={"stage": "2", "paused": "0", "schedule": "std",
                                           "start": str(ymd(now - 20 * DAY)), "stage_since": str(ymd(now - 3 * DAY))})
    r.hset("pf:ip:{main}:" + IP2, mapping={"stage": "0", "paused": "0", "schedule": "std"})
    days = {IP1: {ymd(now): 1500, ymd(now - DAY): 1800, ymd(now - 2 * DAY): 900, ymd(now - 5 * DAY): 700},
            IP2: {ymd(now): 40}}
    for ip, per_day in days.items():
        for d, n in per_day.items():
            r.hset("pf:day:{main}:%s:%d" % (ip, d), mapping={"all": str(n), "msgs": str(n // 2)})
    hour = now // 3600
    r.hset("pf:hl:{main}:%s:gmail:%d" % (IP1, hour), mapping={"sent": "1000", "hard": "20", "soft": "3",
                                                              "complaint": "1"})
    r.hset("pf:hl:{main}:%s:yahoo:%d" % (IP1, hour - 3), mapping={"sent": "1000", "delivered": "950",
                                                                   "deferred": "50"})   # maillog-tap's
    r.xadd("pf:events", {"time": str(now - 3 * DAY), "node": "mx1", "pool": POOL, "ip": IP1,
                         "event": "advance", "from": "1", "to": "2", "reason": "healthy day"})
    ctl.ok("ip", "pause", IP2, "--reason", HOSTILE)
    for cat, n in (("mailbox_full", 3), ("unknown_user<b>", 2), ("policy", 1)):
        for _ in range(n):
            r.xadd("pf:bounces", {"time": str(now - 60), "type": "bounce", "ip": IP1, "category": cat})
    r.xadd("pf:bounces", {"time": str(now - 60), "type": "autoreply", "ip": IP1, "category": "vacation"})
    r.xadd("pf:bounces", {"time": str(now - 40 * DAY), "type": "bounce", "ip": IP1, "category": "ancient"})
    r.xadd("pf:bounces", {"time": str(now - 60), "type": "bounce", "ip": "", "category": "mailbox_full"})
    return days


def seed_effects(r, now):
    def fx(key, **fields):
        r.hset(key, mapping={k: str(v) for k, v in fields.items()})
        r.expire(key, 3600)
    fx("pf:fx:{main}:192.0.2.0/24:gmail:slow", action="slow", kind="netblock", subject="192.0.2.0/24",
       provider="gmail", since=now - 300, until=now + 900, rule="gmail-421-rate",
       reason="421 4.7.28 <i>unusual rate</i>", evidence="count 3 in 600s", origin="maillog-tap@mx1",
       step=1, factor=50, floor=10)
    fx("pf:fx:{main}:%s:microsoft:slow" % IP2, action="slow", kind="ip", subject=IP2, provider="microsoft",
       since=now - 7200, until=now - 60, rule="ms-throttle", reason="451 4.7.500", evidence="count 5 in 600s",
       origin="maillog-tap@mx2")
    fx("pf:fx:{main}:%s:yahoo:hold" % IP2, action="hold", kind="ip", subject=IP2, provider="yahoo",
       since=now - 7200, until=now - 60, rule="yahoo-ts", reason="421 [TS03]", origin="maillog-tap@mx1")
    fx("pf:fxd:{example.com}:dkim:gmail:suspend", action="suspend", kind="dkim", subject="example.com",
       provider="gmail", since=now - 100, until=now + 3600, rule="dkim-fail", reason="550 5.7.26",
       origin="warmupctl:ops")
    r.hset("pf:fx:{main}", mapping={"192.0.2.0/24|gmail": "slow"})   # the daemon's index: not an effect


def sections(dom):
    return {s.attrs["data-ip"]: s for s in dom.find("section", "ip")}


def effect_subjects(node):
    rows = node.find("tr", "effect")
    return sorted((row.find("td")[4].all_text(), row.find("td")[5].all_text()) for row in rows)


# ---- tests ---------------------------------------------------------------------

def test_console_detector_sees_an_error(chromium, lab_dir):
    """The console check below can fail: a page that logs an error is seen."""
    work = lab_dir("chromium-probe")
    page = os.path.join(work, "bad.html")
    with open(page, "w") as f:
        f.write("<!DOCTYPE html><html><body><p>x</p><script>console.error('probe-error')</script></body></html>")
    _, err = run_chromium(chromium, work, "file://" + page, "--dump-dom")
    assert any("probe-error" in m for m in console_messages(err)), err[-2000:]


def test_report_renders_charts_rates_events_effects(chromium, ctl, r):
    now = int(time.time())
    days = seed(r, ctl, now)
    seed_effects(r, now)
    page = os.path.join(ctl.workdir, "report.html")
    assert ctl.ok("report", "--html", page) == ""
    assert not [f for f in os.listdir(ctl.workdir) if ".tmp." in f]
    source = open(page, encoding="utf-8").read()
    assert "<script" not in source and "<img" not in source and HOSTILE not in source

    dump, err = run_chromium(chromium, ctl.workdir, "file://" + page, "--dump-dom")
    assert console_messages(err) == [], "console messages:\n" + "\n".join(console_messages(err))
    dom = parse_dom(dump)
    assert dom.find("script") == [] and dom.find("img") == [] and dom.find("iframe") == []
    for n in dom.walk():
        for attr in ("src", "href"):
            v = n.attrs.get(attr)
            assert v is None or v.startswith("#"), "external reference %s=%r" % (attr, v)

    secs = sections(dom)
    assert sorted(secs) == sorted([IP1, IP2, IP3])
    for ip, sec in secs.items():
        charts = sec.find("svg", "volume")
        assert len(charts) == 1, ip
        bars = charts[0].find("rect", "bar")
        assert len(bars) == len(days.get(ip, {})), (ip, len(bars))

    # IP1: four days of volume; the cap of each day is that of the day's stage (1 before the advance)
    chart = secs[IP1].find("svg", "volume")[0]
    titles = {int(b.find("title")[0].all_text().split(":")[0]): b for b in chart.find("rect", "bar")}
    assert set(titles) == set(days[IP1])
    caps = {}
    for line in chart.find("line", "cap"):
        m = re.match(r"(\d{8}): cap (\d+) \(stage (\d+)\)$", line.find("title")[0].all_text())
        caps[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    assert len(caps) == 14
    assert caps[ymd(now)] == (2000, 2) and caps[ymd(now - 2 * DAY)] == (2000, 2)
    assert caps[ymd(now - 5 * DAY)] == (500, 1) and caps[ymd(now - 13 * DAY)] == (500, 1)
    over = {d for d, b in titles.items() if "over" in b.classes()}
    assert over == {ymd(now - 5 * DAY)}                   # 700 > 500; 1800 < 2000
    height = {d: float(b.attrs["height"]) for d, b in titles.items()}
    assert height[ymd(now - DAY)] > height[ymd(now)] > height[ymd(now - 2 * DAY)] > height[ymd(now - 5 * DAY)] > 0
    assert len(secs[IP2].find("svg", "volume")[0].find("line", "cap")) == 14       # stage 0: cap 100
    assert secs[IP3].find("svg", "volume")[0].find("line", "cap") == []           # warm: no cap

    # rates against the limits (defaults: hard 1 %, soft 3 %, complaints 0.1 %), 2000 sent
    rows = {row.find("td")[0].all_text(): row for row in secs[IP1].find("table", "rates")[0].find("tr")[1:]}
    assert rows["hard bounces"].find("td")[1].all_text() == "20 / 2000"
    assert "warn" in rows["hard bounces"].find("td")[2].classes()                # exactly 1.00 %: at the limit
    assert "ok" in rows["soft bounces"].find("td")[2].classes()
    assert "ok" in rows["complaints"].find("td")[2].classes()                    # 0.05 %
    # the receivers' deferrals at delivery time, over the attempts maillog-tap counted: 5 %, over 3 %
    assert rows["deferred at delivery"].find("td")[1].all_text() == "50 / 1000"
    assert "bad" in rows["deferred at delivery"].find("td")[2].classes()
    assert len(secs[IP1].find("svg", "gauge")) == 4

    # stage changes, newest first: IP2's pause by the operator
    ev1 = [row.all_text() for row in secs[IP1].find("table", "events")[0].find("tr")[1:]]
    assert len(ev1) == 1 and "advance" in ev1[0] and "1 \u2192 2" in ev1[0] and "healthy day" in ev1[0]
    ev2 = secs[IP2].find("table", "events")[0].find("tr")[1:]
    assert "pause" in ev2[0].all_text() and HOSTILE in ev2[0].all_text()

    # paused IPs and why: the reason shown as text, never as markup
    paused = dom.find("table", "paused")[0].find("tr")[1:]
    assert len(paused) == 1 and IP2 in paused[0].all_text() and HOSTILE in paused[0].all_text()
    assert HOSTILE in secs[IP2].find("p", "pause")[0].all_text()

    # top bounce categories of the last days: bounces only, by count
    cats = [(row.find("td")[0].all_text(), row.find("td")[1].all_text())
            for row in secs[IP1].find("table", "categories")[0].find("tr")[1:]]
    assert cats == [("mailbox_full", "3"), ("unknown_user<b>", "2"), ("policy", "1")]
    assert secs[IP2].find("table", "categories") == []

    # effects: active and ramping ones, per IP by pool and IP or netblock; the domain one in the page table
    assert effect_subjects(secs[IP1]) == [("192.0.2.0/24", "gmail")]
    assert effect_subjects(secs[IP2]) == [("192.0.2.0/24", "gmail"), (IP2, "microsoft")]
    assert effect_subjects(secs[IP3]) == []
    top = [t for t in dom.find("table", "effects") if t.parent.tag == "body"]
    assert len(top) == 1
    assert effect_subjects(top[0]) == [("192.0.2.0/24", "gmail"), (IP2, "microsoft"), ("example.com", "gmail")]
    ramping = [row for row in secs[IP2].find("tr", "effect") if "ramping" in row.all_text()]
    assert len(ramping) == 1 and "microsoft" in ramping[0].all_text()
    assert "<i>unusual rate</i>" in secs[IP1].find("tr", "effect")[0].all_text()

    # painted: the screenshot has the bars' and the cap lines' colours
    shot = os.path.join(ctl.workdir, "warmupctl-report.png")
    run_chromium(chromium, ctl.workdir, "file://" + page, "--window-size=1200,3600",
                 "--hide-scrollbars", "--screenshot=" + shot)
    keep_artifact(shot)
    width, height_px, colours = png_pixels(shot)
    assert (width, height_px) == (1200, 3600)
    # the legend's swatches are 12 x 12: thousands of pixels are the bars themselves
    assert colours[BAR_RGB] > 3000 and colours[CAP_RGB] > 0, (colours[BAR_RGB], colours[CAP_RGB])


def test_report_of_an_empty_redis_and_to_stdout(chromium, bin_path, redis_server, lab_dir):
    ctl = Ctl(bin_path("warmupctl"), lab_dir("report-empty"), redis_server.address, policy="")
    out = ctl.ok("report", "--html", "-")
    assert out.startswith("<!DOCTYPE html>") and out.endswith("</html>\n")
    page = os.path.join(ctl.workdir, "empty.html")
    with open(page, "w") as f:
        f.write(out)
    dump, err = run_chromium(chromium, ctl.workdir, "file://" + page, "--dump-dom")
    assert console_messages(err) == []
    dom = parse_dom(dump)
    ids = {n.attrs.get("id") for n in dom.walk()}
    assert {"no-ips", "none-paused", "no-effects"} <= ids
    assert dom.find("section", "ip") == [] and dom.find("svg") == []


def test_report_usage(ctl):
    p = ctl.run("report")
    assert p.returncode == 64 and b"--html" in p.stderr
    p = ctl.run("status", "--html", "x.html")
    assert p.returncode == 64 and b"does not apply" in p.stderr
    p = ctl.run("report", "--html", os.path.join(ctl.workdir, "no", "such", "dir.html"))
    assert p.returncode == 1 and b"cannot create" in p.stderr


def test_report_over_a_real_policyd_warmup(chromium, bin_path, redis_server, lab_dir, daemons):
    """The state a running policyd-warmup writes (registry, state, create event, day counters) shows up."""
    work = lab_dir("report-policyd")
    pd = daemons(work, """
log = { level = "info"; };
redis = { address = "%s"; };
policy = { node_name = "mx9";
  warmup = { smoothing_hours = 0; health = { evaluate_interval = 1; };
             schedules = ( { name = "std"; caps = "50, 200"; } );
             pools = ( { name = "main"; sender_domains = [ "example.com" ];
                         ips = ( { address = "127.0.0.2"; schedule = "std"; } ); } ); }; };
warmupctl = { audit_log = "none"; };
""" % redis_server.address)
    r = redis_server.client(decode_responses=True)
    # the registration at start writes the create event (mail that comes first creates the state silently)
    assert wait_until(lambda: r.xlen("pf:events") > 0, 15), " ".join(sorted(r.scan_iter("*")))
    for n, addr in enumerate(("a@gmail.com", "b@yahoo.com", "c@example.net")):
        assert pd.ask(**rcpt(addr)) == "DUNNO"
        pd.ask(**eom("R%d" % n, recipient=addr))
    page = os.path.join(work, "report.html")
    p = subprocess.run([bin_path("warmupctl"), "-c", pd.conf_path, "report", "--html", page],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    dump, err = run_chromium(chromium, work, "file://" + page, "--dump-dom")
    assert console_messages(err) == []
    sec = sections(parse_dom(dump))["127.0.0.2"]
    bars = sec.find("svg", "volume")[0].find("rect", "bar")
    assert len(bars) == 1 and "3 recipients" in bars[0].find("title")[0].all_text(), pd.log()[-2000:]
    caps = [c.find("title")[0].all_text() for c in sec.find("line", "cap")]
    assert len(caps) == 14 and all(c.endswith("cap 50 (stage 0)") for c in caps)
    events = [row.all_text() for row in sec.find("table", "events")[0].find("tr")[1:]]
    assert any("create" in e and "mx9" in e for e in events), events
