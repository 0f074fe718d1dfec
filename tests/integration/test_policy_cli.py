"""test_policy_cli - policyd-warmup's command line: -n, --print-config,
--version, --help, configuration errors and usage errors."""

import os
import subprocess


def run(binary, *args):
    return subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=20)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


GOOD = """
policy = {
  warmup = {
    schedules = ( { name = "std"; caps = "100, 500"; } );
    pools = ( { name = "main"; sender_domains = [ "example.com" ];
                ips = ( { address = "192.0.2.10"; schedule = "std"; } ); } );
  };
};
"""


def test_check_accepts_a_good_file(bin_path, lab_dir):
    conf = write(os.path.join(lab_dir("cli"), "p.conf"), GOOD)
    res = run(bin_path("policyd-warmup"), "-n", "-c", conf)
    assert res.returncode == 0, res.stderr
    assert "configuration OK" in res.stdout


def test_check_reports_file_and_line_and_exits_78(bin_path, lab_dir):
    d = lab_dir("cli")
    bad_key = write(os.path.join(d, "a.conf"), "policy = {\n  max_conections = 5;\n};\n")
    res = run(bin_path("policyd-warmup"), "-n", "-c", bad_key)
    assert res.returncode == 78
    assert "a.conf:2" in res.stderr and "max_conections" in res.stderr
    bad_ref = write(os.path.join(d, "b.conf"), GOOD.replace('schedule = "std"', 'schedule = "fast"'))
    res = run(bin_path("policyd-warmup"), "-n", "-c", bad_ref)
    assert res.returncode == 78
    assert 'no schedule named "fast"' in res.stderr
    res = run(bin_path("policyd-warmup"), "-n", "-c", os.path.join(d, "missing.conf"))
    assert res.returncode == 78


def test_print_config_shows_effective_values(bin_path, lab_dir):
    conf = write(os.path.join(lab_dir("cli"), "p.conf"), GOOD)
    res = run(bin_path("policyd-warmup"), "--print-config", "-c", conf)
    assert res.returncode == 0, res.stderr
    assert "policy" in res.stdout and "192.0.2.10" in res.stdout
    assert "attribution_ttl" in res.stdout     # a default shows up too


def test_version_help_and_usage_errors(bin_path):
    b = bin_path("policyd-warmup")
    res = run(b, "--version")
    assert res.returncode == 0 and "policyd-warmup (postflow)" in res.stdout
    res = run(b, "--help")
    assert res.returncode == 0 and "-p SOCKET" in res.stdout
    assert run(b, "--bogus").returncode == 64
    assert run(b, "extra-arg").returncode == 64


def test_unusable_socket_is_an_error_not_a_hang(bin_path, lab_dir):
    conf = write(os.path.join(lab_dir("cli"), "p.conf"), GOOD)
    res = run(bin_path("policyd-warmup"), "-f", "-c", conf, "-p", "inet:999.1.1.1:1")
    assert res.returncode == 1
    assert "999.1.1.1" in res.stderr


def test_shipped_sample_configuration_is_valid(bin_path):
    sample = os.path.join(os.path.dirname(__file__), "..", "..", "conf", "policyd-warmup.conf.sample")
    res = run(bin_path("policyd-warmup"), "-n", "-c", sample)
    assert res.returncode == 0, res.stderr


def test_print_config_output_loads_back_unchanged(bin_path, lab_dir):
    # An operator saves --print-config as the new postflow.conf: it must load and print the same.
    d = lab_dir("cli")
    b = bin_path("policyd-warmup")
    first = run(b, "--print-config", "-c", write(os.path.join(d, "p.conf"), GOOD))
    assert first.returncode == 0, first.stderr
    again = run(b, "--print-config", "-c", write(os.path.join(d, "printed.conf"), first.stdout))
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert run(b, "-n", "-c", os.path.join(d, "printed.conf")).returncode == 0


def test_print_config_output_loads_back_with_a_64_bit_limit(bin_path, lab_dir):
    # The shipped sample has a byte limit of 10 GiB (10737418240L).
    sample = os.path.join(os.path.dirname(__file__), "..", "..", "conf", "policyd-warmup.conf.sample")
    d = lab_dir("cli")
    b = bin_path("policyd-warmup")
    first = run(b, "--print-config", "-c", sample)
    assert first.returncode == 0, first.stderr
    res = run(b, "-n", "-c", write(os.path.join(d, "printed.conf"), first.stdout))
    assert res.returncode == 0, res.stderr
