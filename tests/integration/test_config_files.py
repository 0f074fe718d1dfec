"""test_config_files.py - the shipped sample configuration and the shared config contract.

Every program that reads /etc/postflow/postflow.conf must accept the shipped conf/postflow.conf (with
its key paths pointed at real keys), reject a bad file with "file:line: message" and exit 78, and print
an effective configuration that it accepts again.
"""

import os
import re
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE = os.path.join(ROOT, "conf", "postflow.conf")
PROGRAMS = ["milter-dkim", "policyd-warmup", "warmupctl", "bounce-proc", "fbl-proc", "maillog-tap"]
OWN_SECTION = {"milter-dkim": "milter_dkim", "policyd-warmup": "policy", "warmupctl": "warmupctl",
               "bounce-proc": "bounce", "fbl-proc": "fbl", "maillog-tap": "maillog_tap"}


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=30, **kw)


@pytest.fixture
def sample_with_keys(bin_path, lab_dir):
    """conf/postflow.conf with every key_file replaced by a freshly generated key, and the shaping
    rules read from the source tree (where `make install` would put conf/shaping-rules.conf)."""
    d = lab_dir("conf")
    text = open(SAMPLE).read()
    for path in sorted(set(re.findall(r'key_file = "([^"]+)"', text))):
        selector = os.path.basename(path).rsplit(".", 1)[0]
        algo = "ed25519" if selector.startswith("ed") else "rsa"
        r = run([bin_path("dkim-keygen"), "-d", "example.com", "-s", selector, "-a", algo, "-o", d])
        assert r.returncode == 0, r.stderr
        text = text.replace('"%s"' % path, '"%s/%s.private"' % (d, selector))
    text = text.replace('maillog_tap = {', 'maillog_tap = {\n  rules_file = "%s";'
                        % os.path.join(ROOT, "conf", "shaping-rules.conf"), 1)
    conf = os.path.join(d, "postflow.conf")
    with open(conf, "w") as f:
        f.write(text)
    return conf


@pytest.mark.parametrize("program", PROGRAMS)
def test_shipped_sample_config_is_accepted(bin_path, sample_with_keys, program):
    r = run([bin_path(program), "-n", "-c", sample_with_keys])
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("program", PROGRAMS)
def test_unknown_key_is_reported_with_file_and_line(bin_path, lab_dir, program):
    conf = os.path.join(lab_dir("bad"), "bad.conf")
    with open(conf, "w") as f:
        f.write('%s = {\n\n  no_such_key = "debug";\n};\n' % OWN_SECTION[program])
    r = run([bin_path(program), "-n", "-c", conf])
    assert r.returncode == 78, r.stdout + r.stderr
    assert "%s:3: unknown key 'no_such_key'" % conf in r.stderr


@pytest.mark.parametrize("program", PROGRAMS)
def test_misspelt_section_is_an_error(bin_path, lab_dir, program):
    conf = os.path.join(lab_dir("bad"), "bad.conf")
    with open(conf, "w") as f:
        f.write('\nmilterdkim = { socket = "inet:8891@127.0.0.1"; };\n')
    r = run([bin_path(program), "-n", "-c", conf])
    assert r.returncode == 78
    assert "%s:2: unknown section 'milterdkim'" % conf in r.stderr


@pytest.mark.parametrize("program", PROGRAMS)
def test_explicit_missing_file_is_an_error(bin_path, program):
    r = run([bin_path(program), "-n", "-c", "/nonexistent/postflow.conf"])
    assert r.returncode == 78
    assert "/nonexistent/postflow.conf" in r.stderr


@pytest.mark.parametrize("program", PROGRAMS)
def test_printed_config_loads_back(bin_path, sample_with_keys, lab_dir, program):
    r = run([bin_path(program), "--print-config", "-c", sample_with_keys])
    assert r.returncode == 0, r.stderr
    printed = os.path.join(lab_dir("printed"), "printed.conf")
    with open(printed, "w") as f:
        f.write(r.stdout)
    again = run([bin_path(program), "--print-config", "-c", printed])
    assert again.returncode == 0, again.stderr
    assert again.stdout == r.stdout
