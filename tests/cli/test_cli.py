"""The `skyway` client commands (mb, rb, ls, cp, rm, stat) against a real `skyway server`.

One server per module on 127.0.0.1 with a port the kernel picks and a fresh data directory; it
is stopped by its PID, never by name. The binary is SKYWAY_BIN (default ../../build/skyway).

Run with Debian's interpreter:  SKYWAY_BIN=build/skyway /usr/bin/python3 -m pytest -q tests/cli
"""

import contextlib
import fcntl
import hashlib
import os
import pathlib
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import threading
import time
import uuid

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ACCESS_KEY = "cli-test-access"
SECRET_KEY = "cli-test-secret"
STARTUP_TIMEOUT_S = 20
COMMAND_TIMEOUT_S = 120
MIB = 1 << 20

_READY = re.compile(rb"listening on http://127\.0\.0\.1:(\d+)")
_SUMMARY = re.compile(r"\((\S+ \S+) in [0-9.]+ s, (\S+ MB/s|-), transport (direct|http)\)")


def skyway_bin():
    return os.environ.get("SKYWAY_BIN") or str((HERE / "../../build/skyway").resolve())


def _read_ready_line(proc, deadline):
    buf = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            match = _READY.search(buf)
            if match:
                return int(match.group(1))
        elif proc.poll() is not None:
            break
    raise RuntimeError(f"server did not report its port; stdout so far: {buf!r}")


def _stop(proc):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def running_server(tmp_path_factory, *extra_args):
    """A `skyway server` on a fresh data directory; yields its endpoint."""
    binary = skyway_bin()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"skyway binary not found at {binary}; build it or set SKYWAY_BIN")
    data = tmp_path_factory.mktemp("data")
    env = dict(os.environ, SKYWAY_ACCESS_KEY=ACCESS_KEY, SKYWAY_SECRET_KEY=SECRET_KEY)
    stderr = open(tmp_path_factory.mktemp("logs") / "server.stderr", "wb")
    proc = subprocess.Popen(
        [binary, "server", "--data", str(data), "--address", "127.0.0.1:0", *extra_args],
        stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, env=env)
    try:
        port = _read_ready_line(proc, time.monotonic() + STARTUP_TIMEOUT_S)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)
        stderr.close()


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    with running_server(tmp_path_factory) as url:
        yield url


