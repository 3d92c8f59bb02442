"""Shared fixtures for the Skyway integration tests.

The tests start the real `skyway server` binary (SKYWAY_BIN, default ../../build/skyway
relative to this folder) on 127.0.0.1 with a port the kernel picks, each server in a fresh data
directory, and drive it with real S3 clients (boto3, aws-cli, hand-made signed requests).
Servers are always stopped by their PID, never by name.

Run with Debian's interpreter:  /usr/bin/python3 -m pytest -q tests/integration
"""

import hashlib
import http.client
import pathlib
import re
import socket
import sys
import uuid
from unittest import mock
from urllib.parse import quote, urlsplit

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "pylib"))
import skyway_server  # noqa: E402  (the server process, shared with tests/clients)
ACCESS_KEY = "AK"
SECRET_KEY = "SK"
REGION = "us-east-1"



class Server(skyway_server.Server):
    """The shared server process, with a boto3 client at hand."""

    def client(self, **config):
        return make_client(self.endpoint, **config)


def make_client(endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, **config):
    cfg = dict(signature_version="s3v4", s3={"addressing_style": "path"},
               retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30)
    cfg.update(config)
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                        config=Config(**cfg))


def unique_bucket_name(prefix="it"):
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def make_bucket(s3, prefix="it"):
    name = unique_bucket_name(prefix)
    s3.create_bucket(Bucket=name)
    return name


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server shared by the tests that do not restart or crash it."""
    base = tmp_path_factory.mktemp("shared-server")
    srv = Server(base / "data", base / "logs").start()
    yield srv
    srv.stop()  # its exit status is checked by test_lifecycle.py, not here


@pytest.fixture
def server_factory(tmp_path):
    """Makes dedicated servers (each with its own data dir); stops them all at teardown."""
    made = []

    def make(data_dir=None, extra_args=()):
        n = len(made)
        srv = Server(data_dir or tmp_path / f"data{n}", tmp_path / f"logs{n}", extra_args)
        made.append(srv)
        return srv.start()

    yield make
    for srv in made:
        srv.stop()


@pytest.fixture(scope="session")
def s3(server):
    return server.client()


@pytest.fixture
def bucket(s3):
    return make_bucket(s3)


# ---- hand-made requests -------------------------------------------------------------------------


def object_path(bucket, key=""):
    """Path-style request path, percent-encoded the way botocore encodes it."""
    path = "/" + quote(bucket, safe="")
    if key:
        path += "/" + quote(key, safe="/~")
    return path


def sign(method, url, body=b"", headers=None, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
         region=REGION, skew_seconds=0):
    """Signs a request with botocore's S3 SigV4 signer; returns the header list to send.

    url: full URL with the path already percent-encoded (its host:port becomes the Host).
    skew_seconds: pretend the client clock is off by that much.
    """
    headers = dict(headers or {})
    if not any(k.lower() == "host" for k in headers):
        headers["Host"] = urlsplit(url).netloc
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    signer = botocore.auth.S3SigV4Auth(Credentials(access_key, secret_key), "s3", region)
    if skew_seconds:
        import datetime as real_datetime

        fake = mock.MagicMock()
        fake.datetime.utcnow.return_value = (
            real_datetime.datetime.utcnow() + real_datetime.timedelta(seconds=skew_seconds))
        with mock.patch.object(botocore.auth, "datetime", fake):
            signer.add_auth(req)
    else:
        signer.add_auth(req)
    return [(k, v) for k, v in req.headers.items()]


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict, lower-case names
        self.body = body

    def xml_code(self):
        m = re.search(rb"<Code>([^<]*)</Code>", self.body)
        return m.group(1).decode() if m else None

    def __repr__(self):
        return f"RawResponse({self.status}, {self.headers}, {self.body[:500]!r})"


def http_request(port, method, path, body=b"", headers=(), timeout=30):
    """One request over a fresh http.client connection to 127.0.0.1:port. headers is a list of
    pairs sent verbatim (a Host among them replaces the default)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        names = {k.lower() for k, _ in headers}
        conn.putrequest(method, path, skip_host="host" in names, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        if "content-length" not in names and (body or method in ("PUT", "POST")):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        resp = conn.getresponse()
        data = resp.read()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def signed_request(server, method, bucket="", key="", body=b"", headers=None, query="",
                   host=None, **sign_args):
    """Signs (botocore SigV4) and sends a path-style request; returns a RawResponse."""
    path = object_path(bucket, key) if bucket else "/"
    if query:
        path += "?" + query
    url = f"http://{host or f'127.0.0.1:{server.port}'}{path}"
    hdrs = sign(method, url, body, headers, **sign_args)
    return http_request(server.port, method, path, body, hdrs)


class _StreamSock:
    """Hands http.client one shared buffered stream that it cannot close (it closes the stream
    it reads from once a body is complete)."""

    class _Unclosable:
        def __init__(self, stream):
            self._stream = stream

        def __getattr__(self, name):
            return getattr(self._stream, name)

        def close(self):
            pass

    def __init__(self, stream):
        self.stream = self._Unclosable(stream)

    def makefile(self, *args, **kwargs):
        return self.stream


def read_http_response(sock, timeout=10, stream=None, method=None):
    """Reads one HTTP response from a raw socket; returns RawResponse (body by Content-Length,
    or to EOF). To read several responses from one connection, pass the same stream (a
    sock.makefile("rb")) each time."""
    sock.settimeout(timeout)
    resp = http.client.HTTPResponse(_StreamSock(stream) if stream else sock, method=method)
    resp.begin()
    data = resp.read()
    return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)


def raw_connect(port, timeout=10):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def data_files(data_dir):
    """Every file under DATA/objects/*/ (the object data files)."""
    root = pathlib.Path(data_dir) / "objects"
    return [p for sub in root.iterdir() if sub.is_dir() for p in sub.iterdir()]
