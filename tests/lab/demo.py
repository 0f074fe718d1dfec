#!/usr/bin/python3
"""demo.py - `make demo`: postflow's whole mail loop on a private lab, told and checked step by step.

SYNOPSIS
    make demo                 play the scenario, stop everything, keep the logs
    make demo KEEP=1          the same, then leave the lab running to poke at
    POSTFLOW_BIN=bin /usr/bin/python3 tests/lab/demo.py [--keep]
    /usr/bin/python3 tests/lab/demo.py --stop DIR      stop a lab kept by KEEP=1

DESCRIPTION
    demo_setup.DemoLab starts a private Redis, milter-dkim, policyd-warmup and
    a private Postfix (loopback only) whose inbound listener hands the bounce
    domain to bounce-proc and the FBL domain to fbl-proc.  An smtp-sink plays
    the Internet.  Then the scenario, each step checked (a failed check stops
    the demo with exit 1 and says what was expected):

      1. a batch is submitted: each message reaches the sink with an RSA and
         an Ed25519 DKIM signature that an independent verifier (dkimpy) says
         pass, and the trace header, from the source address policyd-warmup
         chose (127.0.0.2, the warming IP);
      2. the warming IP's daily cap is used up, the overflow leaves through
         the warm IP 127.0.0.3, and a per-sender rate limit defers the next
         message with a 4xx text;
      3. the sink answers Gmail's 421 4.7.28 rate deferral to three
         messages; maillog-tap, following the lab's maillog with the shipped
         conf/shaping-rules.conf, suspends 127.0.0.3 x gmail in Redis within
         a second; the next gmail message is deferred at end of DATA (the
         other IP has no budget left), a yahoo message still leaves through
         127.0.0.3, and `warmupctl shaping cancel` ends the effect at once;
      4. the sink refuses an unknown user, Postfix writes a real DSN, it
         comes back through the bounce pipe, bounce-proc classifies it and
         suppresses the address, and the next message to it is refused at
         RCPT;
      5. ARF complaints about delivered messages reach the FBL address;
         fbl-proc suppresses the complainers and counts the complaints; the
         complaint rate of 127.0.0.2 crosses its threshold and the complaint
         watch pauses it; a forged complaint changes nothing;
      6. `warmupctl status` and `warmupctl suppress list` show the result,
         `warmupctl report --html` writes the page (DIR/report.html).

    Without --keep everything is stopped and the lab's leftover check must
    find nothing; the logs stay in the lab directory (printed at the end).
    With --keep the processes are recorded in DIR/lab.pids and keep running;
    `demo.py --stop DIR` stops exactly those and removes DIR.

    Needs root and the packages of `make deps`.  Runs in about 10 s.
"""

import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import postflow_lab as lab  # noqa: E402
import demo_setup as ds  # noqa: E402
from demo_mail import (DemoFailure, arf_report, check, dkim_results, failed, forge_trace, header,  # noqa: E402
                       info, newsletter, ok, shorten, step, warn)

NEWSLETTER = "newsletter@" + lab.BOUNCE_DOMAIN      # the batch application's return path
RECEIPTS = "receipts@" + lab.BOUNCE_DOMAIN          # a second application (its own rate budget)
ALERTS = "alerts@" + lab.BOUNCE_DOMAIN              # a third one
REPORTER = "feedback.mailbox.example"
OTHER_SECRET = b"not-our-secret-0000000000000000000"