def client_env(endpoint, **extra):
    """The environment of a client command: Skyway's variables only, no inherited AWS_*."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "SKYWAY_"))}
    env.update(SKYWAY_ENDPOINT=endpoint, SKYWAY_ACCESS_KEY=ACCESS_KEY,
               SKYWAY_SECRET_KEY=SECRET_KEY)
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def sky(endpoint, *args, expect=0, env=None, cwd=None):
    """Runs `skyway ARGS` (stderr not a terminal) and checks its exit status."""
    proc = subprocess.run([skyway_bin(), *map(str, args)], capture_output=True, text=True,
                          env=env or client_env(endpoint), cwd=cwd, timeout=COMMAND_TIMEOUT_S,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == expect, (
        f"skyway {' '.join(map(str, args))}: exit {proc.returncode}, wanted {expect}\n"
        f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def random_file(path, size):
    with open(path, "wb") as f:
        remaining = size
        while remaining:
            n = min(remaining, 4 * MIB)
            f.write(os.urandom(n))
            remaining -= n
    return path


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    return random_file(tmp_path_factory.mktemp("files") / "small.bin", 3 * MIB + 12345)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    return random_file(tmp_path_factory.mktemp("files") / "big.bin", 40 * MIB)


@pytest.fixture
def bucket(endpoint):
    name = "cli-" + uuid.uuid4().hex[:12]
    sky(endpoint, "mb", f"s3://{name}")
    yield name
    subprocess.run([skyway_bin(), "rb", "--force", f"s3://{name}"], capture_output=True,
                   env=client_env(endpoint), timeout=COMMAND_TIMEOUT_S)


def transport_of(cp_output):
    match = _SUMMARY.search(cp_output)
    assert match, f"no transport/throughput summary in: {cp_output!r}"
    return match.group(3)


# ---- buckets ---------------------------------------------------------------------------------


def test_mb_ls_rb(endpoint):
    name = "cli-" + uuid.uuid4().hex[:12]
    assert f"make_bucket: s3://{name}" in sky(endpoint, "mb", f"s3://{name}").stdout
    assert f"s3://{name}" in sky(endpoint, "ls").stdout.split()
    assert sky(endpoint, "ls", f"s3://{name}").stdout == ""
    assert f"remove_bucket: s3://{name}" in sky(endpoint, "rb", f"s3://{name}").stdout
    assert f"s3://{name}" not in sky(endpoint, "ls").stdout.split()


def test_mb_existing_bucket_fails(endpoint, bucket):
    r = sky(endpoint, "mb", f"s3://{bucket}", expect=1)
    assert "BucketAlreadyOwnedByYou" in r.stderr


def test_rb_non_empty_needs_force(endpoint, bucket, small_file):
    sky(endpoint, "cp", small_file, f"s3://{bucket}/a/b.bin")
    r = sky(endpoint, "rb", f"s3://{bucket}", expect=1)
    assert "BucketNotEmpty" in r.stderr
    r = sky(endpoint, "rb", "--force", f"s3://{bucket}")
    assert f"delete: s3://{bucket}/a/b.bin" in r.stdout
    assert f"s3://{bucket}" not in sky(endpoint, "ls").stdout.split()


# ---- cp up and down --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["small", "big"])
@pytest.mark.parametrize("mode", ["default", "no-direct"])
def test_cp_round_trip(endpoint, bucket, tmp_path, request, which, mode):
    src = request.getfixturevalue(f"{which}_file")
    flags = ["--no-direct"] if mode == "no-direct" else []
    up = sky(endpoint, "cp", *flags, src, f"s3://{bucket}/{which}.bin")
    down = sky(endpoint, "cp", *flags, f"s3://{bucket}/{which}.bin", tmp_path / "out.bin")
    assert sha256(tmp_path / "out.bin") == sha256(src)
    want = "http" if mode == "no-direct" else "direct"
    assert transport_of(up.stdout) == want
    assert transport_of(down.stdout) == want
    assert up.stdout.startswith(f"upload: {src} -> s3://{bucket}/{which}.bin")
    assert down.stdout.startswith(f"download: s3://{bucket}/{which}.bin -> {tmp_path}/out.bin")


def test_direct_and_http_store_identical_bytes(endpoint, bucket, big_file, tmp_path):
    sky(endpoint, "cp", big_file, f"s3://{bucket}/direct.bin")
    sky(endpoint, "cp", "--no-direct", big_file, f"s3://{bucket}/http.bin")
    for key in ("direct.bin", "http.bin"):
        for flags in ([], ["--no-direct"]):
            out = tmp_path / f"{key}-{len(flags)}"
            sky(endpoint, "cp", *flags, f"s3://{bucket}/{key}", out)
            assert sha256(out) == sha256(big_file)
    a = sky(endpoint, "stat", f"s3://{bucket}/direct.bin").stdout
    b = sky(endpoint, "stat", f"s3://{bucket}/http.bin").stdout
    assert re.search(r"ETag: +(\S+)", a).group(1) == re.search(r"ETag: +(\S+)", b).group(1)


def test_cp_small_parts_many_requests(endpoint, bucket, big_file, tmp_path):
    flags = ["--part-size", "5M", "--parallel", "8"]
    sky(endpoint, "cp", *flags, big_file, f"s3://{bucket}/parts.bin")
    stat = sky(endpoint, "stat", f"s3://{bucket}/parts.bin").stdout
    assert re.search(r"ETag: +[0-9a-f]{32}-8\b", stat), stat  # 40 MiB in 5 MiB parts
    sky(endpoint, "cp", *flags, f"s3://{bucket}/parts.bin", tmp_path / "parts.bin")
    assert sha256(tmp_path / "parts.bin") == sha256(big_file)


def test_cp_to_prefix_appends_file_name(endpoint, bucket, small_file):
    r = sky(endpoint, "cp", small_file, f"s3://{bucket}/dir/")
    assert f"s3://{bucket}/dir/{small_file.name}" in r.stdout
    r = sky(endpoint, "cp", small_file, f"s3://{bucket}")
    assert f"s3://{bucket}/{small_file.name}" in r.stdout
    listing = sky(endpoint, "ls", "--recursive", f"s3://{bucket}").stdout
    assert f" dir/{small_file.name}\n" in listing
    assert f" {small_file.name}\n" in listing


def test_cp_download_into_directory(endpoint, bucket, small_file, tmp_path):
    sky(endpoint, "cp", small_file, f"s3://{bucket}/x/y/file.bin")
    sky(endpoint, "cp", f"s3://{bucket}/x/y/file.bin", tmp_path)
    assert sha256(tmp_path / "file.bin") == sha256(small_file)


def test_cp_s3_to_s3(endpoint, bucket, big_file, tmp_path):
    other = "cli-" + uuid.uuid4().hex[:12]
    sky(endpoint, "mb", f"s3://{other}")
    try:
        sky(endpoint, "cp", big_file, f"s3://{bucket}/src.bin")
        r = sky(endpoint, "cp", f"s3://{bucket}/src.bin", f"s3://{other}/copied/")
        assert r.stdout.startswith(f"copy: s3://{bucket}/src.bin -> s3://{other}/copied/src.bin")
        assert "41.9 MB" in r.stdout
        sky(endpoint, "cp", f"s3://{other}/copied/src.bin", tmp_path / "copy.bin")
        assert sha256(tmp_path / "copy.bin") == sha256(big_file)
    finally:
        sky(endpoint, "rb", "--force", f"s3://{other}")


def test_server_without_direct_path_falls_back_to_http(tmp_path_factory, big_file, tmp_path):
    with running_server(tmp_path_factory, "--no-direct") as url:
        sky(url, "mb", "s3://fallback")
        up = sky(url, "cp", big_file, "s3://fallback/f.bin")
        down = sky(url, "cp", "s3://fallback/f.bin", tmp_path / "f.bin")
        assert transport_of(up.stdout) == "http"
        assert transport_of(down.stdout) == "http"
        assert sha256(tmp_path / "f.bin") == sha256(big_file)


# ---- ls, stat, rm ----------------------------------------------------------------------------


def test_ls_prefixes_and_recursive(endpoint, bucket, small_file):
    for key in ("top.bin", "a/one.bin", "a/two.bin", "a/deep/three.bin", "b/four.bin"):
        sky(endpoint, "cp", small_file, f"s3://{bucket}/{key}")
    top = sky(endpoint, "ls", f"s3://{bucket}").stdout.splitlines()
    assert [line.split()[-1] for line in top if " PRE " in line] == ["a/", "b/"]
    objects = [line.split() for line in top if " PRE " not in line]
    assert [(o[-2], o[-1]) for o in objects] == [(str(small_file.stat().st_size), "top.bin")]
    under_a = sky(endpoint, "ls", f"s3://{bucket}/a/").stdout
    assert re.search(r"PRE a/deep/\n", under_a)
    assert " a/one.bin\n" in under_a and " a/two.bin\n" in under_a
    assert "three.bin" not in under_a
    everything = sky(endpoint, "ls", "-r", f"s3://{bucket}").stdout.splitlines()
    assert [line.split()[-1] for line in everything] == sorted(
        ["top.bin", "a/one.bin", "a/two.bin", "a/deep/three.bin", "b/four.bin"])


def test_ls_and_rm_page_through_listings(endpoint, bucket, tmp_path):
    tiny = tmp_path / "tiny"
    tiny.write_bytes(b"x")
    keys = [f"k/{i:02d}" for i in range(25)]
    for key in keys:
        sky(endpoint, "cp", "--no-direct", tiny, f"s3://{bucket}/{key}")
    listed = sky(endpoint, "ls", "-r", "--page-size", "7", f"s3://{bucket}/k/").stdout
    assert [line.split()[-1] for line in listed.splitlines()] == keys
    shallow = sky(endpoint, "ls", "--page-size", "3", f"s3://{bucket}").stdout
    assert shallow.split() == ["PRE", "k/"]
    deleted = sky(endpoint, "rm", "-r", "--page-size", "4", f"s3://{bucket}/k").stdout
    assert deleted.split()[1::2] == [f"s3://{bucket}/{key}" for key in keys]
    assert sky(endpoint, "ls", "-r", f"s3://{bucket}").stdout == ""


def test_stat(endpoint, bucket, small_file):
    sky(endpoint, "cp", small_file, f"s3://{bucket}/s.bin")
    out = sky(endpoint, "stat", f"s3://{bucket}/s.bin").stdout
    fields = dict(re.findall(r"^([A-Za-z ]+): +(.*)$", out, re.M))
    assert fields["Name"] == f"s3://{bucket}/s.bin"
    assert fields["Size"].split()[0] == str(small_file.stat().st_size)
    md5 = hashlib.md5(small_file.read_bytes()).hexdigest()
    assert fields["ETag"] == md5  # one PUT (smaller than a part): the ETag is the MD5
    assert re.search(r"\d{4}", fields["Last modified"])
    assert fields["Content type"]


def test_rm_one_and_recursive(endpoint, bucket, small_file):
    for key in ("keep.bin", "p/one.bin", "p/q/two.bin", "pp.bin"):
        sky(endpoint, "cp", small_file, f"s3://{bucket}/{key}")
    r = sky(endpoint, "rm", f"s3://{bucket}/keep.bin")
    assert f"delete: s3://{bucket}/keep.bin" in r.stdout
    r = sky(endpoint, "rm", "--recursive", f"s3://{bucket}/p/")
    assert sorted(r.stdout.split()) == sorted(
        ["delete:", f"s3://{bucket}/p/one.bin", "delete:", f"s3://{bucket}/p/q/two.bin"])
    left = sky(endpoint, "ls", "-r", f"s3://{bucket}").stdout.splitlines()
    assert [line.split()[-1] for line in left] == ["pp.bin"]


# ---- errors ----------------------------------------------------------------------------------


def test_missing_bucket_errors(endpoint, small_file, tmp_path):
    missing = "cli-missing-" + uuid.uuid4().hex[:8]
    for args in (["ls", f"s3://{missing}"], ["cp", small_file, f"s3://{missing}/k"],
                 ["rb", f"s3://{missing}"]):
        r = sky(endpoint, *args, expect=1)
        assert "NoSuchBucket" in r.stderr, r.stderr
        assert r.stderr.startswith(f"skyway {args[0]}: ")


def test_missing_key_errors(endpoint, bucket, tmp_path):
    for args in (["stat", f"s3://{bucket}/nope"], ["rm", f"s3://{bucket}/nope"],
                 ["cp", f"s3://{bucket}/nope", tmp_path / "nope"],
                 ["cp", "--no-direct", f"s3://{bucket}/nope", tmp_path / "nope"],
                 ["cp", f"s3://{bucket}/nope", f"s3://{bucket}/other"]):
        r = sky(endpoint, *args, expect=1)
        assert "NoSuchKey" in r.stderr, r.stderr
    assert not (tmp_path / "nope").exists()


def test_local_errors(endpoint, bucket, tmp_path):
    r = sky(endpoint, "cp", tmp_path / "absent", f"s3://{bucket}/k", expect=1)
    assert "No such file or directory" in r.stderr
    r = sky(endpoint, "cp", tmp_path, f"s3://{bucket}/k", expect=1)
    assert "not a regular file" in r.stderr
    r = sky(endpoint, "cp", tmp_path / "a", tmp_path / "b", expect=2)
    assert "s3://" in r.stderr


@pytest.mark.parametrize("args", [
    ["cp", "s3://only-one"], ["mb"], ["stat", "s3://b/k", "extra"], ["ls", "--bogus"],
    ["cp", "--parallel", "0", "a", "s3://b/k"], ["cp", "--part-size", "lots", "a", "s3://b/k"],
    ["rm", "--force", "s3://b/k"], ["mb", "--endpoint"],
    ["cp", "--page-size", "5", "a", "s3://b/k"], ["cp", "a", "b"], ["ls", "bucket"],
    ["stat", "s3://bkt"], ["mb", "s3://bkt/key"], ["rm", "s3://bkt"], ["cp", "s3://bkt/", "x"],
])
def test_usage_errors_exit_2(endpoint, args):
    r = sky(endpoint, *args, expect=2)
    assert r.stderr.startswith(f"skyway {args[0]}: ")
    assert "usage: skyway" in r.stderr


def test_help(endpoint):
    assert "--no-direct" in sky(endpoint, "cp", "--help").stderr
    top = subprocess.run([skyway_bin(), "--help"], capture_output=True, text=True)
    for command in ("mb", "rb", "ls", "cp", "rm", "stat"):
        assert f"\n  {command} " in top.stderr


def test_bad_credentials(endpoint):
    env = client_env(endpoint, SKYWAY_SECRET_KEY="wrong")
    r = sky(endpoint, "ls", expect=1, env=env)
    assert "SignatureDoesNotMatch" in r.stderr
    env = client_env(endpoint, SKYWAY_ACCESS_KEY="nobody")
    assert "InvalidAccessKeyId" in sky(endpoint, "ls", expect=1, env=env).stderr


def test_credentials_from_aws_variables(endpoint):
    env = client_env(endpoint, SKYWAY_ACCESS_KEY=None, SKYWAY_SECRET_KEY=None,
                     AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    sky(endpoint, "ls", env=env)
    env = client_env(endpoint, SKYWAY_ACCESS_KEY=None, SKYWAY_SECRET_KEY=None)
    assert "no credentials" in sky(endpoint, "ls", expect=1, env=env).stderr


def test_endpoint_flag_overrides_environment(endpoint):
    env = client_env("http://127.0.0.1:1")  # nothing listens on port 1
    r = sky(endpoint, "ls", expect=1, env=env)
    assert "(endpoint http://127.0.0.1:1)" in r.stderr
    sky(endpoint, "ls", "--endpoint", endpoint, env=env)
    sky(endpoint, "ls", "--endpoint", endpoint.removeprefix("http://"), env=env)


# ---- progress bar ----------------------------------------------------------------------------


def run_on_terminal(args, env, columns=100):
    """Runs skyway with stderr on a pseudo-terminal; returns (exit, stdout, terminal output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen([skyway_bin(), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []

    def drain():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO once the child closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout = proc.stdout.read().decode()
    code = proc.wait(timeout=COMMAND_TIMEOUT_S)
    reader.join(timeout=10)
    os.close(master)
    return code, stdout, b"".join(chunks).decode(errors="replace")


def test_progress_bar_on_a_terminal(endpoint, bucket, big_file, tmp_path):
    env = client_env(endpoint)
    for args in (["cp", big_file, f"s3://{bucket}/p.bin"],
                 ["cp", f"s3://{bucket}/p.bin", tmp_path / "p.bin"]):
        code, stdout, terminal = run_on_terminal(args, env)
        assert code == 0, terminal
        transport_of(stdout)
        frames = [f for f in terminal.replace("\x1b[K", "").split("\r") if f.strip()]
        assert frames, f"no progress drawn: {terminal!r}"
        last = frames[-1].strip()
        assert re.search(r"\[#+\]\s+41\.9 MB / 41\.9 MB\s+100%\s+\S+ MB/s\s+ETA \d+:\d\d$",
                         last), last
        assert all(len(f.rstrip("\r\n")) < 100 for f in frames), frames
    assert sha256(tmp_path / "p.bin") == sha256(big_file)


def test_no_progress_when_not_a_terminal(endpoint, bucket, big_file):
    r = sky(endpoint, "cp", big_file, f"s3://{bucket}/quiet.bin")
    assert r.stderr == ""
    assert "\r" not in r.stdout


def test_bench_gpu_get_needs_a_device_and_checks_its_options(tmp_path):
    # Without a CUDA device (CI) the bench says so and fails; bad options are usage errors.
    run = lambda *a: subprocess.run([skyway_bin(), "bench", "gpu-get", *a], capture_output=True,
                                    text=True, timeout=60)
    r = run("--size", "0")
    assert r.returncode == 2 and "bad --size '0'" in r.stderr and "usage: skyway bench gpu-get" in r.stderr
    r = run("--repeats", "x")
    assert r.returncode == 2 and "bad --repeats" in r.stderr
    r = run("--size", "1M", "--repeats", "1", "--out", str(tmp_path / "gpu-get.json"))
    if r.returncode == 1 and "no CUDA device" in r.stderr:
        return
    # A device: the run completes with the three ways and a verdict.
    assert r.returncode == 0, r.stderr
    assert "direct GET into GPU memory" in r.stdout and "pinned cudaMemcpy H2D" in r.stdout
    assert "PASS" in r.stdout or "FAIL" in r.stdout
