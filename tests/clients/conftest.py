"""Shared fixtures for the Skyway real-client matrix (aws-cli, s3cmd, rclone, AWS SDK for JS v3).

One `skyway server` (SKYWAY_BIN, default ../../build/skyway relative to this folder) is started
per test session on 127.0.0.1 with a port the kernel picks and a fresh temporary data directory;
it is stopped by its PID (SIGTERM, then SIGKILL) at the end. Its stderr goes to a file that the
tests read back when they need the server's view of a failure.

Run with Debian's interpreter:  SKYWAY_BIN=build/skyway /usr/bin/python3 -m pytest -q tests/clients
(or tests/clients/run.sh, which installs the npm packages first). CLIENTS_TIMING=1 with -s prints
how long each client command took.
"""

import hashlib
import http.client
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time
import uuid
from urllib.parse import quote, urlsplit

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "pylib"))
import skyway_server  # noqa: E402  (the server process, shared with tests/integration)
ACCESS_KEY = "AK"
SECRET_KEY = "SK"
REGION = "us-east-1"
MiB = 1024 * 1024



Server = skyway_server.Server


_SERVER = []


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("skyway")
    srv = Server(base / "data", base).start()
    _SERVER.append(srv)
    yield srv
    _SERVER.clear()
    srv.stop()
    # The objects are hundreds of MiB; pytest keeps its last few temp dirs. Keep only the log.
    shutil.rmtree(base / "data", ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries what the server wrote to stderr while the test ran."""
    if call.when == "setup" and _SERVER:
        item._server_log_mark = _SERVER[0].log_mark()
    outcome = yield
    report = outcome.get_result()
    if report.failed and _SERVER and hasattr(item, "_server_log_mark"):
        text = _SERVER[0].log_since(item._server_log_mark)
        alive = "alive" if _SERVER[0].alive() else "NOT RUNNING"
        report.sections.append((f"server stderr ({alive})", text[-8000:] or "(nothing)"))


def make_s3(endpoint, **config):
    cfg = dict(signature_version="s3v4", s3={"addressing_style": "path"},
               retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=60)
    cfg.update(config)
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        config=Config(**cfg))


@pytest.fixture(scope="session")
def s3(server):
    """A boto3 client, used to check what the client under test left on the server."""
    return make_s3(server.endpoint)


def unique_bucket(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def bucket(s3, request):
    """A fresh empty bucket, named after the client under test."""
    prefix = request.module.__name__.replace("test_", "").replace("_", "-")[:20]
    name = unique_bucket(prefix)
    s3.create_bucket(Bucket=name)
    return name


# ---- data -------------------------------------------------------------------------------------


def random_file(path, size, seed=0):
    """Writes `size` pseudo-random (incompressible) bytes to path; returns the sha256 hex.
    Fast: 1 MiB of urandom tiled with a per-MiB counter so no two MiB blocks are alike."""
    block = os.urandom(MiB)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        written = 0
        i = 0
        while written < size:
            chunk = (i.to_bytes(8, "little") + seed.to_bytes(8, "little") + block[16:])
            chunk = chunk[: min(MiB, size - written)]
            f.write(chunk)
            h.update(chunk)
            written += len(chunk)
            i += 1
    return h.hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MiB), b""):
            h.update(chunk)
    return h.hexdigest()


def s3_sha256(s3, bucket, key):
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    h = hashlib.sha256()
    for chunk in iter(lambda: body.read(MiB), b""):
        h.update(chunk)
    return h.hexdigest()


def keys_of(s3, bucket, prefix=""):
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend(o["Key"] for o in page.get("Contents", []))
    return sorted(out)


# Loopback only: never through a proxy (this process's urllib included).
for _name in ("NO_PROXY", "no_proxy"):
    os.environ[_name] = "127.0.0.1,localhost"


def client_env(extra=None):
    """The environment for a client process: this one's, less every AWS_* and RCLONE_* variable
    (an inherited AWS_CA_BUNDLE, for one, makes rclone refuse to start, and a profile or a
    config file would change what the client does), plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(("AWS_", "RCLONE_"))}
    env.update(extra or {})
    return env


def run_cmd(args, env=None, timeout=180, check=True, input=None):
    """Runs a client command; on failure the assertion message carries its output."""
    full_env = client_env(env)
    t0 = time.monotonic()
    p = subprocess.run(args, env=full_env, capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL if input is None else None, input=input)
    if os.environ.get("CLIENTS_TIMING"):
        print(f"[{time.monotonic() - t0:6.2f}s] {' '.join(map(str, args))[:200]}")
    if check:
        assert p.returncode == 0, (
            f"{args!r} exited {p.returncode}\nstdout: {p.stdout.decode(errors='replace')[-3000:]}"
            f"\nstderr: {p.stderr.decode(errors='replace')[-3000:]}")
    return p


# ---- hand-made signed requests ------------------------------------------------------------------


def object_path(bucket, key=""):
    path = "/" + quote(bucket, safe="")
    if key:
        path += "/" + quote(key, safe="/~")
    return path


def sign(method, url, body=b"", headers=None, payload_hash=None):
    """Signs with botocore's SigV4Auth (service s3). payload_hash, when given, is sent as
    x-amz-content-sha256 and signed as is (e.g. STREAMING-UNSIGNED-PAYLOAD-TRAILER); otherwise
    the sha256 of body is. Returns the header list to send."""
    headers = dict(headers or {})
    if not any(k.lower() == "host" for k in headers):
        headers["Host"] = urlsplit(url).netloc
    headers["X-Amz-Content-SHA256"] = payload_hash or hashlib.sha256(body).hexdigest()
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    botocore.auth.SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(req)
    return [(k, v) for k, v in req.headers.items()]


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def xml_code(self):
        m = re.search(rb"<Code>([^<]*)</Code>", self.body)
        return m.group(1).decode() if m else None

    def __repr__(self):
        return f"RawResponse({self.status}, {self.headers}, {self.body[:600]!r})"


def signed_request(server, method, bucket, key="", body=b"", headers=None, query="",
                   payload_hash=None, timeout=60):
    """Signs and sends one path-style request over a fresh connection; returns RawResponse."""
    path = object_path(bucket, key)
    if query:
        path += "?" + query
    hdrs = sign(method, f"http://{server.hostport}{path}", body, headers, payload_hash)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        names = {k.lower() for k, _ in hdrs}
        for k, v in hdrs:
            conn.putheader(k, v)
        if "content-length" not in names and "transfer-encoding" not in names:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        resp = conn.getresponse()
        data = resp.read()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()