class Scenario:
    def __init__(self, d):
        self.d, self.pf = d, d.pf
        self.delivered = {}      # recipient -> (queue id, message bytes as the sink got it)
        self.n = 0

    def submit(self, sender, rcpt):
        self.n += 1
        mid, data = newsletter(self.n, rcpt)
        return mid, self.pf.try_send(sender, [rcpt], data)

    def deliver(self, sender, rcpt, expect_ip):
        """Submit one message, wait for it at the sink, check signatures, trace and source address."""
        mid, res = self.submit(sender, rcpt)
        check(res.accepted, "Postfix did not accept the message to %s: %s %s" % (rcpt, res.code, res.message))
        d = self.pf.wait_delivery(res.queue_id, recipient=rcpt)
        check(d["status"] == "sent", "%s to %s: status=%s (%s)" % (res.queue_id, rcpt, d["status"], d["text"]))
        env, msg = self.pf.wait_sink_message(mid)
        sigs = dkim_results(msg, self.d.keys)
        check(sorted(a for a, _ in sigs) == ["ed25519-sha256", "rsa-sha256"],
              "message to %s carries signatures %s, expected rsa-sha256 and ed25519-sha256" % (rcpt, sigs))
        check(all(p for _, p in sigs), "dkimpy does not verify every signature of the message to %s: %s"
              % (rcpt, sigs))
        trace = header(msg, "X-Postflow-Trace")
        check(trace and "q=%s;" % res.queue_id in trace,
              "message to %s: no trace header naming queue id %s (%s)" % (rcpt, res.queue_id, trace))
        att = self.d.attribution(res.queue_id)
        check(env["client_addr"] == expect_ip and att.get("ip") == expect_ip,
              "message to %s left from %s (attribution record: %s), expected %s"
              % (rcpt, env["client_addr"], att.get("ip"), expect_ip))
        ok("%-17s %s  via %s  DKIM: %s" % (
            rcpt, res.queue_id, env["client_addr"],
            ", ".join("%s pass" % a for a, _ in sigs)))
        self.delivered[rcpt] = (res.queue_id, msg)
        return res.queue_id

    # ---- 1, 2 -------------------------------------------------------------------------------
    def batch(self):
        step(1, "An application submits a batch of %d messages" % ds.WARMING_CAP)
        info("Each goes through milter-dkim (signs) and policyd-warmup (picks the sending IP).")
        info("At the sink, dkimpy verifies both signatures against the keys' DNS records:")
        for rcpt in ("alice@gmail.com", "bob@outlook.com", "dave@yahoo.com"):
            self.deliver(NEWSLETTER, rcpt, ds.WARMING_IP)
        first = self.delivered["alice@gmail.com"][1]
        info("trace header (HMAC-signed, lets bounces and complaints be tied to this message):")
        info("X-Postflow-Trace: " + shorten(header(first, "X-Postflow-Trace"), 100), indent=7)
        info("Why it matters: receivers see aligned DKIM from day one, and the new IP gets mail first.")

    def overflow(self):
        step(2, "The warming IP reaches its cap; the overflow goes to the warm IP")
        info("%s may send %d recipients today (stage 0); %s is warm (no cap)." % (
            ds.WARMING_IP, ds.WARMING_CAP, ds.WARM_IP))
        for rcpt in ("erin@gmail.com", "frank@icloud.com"):
            self.deliver(NEWSLETTER, rcpt, ds.WARM_IP)
        info("Then the sender's rate limit (%d messages an hour) is spent too:" % ds.RATE_LIMIT)
        _, res = self.submit(NEWSLETTER, "grace@outlook.com")
        check(not res.accepted and res.code and 400 <= res.code < 500 and "4.7.1" in res.message
              and ds.RATE_PHRASE in res.message,
              "the 6th message should be deferred with 4.7.1 %r; got %s %s (queued: %s)"
              % (ds.RATE_PHRASE, res.code, res.message, res.queue_id))
        ok("grace@outlook.com  deferred at end of DATA: %d %s" % (res.code, res.message))
        info("Why it matters: the cap protects the new IP's reputation; nothing is queued in Postfix,")
        info("the application retries later (a 4xx), so no mail is lost.")

    # ---- 3 ----------------------------------------------------------------------------------
    def follower(self):
        step(3, "Delivery-log follower: Gmail answers 421-4.7.28 to %s" % ds.WARM_IP)
        info("maillog-tap follows Postfix's maillog; its rules (conf/shaping-rules.conf) read the receivers'")
        info("answers. Three of Gmail's 'unusual rate' deferrals within 10 minutes suspend IP x gmail:")
        self.gmail_defers()
        seen = time.time()
        check(lab.wait_until(lambda: self.d.effect(ds.WARM_IP, "gmail", "suspend"), 5),
              "maillog-tap wrote no suspend effect for %s x gmail; see %s" % (ds.WARM_IP,
                                                                          self.d.log_path("maillog-tap")))
        fx = self.d.effect(ds.WARM_IP, "gmail", "suspend")
        took = time.time() - seen
        ok("maillog-tap suspended %s x gmail for %d min (rule %s, %s), in Redis %.2f s after the demo saw the line"
           % (ds.WARM_IP, (int(fx["until"]) - int(time.time()) + 59) // 60, fx["rule"], fx["evidence"], took))
        _, res = self.submit(ALERTS, "kate@gmail.com")
        check(not res.accepted and res.code and 400 <= res.code < 500 and "slow down" in res.message,
              "the next gmail message should be deferred (%s suspended, %s out of budget); got %s %s"
              % (ds.WARM_IP, ds.WARMING_IP, res.code, res.message))
        ok("kate@gmail.com    deferred at end of DATA: %d %s" % (res.code, shorten(res.message, 80)))
        info("    (%s, the other IP, has no budget left today: so the message waits, nothing is lost)"
             % ds.WARMING_IP)
        self.deliver(ALERTS, "liam@yahoo.com", ds.WARM_IP)
        info("    other providers are untouched: yahoo still gets mail from %s" % ds.WARM_IP)
        name = "%s/%s/gmail/suspend" % (ds.POOL, ds.WARM_IP)
        res = self.d.warmupctl("shaping", "cancel", name, "--reason", "demo: Gmail is happy again")
        check(res.returncode == 0 and not self.d.effect(ds.WARM_IP, "gmail", "suspend"),
              "warmupctl shaping cancel %s exited %d: %s" % (name, res.returncode, res.stderr.strip()))
        ok("$ warmupctl shaping cancel %s: the effect ends at once (audited)" % name)
        self.deliver(ALERTS, "kate@gmail.com", ds.WARM_IP)
        info("Why it matters: Gmail's deferral is the first, loudest sign of a warm-up going wrong;")
        info("the follower hears it within a second and every MTA node sharing Redis obeys it.")
        return "suspended, steered around, cancelled"

    def gmail_defers(self):
        """Three gmail messages deferred by the sink with Gmail's rate answer (at end of DATA)."""
        reply = ("421 4.7.28 [%s] Our system has detected an unusual rate of unsolicited mail originating"
                 " from your IP address. To protect our users from spam, mail sent from your IP address"
                 " has been temporarily rate limited. - gsmtp" % ds.WARM_IP)
        normal = list(self.pf.sink.args)
        self.pf.restart_sink(normal + ["-r", ".", "-b", reply])
        queued = []
        try:
            for rcpt in ("henry@gmail.com", "ivy@gmail.com", "jack@gmail.com"):
                _, res = self.submit(ALERTS, rcpt)
                check(res.accepted, "Postfix did not accept the message to %s: %s %s"
                      % (rcpt, res.code, res.message))
                d = self.pf.wait_delivery(res.queue_id, recipient=rcpt)
                check(d["status"] == "deferred" and "4.7.28" in d["text"],
                      "%s to %s: status=%s (%s), expected deferred with 4.7.28"
                      % (res.queue_id, rcpt, d["status"], d["text"]))
                queued.append(res.queue_id)
        finally:
            self.pf.restart_sink(normal)
        ok("3 messages to gmail deferred via %s: %s" % (ds.WARM_IP, shorten(reply, 60)))
        return queued

    # ---- 4 ----------------------------------------------------------------------------------
    def bounce(self):
        gone = "carol@yahoo.com"
        step(4, "A hard bounce closes the loop: %s does not exist" % gone)
        reply = "550 5.1.1 <%s>: Recipient address rejected: User unknown" % gone
        with self.pf.rejecting_sink(reply):
            _, res = self.submit(RECEIPTS, gone)
            check(res.accepted, "Postfix did not accept the message to %s: %s %s" % (gone, res.code, res.message))
            d = self.pf.wait_delivery(res.queue_id, recipient=gone)
        check(d["status"] == "bounced", "%s to %s: status=%s, expected bounced (%s)"
              % (res.queue_id, gone, d["status"], d["text"]))
        ok("the receiving MX answered: %s" % shorten(d["text"], 90))
        dsn = self.pf.wait_log(r"%s: sender non-delivery notification: (\w+)" % res.queue_id).group(1)
        back = self.pf.wait_delivery(dsn, recipient=RECEIPTS)
        check(back["status"] == "sent" and back["relay"] == "bounceproc",
              "the DSN %s to %s: status=%s relay=%s (%s), expected sent through the bounceproc pipe"
              % (dsn, RECEIPTS, back["status"], back["relay"], back["text"]))
        ok("Postfix's DSN %s came back to %s through the bounce-proc pipe" % (dsn, RECEIPTS))
        check(lab.wait_until(lambda: self.d.suppression(gone), 15),
              "bounce-proc did not suppress %s; see %s" % (gone, self.pf.maillog_path))
        entry = self.d.stream_entries("pf:bounces", gone)[-1]
        sup = self.d.suppression(gone)
        check(entry.get("verified") == "1" and entry.get("class") == "hard" and sup.get("reason") == "hard",
              "pf:bounces entry %s / suppression %s: expected a verified hard bounce" % (entry, sup))
        ok("bounce-proc: category=%s class=%s ip=%s verified (trace MAC good)"
           % (entry.get("category"), entry.get("class"), entry.get("ip")))
        info("why: " + shorten(entry.get("why", ""), 100), indent=7)
        ok("suppressed: pf:sup:{%s} reason=%s detail=%s" % (gone, sup.get("reason"), sup.get("detail")))
        _, again = self.submit(RECEIPTS, gone)
        code, text = again.refused.get(gone, (again.code, again.message))
        check(again.stage == "rcpt" and code == 550, "the next message to %s: %s %s at %s, expected 550 at RCPT"
              % (gone, code, text, again.stage))
        ok("next message to %s refused at RCPT: %d %s" % (gone, code, text))
        info("Why it matters: mailing dead addresses is what receivers punish first; it stops at once.")

    # ---- 5 ----------------------------------------------------------------------------------
    def complain(self, rcpt, forged=False):
        qid, original = self.delivered[rcpt]
        if forged:
            original, _ = forge_trace(original, OTHER_SECRET)
        arf = arf_report(original, rcpt, ds.WARMING_IP, REPORTER, NEWSLETTER)
        res = self.pf.send_inbound("fbl@" + REPORTER, [ds.FBL_ADDRESS], arf)
        d = self.pf.wait_delivery(res.queue_id, recipient=ds.FBL_ADDRESS)
        check(d["status"] == "sent", "the report %s to %s: status=%s (%s)"
              % (res.queue_id, ds.FBL_ADDRESS, d["status"], d["text"]))
        check(lab.wait_until(lambda: self.d.stream_entries("pf:complaints", rcpt), 15),
              "fbl-proc wrote no pf:complaints entry for %s; see %s" % (rcpt, self.pf.maillog_path))
        return self.d.stream_entries("pf:complaints", rcpt)[-1]

    def rate(self):
        """(complaints, over the threshold?, text) of the warming IP, summed as the watch sums them."""
        h = self.d.health(ds.WARMING_IP)
        sent, compl = h.get("sent", 0), h.get("complaint", 0)
        pct = 100.0 * compl / max(sent, 1)
        over = pct > float(ds.COMPLAINT_MAX.rstrip("%"))
        return compl, over, "%d complaint(s) / %d sent = %.0f%%, %s %s" % (
            compl, sent, pct, "over" if over else "under", ds.COMPLAINT_MAX)

    def not_paused_after_watch(self, what):
        time.sleep(2.5)     # more than two ticks of the complaint watch (evaluate_interval 1s)
        check(self.d.ip_state(ds.WARMING_IP).get("paused") != "1",
              "%s paused after %s: %s" % (ds.WARMING_IP, what, self.d.ip_state(ds.WARMING_IP)))

    def complaints(self):
        step(5, "Spam complaints (ARF reports) arrive at %s" % ds.FBL_ADDRESS)
        info("Threshold for the demo: complaint_max = %s of %s's mail in the last 24 h" % (
            ds.COMPLAINT_MAX, ds.WARMING_IP))
        e = self.complain("alice@gmail.com")
        sup = self.d.suppression("alice@gmail.com")
        compl, over, text = self.rate()
        check(e.get("verified") == "1" and sup.get("reason") == "complaint" and compl == 1 and not over,
              "complaint about alice: entry %s, suppression %s, %s" % (e, sup, text))
        ok("alice@gmail.com complained: suppressed (reason complaint); %s" % text)
        self.not_paused_after_watch("one complaint")
        ok("%s not paused: the complaint watch has looked twice since" % ds.WARMING_IP)
        e = self.complain("bob@outlook.com", forged=True)
        compl2, _, text = self.rate()
        check(e.get("verified") == "0" and not self.d.suppression("bob@outlook.com") and compl2 == compl,
              "the forged complaint changed something: entry %s, suppression %s, %s"
              % (e, self.d.suppression("bob@outlook.com"), text))
        self.not_paused_after_watch("a forged complaint")
        ok("a forged complaint about bob (trace MAC made with another secret): logged verified=0,")
        info("    bob not suppressed, still %s; IP not paused" % text)
        e = self.complain("dave@yahoo.com")
        compl, over, text = self.rate()
        check(e.get("verified") == "1" and self.d.suppression("dave@yahoo.com").get("reason") == "complaint"
              and compl == 2 and over,
              "complaint about dave: entry %s, suppression %s, %s"
              % (e, self.d.suppression("dave@yahoo.com"), text))
        ok("dave@yahoo.com complained: suppressed; %s" % text)
        check(lab.wait_until(lambda: self.d.ip_state(ds.WARMING_IP).get("paused") == "1", 15),
              "%s was not paused by the complaint watch: %s" % (ds.WARMING_IP, self.d.ip_state(ds.WARMING_IP)))
        ok("policyd-warmup paused %s: %s" % (ds.WARMING_IP, self.d.ip_state(ds.WARMING_IP).get("paused_reason")))
        info("Why it matters: complaints ruin an IP fastest; it stops the same minute, not the next day,")
        info("and only complaints that carry our own valid trace can do that.")

    # ---- 6 ----------------------------------------------------------------------------------
    def status(self):
        step(6, "warmupctl shows it all")
        st = self.d.warmupctl("status")
        check(st.returncode == 0, "warmupctl status exited %d: %s" % (st.returncode, st.stderr.strip()))
        info("$ warmupctl -c %s status" % self.d.conf)
        info(st.stdout.rstrip(), indent=5)
        lines = {l.split()[1]: l for l in st.stdout.splitlines()[1:] if len(l.split()) > 1}
        check("paused" in lines.get(ds.WARMING_IP, "") and "warm" in lines.get(ds.WARM_IP, ""),
              "warmupctl status should show %s paused and %s warm" % (ds.WARMING_IP, ds.WARM_IP))
        sl = self.d.warmupctl("suppress", "list")
        check(sl.returncode == 0, "warmupctl suppress list exited %d: %s" % (sl.returncode, sl.stderr.strip()))
        info("$ warmupctl -c %s suppress list" % self.d.conf)
        info(sl.stdout.rstrip(), indent=5)
        for addr in ("carol@yahoo.com", "alice@gmail.com", "dave@yahoo.com"):
            check(addr in sl.stdout, "warmupctl suppress list does not name %s" % addr)
        check("bob@outlook.com" not in sl.stdout, "bob@outlook.com is suppressed (the forged complaint)")
        ok("127.0.0.2 paused, 127.0.0.3 warm; carol (hard), alice and dave (complaint) suppressed")
        page = os.path.join(self.d.workdir, "report.html")
        rep = self.d.warmupctl("report", "--html", page)
        check(rep.returncode == 0, "warmupctl report --html exited %d: %s" % (rep.returncode, rep.stderr.strip()))
        with open(page, errors="replace") as f:
            html = f.read()
        check(all(ip in html for ip in (ds.WARMING_IP, ds.WARM_IP)) and html.count("<svg") >= 2
              and "<script" not in html,
              "%s should name both IPs with an inline SVG chart each and no script" % page)
        ok("$ warmupctl report --html %s: one self-contained page, %d KB, %d charts"
           % (page, (len(html) + 1023) // 1024, html.count("<svg")))


# ---- the run ------------------------------------------------------------------------------------
def where(d, workdir):
    info("\nLogs and data in %s:" % workdir, indent=0)
    info("maillog (Postfix), milter-dkim.log, policyd-warmup.log, maillog-tap.log, redis.log, smtp-sink.log,")
    info("report.html (warmupctl report --html: open it in a browser),")
    info("sink/ (each message as the Internet got it), bin/postflow.conf (the configuration)")


def keep_instructions(d, workdir):
    demo = os.path.abspath(__file__)
    info("\nThe lab keeps running (KEEP=1). Poke at it:", indent=0)
    info("redis-cli -s %s/redis.sock xrevrange pf:bounces + - count 5" % workdir)
    info("%s -c %s status" % (d.path("warmupctl"), d.conf))
    info("swaks --server 127.0.0.1:%d --from %s --to someone@gmail.com --header 'From: news@example.com'"
         % (d.pf.submit_port, RECEIPTS))
    info("   (submission port; the message lands in %s/sink/; the inbound MX is 127.0.0.1:%d)"
         % (workdir, d.pf.inbound_port))
    info("tail -f %s/maillog" % workdir)
    info("Stop it (exactly the processes recorded in %s/%s) and remove the directory:" % (workdir, ds.PIDS_FILE),
         indent=0)
    info("/usr/bin/python3 %s --stop %s" % (demo, workdir))


def run(keep):
    bindir = os.path.abspath(os.environ.get("POSTFLOW_BIN") or os.path.join(HERE, "..", "..", "bin"))
    workdir = lab.make_lab_dir(prefix="postflow-demo-")
    d = ds.DemoLab(bindir, workdir)
    code, kept, follower = 1, False, None
    print("postflow demo: the mail loop on a private Postfix, Redis and smtp-sink (loopback only)")
    try:
        d.start()
        info("lab %s: submit 127.0.0.1:%d, inbound MX 127.0.0.1:%d (%s -> bounce-proc, %s -> fbl-proc),"
             % (workdir, d.pf.submit_port, d.pf.inbound_port, lab.BOUNCE_DOMAIN, ds.FBL_DOMAIN), indent=0)
        info("sink 127.0.0.1:%d; milter-dkim and policyd-warmup attached; Redis %s"
             % (d.pf.sink_port, d.redis_server.tcp_address), indent=0)
        for k in d.keys:
            info("DNS: %s TXT \"%s\"" % (k.name, shorten(k.record, 70)), indent=0)
        s = Scenario(d)
        s.batch()
        s.overflow()
        follower = s.follower()
        s.bounce()
        s.complaints()
        s.status()
        code = 0
        if keep:
            d.keep()
            kept = True
    except DemoFailure as exc:
        failed(str(exc))
    except (lab.LabError, OSError) as exc:
        failed("the lab failed: %s" % exc)
    except KeyboardInterrupt:
        failed("interrupted: stopping the lab")
        code = 130
    finally:
        if not kept:
            d.stop()
            left = lab.leftovers()
            if left:
                failed("processes left behind: %s" % ", ".join(left))
                code = 1
            else:
                print("\nstopped: Redis, Postfix, smtp-sink, milter-dkim, policyd-warmup, maillog-tap; "
                      "no process left behind")
    where(d, workdir)
    if kept:
        keep_instructions(d, workdir)
    if code == 0:
        print("\ndone: every step checked; step 3: %s." % follower)
    elif code == 1:
        print("\ndemo failed (exit 1); the lab's logs above tell why.")
    return code


def stop(workdir):
    try:
        stopped, left = ds.stop_kept(workdir)
    except lab.LabError as exc:
        print("demo --stop: %s" % exc, file=sys.stderr)
        return 1
    names = []
    for s in stopped:
        name = s.split(":", 1)[0].split(" ", 1)[-1]
        if name not in names:
            names.append(name)
    print("stopped %d processes: %s" % (len(stopped), ", ".join(names)))
    if left:
        print("still running after SIGKILL: %s" % ", ".join(left), file=sys.stderr)
        return 1
    print("lab stopped; %s removed" % workdir)
    return 0


def main(argv):
    args = argv[1:]
    if os.geteuid() != 0:
        print("demo: must run as root (Postfix's master and the pipe user switch need it)", file=sys.stderr)
        return 1
    if args[:1] == ["--stop"] and len(args) == 2:
        return stop(args[1])
    if args not in ([], ["--keep"]):
        print("usage: demo.py [--keep] | --stop DIR", file=sys.stderr)
        return 64
    missing = [t for t in ("redis-server", "/usr/sbin/postfix", "/usr/sbin/smtp-sink") if not shutil.which(t)]
    if missing:
        print("demo: %s not installed: run `make deps` (as root), then `make demo`" % ", ".join(missing),
              file=sys.stderr)
        return 1
    return run(args == ["--keep"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
