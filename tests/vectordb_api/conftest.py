"""Shared fixtures for the `skyway vectordb` integration tests (Milvus REST v2 API).

The tests start the real binary (SKYWAY_BIN, default ../../build/skyway relative to this folder)
as `skyway vectordb --address 127.0.0.1:0 --data DIR` (or `--s3 http://127.0.0.1:PORT` against a
separately started `skyway server`), and drive it with raw HTTP (this file's Api), curl, and the
Milvus node SDK's HttpClient (sdk_session.mjs). What the server must answer is specified in
/work/shared/milvus-rest-v2.md ("the doc" in messages) and in Milvus's own REST v2 handler.

Processes are stopped by PID only (SIGTERM, or SIGKILL for the crash tests), never by name.

Run with Debian's interpreter:  SKYWAY_BIN=build/skyway /usr/bin/python3 -m pytest -q tests/vectordb_api
(or tests/vectordb_api/run.sh, which installs the npm package first).
"""

import gzip
import http.client
import json
import os
import pathlib
import shutil
import socket
import sys
import time
import uuid
import zlib

import numpy as np
import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "pylib"))
import skyway_server  # noqa: E402
import skyway_vectordb  # noqa: E402

ACCESS_KEY = skyway_vectordb.ACCESS_KEY
SECRET_KEY = skyway_vectordb.SECRET_KEY
TOKEN = f"{ACCESS_KEY}:{SECRET_KEY}"
# The session server seals its growing segment every SEGMENT_ROWS rows, so that the tests that
# insert a few thousand rows search sealed, indexed segments and a growing one together.
SEGMENT_ROWS = int(os.environ.get("VDB_SEGMENT_ROWS", "1000"))
FASHION_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
MAX_LOG = 6000
# How long to poll indexes/describe and get_load_state before failing (VDB_WAIT_S overrides).
WAIT_S = float(os.environ.get("VDB_WAIT_S", "90"))

# Loopback only: never through a proxy.
for _name in ("NO_PROXY", "no_proxy"):
    os.environ[_name] = "127.0.0.1,localhost"
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)


def unique(prefix="c"):
    """A fresh collection name (Milvus names: letters, digits, underscores)."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def short(value, limit=600):
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


# ---- raw HTTP ---------------------------------------------------------------------------------


class Resp:
    """One request and its answer, printable for failure messages."""

    def __init__(self, path, req_text, req_headers, status, headers, body):
        self.path = path
        self.req_text = req_text
        self.req_headers = req_headers
        self.status = status
        self.headers = headers
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        elif headers.get("content-encoding") == "deflate":
            body = zlib.decompress(body)
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def code(self):
        return self.json.get("code") if isinstance(self.json, dict) else None

    @property
    def data(self):
        return self.json.get("data") if isinstance(self.json, dict) else None

    @property
    def message(self):
        return self.json.get("message") if isinstance(self.json, dict) else None

    def __str__(self):
        body = self.body.decode("utf-8", "replace")
        return (f"\n  request:  POST {self.path} {short(self.req_text)}"
                f"\n  response: HTTP {self.status} {short(body, 1500)}")

    __repr__ = __str__


class Api:
    """Milvus REST v2 over raw HTTP (http.client), the way the SDK sends it by default:
    POST, JSON body, `Authorization: Bearer AK:SK`, `Accept-Type-Allow-Int64: false`."""

    def __init__(self, endpoint, token=TOKEN):
        self.endpoint = endpoint
        host, port = endpoint.split("//", 1)[1].split(":")
        self.host, self.port = host, int(port)
        self.token = token

    def post(self, path, body=None, *, raw=None, token=None, allow_int64="false",
             headers=None, content_type="application/json", timeout=120):
        """path: e.g. "collections/create". body: a dict (JSON-encoded), or raw: bytes as is.
        token=False sends no Authorization header at all."""
        full = path if path.startswith("/") else f"/v2/vectordb/{path}"
        data = raw if raw is not None else json.dumps({} if body is None else body).encode()
        hdrs = {"Accept": "application/json"}
        if content_type:
            hdrs["Content-Type"] = content_type
        if allow_int64 is not None:
            hdrs["Accept-Type-Allow-Int64"] = allow_int64
        tok = self.token if token is None else token
        if tok is not False:
            hdrs["Authorization"] = f"Bearer {tok}"
        hdrs.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("POST", full, body=data, headers=hdrs)
            r = conn.getresponse()
            payload = r.read()
            status, rh = r.status, {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()
        req_text = data[:2000].decode("utf-8", "replace") if len(data) <= 2000 else (
            data[:600].decode("utf-8", "replace") + f"... ({len(data)} bytes)")
        return Resp(full, req_text, hdrs, status, rh, payload)

    def ok(self, path, body=None, **kw):
        """The call must succeed: HTTP 200, JSON body, code 0. Returns `data`."""
        __tracebackhide__ = True
        r = self.post(path, body, **kw)
        if not (r.status == 200 and r.json is not None and r.code == 0):
            raise AssertionError(f"expected HTTP 200 with {{\"code\":0,...}}{r}")
        return r.data

    def fail(self, path, body=None, code=None, **kw):
        """The call must be refused Milvus-style: HTTP 200, JSON body, a non-zero code (== code
        when given) and a non-empty message. Returns the Resp."""
        __tracebackhide__ = True
        r = self.post(path, body, **kw)
        want = f"code {code}" if code is not None else "a non-zero code"
        if r.status != 200:
            raise AssertionError(f"expected HTTP 200 (Milvus answers errors with 200) and {want}{r}")
        if not isinstance(r.json, dict):
            raise AssertionError(f"expected a JSON object body with {want}{r}")
        if not (isinstance(r.code, int) and r.code != 0 and (code is None or r.code == code)):
            raise AssertionError(f"expected {want}{r}")
        if not (isinstance(r.message, str) and r.message.strip()):
            raise AssertionError(f"expected a message{r}")
        return r

    # ---- common sequences ----

    def create_collection(self, name, dim, *, extra_fields=(), metric=None, index=None,
                          dynamic=False, pk="id", vec="vec"):
        """Full-schema create (the SDK's form): Int64 pk, FloatVector, Int64 label, + extras."""
        __tracebackhide__ = True
        fields = [{"fieldName": pk, "dataType": "Int64", "isPrimary": True},
                  {"fieldName": vec, "dataType": "FloatVector",
                   "elementTypeParams": {"dim": dim}},
                  {"fieldName": "label", "dataType": "Int64"}, *extra_fields]
        body = {"collectionName": name,
                "schema": {"autoID": False, "enableDynamicField": dynamic, "fields": fields}}
        self.ok("collections/create", body)
        if index:
            self.create_index(name, vec, **index)
        return name

    def create_index(self, coll, field="vec", *, index_type="HNSW", metric="L2", name=None,
                     params=None, wait=True):
        __tracebackhide__ = True
        p = {"index_type": index_type}
        p.update({k: str(v) for k, v in (params or {}).items()})
        name = name or f"{field}_idx"
        self.ok("indexes/create", {"collectionName": coll, "indexParams": [
            {"fieldName": field, "indexName": name, "metricType": metric, "params": p}]})
        if wait:
            return self.wait_index(coll, name)
        return None

    def wait_index(self, coll, index_name, timeout=None):
        """Polls indexes/describe (as the SDK does, every 0.2 s) until indexState is Finished."""
        __tracebackhide__ = True
        timeout = timeout or WAIT_S
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            r = self.post("indexes/describe", {"collectionName": coll, "indexName": index_name})
            last = r
            if not (r.status == 200 and r.code == 0):
                raise AssertionError(f"indexes/describe failed{r}")
            if not (isinstance(r.data, list) and r.data and isinstance(r.data[0], dict)):
                raise AssertionError(
                    f"indexes/describe: expected a non-empty array of index descriptions{r}")
            d = r.data[0]
            if d.get("indexState") == "Failed":
                raise AssertionError(f"index build failed{r}")
            if d.get("indexState") == "Finished":
                return d
            time.sleep(0.2)
        pytest.fail(f"index {index_name} of {coll} not Finished after {timeout}s{last}")

    def load(self, coll, timeout=None):
        """collections/load, then polls get_load_state until LoadStateLoaded."""
        __tracebackhide__ = True
        self.ok("collections/load", {"collectionName": coll})
        return self.wait_loaded(coll, timeout)

    def wait_loaded(self, coll, timeout=None):
        __tracebackhide__ = True
        timeout = timeout or WAIT_S
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            r = self.post("collections/get_load_state", {"collectionName": coll})
            last = r
            if not (r.status == 200 and r.code == 0):
                raise AssertionError(f"get_load_state failed{r}")
            if (r.data or {}).get("loadState") == "LoadStateLoaded":
                return r.data
            time.sleep(0.2)
        pytest.fail(f"{coll} not LoadStateLoaded after {timeout}s{last}")

    def insert(self, coll, rows, partition=None, batch=2000):
        """Inserts rows in batches; checks insertCount and insertIds (strings, in order)."""
        __tracebackhide__ = True
        for i in range(0, len(rows), batch):
            part = rows[i:i + batch]
            body = {"collectionName": coll, "data": part}
            if partition:
                body["partitionName"] = partition
            d = self.ok("entities/insert", body)
            assert d.get("insertCount") == len(part), f"insertCount {d.get('insertCount')} " \
                                                      f"!= {len(part)} rows sent"
            ids = d.get("insertIds")
            assert ids == [str(r["id"]) for r in part], (
                f"insertIds must echo the ids in order as JSON strings (Accept-Type-Allow-Int64: "
                f"false); got {short(ids, 300)}")

    def query(self, coll, flt, fields=("id",), limit=16384, **extra):
        __tracebackhide__ = True
        body = {"collectionName": coll, "filter": flt, "outputFields": list(fields),
                "limit": limit, "consistencyLevel": "Strong", **extra}
        return self.ok("entities/query", body)

    def ids(self, coll, flt="id >= 0", limit=16384, **extra):
        """The set of primary keys matching flt (Int64 keys come back as JSON strings)."""
        __tracebackhide__ = True
        rows = self.query(coll, flt, ("id",), limit, **extra)
        return {pk(r) for r in rows}

    def search(self, coll, vectors, limit=10, field="vec", params=None, **extra):
        __tracebackhide__ = True
        body = {"collectionName": coll, "data": [list(map(float, v)) for v in vectors],
                "annsField": field, "limit": limit, "consistencyLevel": "Strong", **extra}
        if params is not None:
            body["searchParams"] = params
        r = self.post("entities/search", body)
        if not (r.status == 200 and r.code == 0):
            raise AssertionError(f"search failed: expected HTTP 200 with {{\"code\":0,...}}{r}")
        return r


def pk(row, field="id"):
    """The primary key of a result row: an Int64 comes back as a JSON string by default (the doc,
    'Int64 values'); returns it as int."""
    assert field in row, f"result row has no primary key field {field!r}: {short(row, 300)}"
    v = row[field]
    assert isinstance(v, str), (
        f"Int64 primary key must be a JSON string with Accept-Type-Allow-Int64: false; got "
        f"{v!r} ({type(v).__name__}) in {short(row, 300)}")
    return int(v)


def split_hits(resp, nq):
    """Checks the flat search answer (data + topks) and splits it per query."""
    assert isinstance(resp.data, list), f"search data must be a flat array{resp}"
    topks = resp.json.get("topks")
    assert isinstance(topks, list) and len(topks) == nq, (
        f"search answer must carry `topks` with one count per query (nq={nq}){resp}")
    assert sum(topks) == len(resp.data), f"sum(topks) != len(data){resp}"
    out, i = [], 0
    for k in topks:
        out.append(resp.data[i:i + k])
        i += k
    return out


# ---- data -------------------------------------------------------------------------------------


def _idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic == 2051:
        n, r, c = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
        return np.frombuffer(raw, np.uint8, offset=16).reshape(n, r * c)
    assert magic == 2049, f"{path}: not an IDX file"
    return np.frombuffer(raw, np.uint8, offset=8)


_FASHION = {}


def fashion(split="train"):
    """Fashion-MNIST (Debian dataset-fashion-mnist): (images uint8 n x 784, labels uint8)."""
    if split not in _FASHION:
        prefix = "train" if split == "train" else "t10k"
        img = FASHION_DIR / f"{prefix}-images-idx3-ubyte.gz"
        if not img.exists():
            pytest.fail(f"{img} missing: apt-get install dataset-fashion-mnist")
        _FASHION[split] = (_idx(img), _idx(FASHION_DIR / f"{prefix}-labels-idx1-ubyte.gz"))
    return _FASHION[split]


def random_vectors(n, dim, seed):
    """Float32 vectors whose values survive the JSON round trip exactly (multiples of 1/1024)."""
    rng = np.random.default_rng(seed)
    return (rng.integers(-1024, 1024, size=(n, dim)) / 1024.0).astype(np.float32)


def rows_of(vectors, start=0, labels=None, field="vec"):
    out = []
    for i, v in enumerate(vectors):
        row = {"id": start + i, field: [float(x) if x != int(x) else int(x) for x in v.tolist()]}
        row["label"] = int(labels[i]) if labels is not None else (start + i) % 10
        out.append(row)
    return out


def exact_l2(base, queries, k):
    """Squared L2 top-k (ids, distances), the reference for search answers."""
    b = base.astype(np.float64)
    q = queries.astype(np.float64)
    d = (q * q).sum(1)[:, None] - 2 * q @ b.T + (b * b).sum(1)[None, :]
    d = np.maximum(d, 0)
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(d, idx, 1), d


# ---- processes --------------------------------------------------------------------------------

_LIVE = []  # every process started by the current test (and the session's), for failure logs


class Backend:
    """Where a vectordb keeps its objects: "data" (--data DIR) or "s3" (--s3 at a separately
    started `skyway server`). start() starts a vectordb on it; calling it again after stop()
    reuses the same directory / bucket."""

    def __init__(self, kind, base):
        self.kind = kind
        self.base = pathlib.Path(base)
        self.s3_server = None
        self.bucket = None
        if kind == "s3":
            self.s3_server = skyway_server.Server(self.base / "s3data", self.base / "logs").start()
            _LIVE.append(self.s3_server)
            self.bucket = f"vdb-{uuid.uuid4().hex[:12]}"

    def vectordb(self, segment_rows=SEGMENT_ROWS, extra_args=(), name="vectordb"):
        if self.kind == "data":
            v = skyway_vectordb.VectorDB(self.base / "logs", data_dir=self.base / "vdata",
                                         segment_rows=segment_rows, extra_args=extra_args,
                                         name=name)
        else:
            v = skyway_vectordb.VectorDB(self.base / "logs", s3_endpoint=self.s3_server.endpoint,
                                         bucket=self.bucket, segment_rows=segment_rows,
                                         extra_args=extra_args, name=name)
        _LIVE.append(v)
        return v

    def close(self):
        if self.s3_server is not None:
            self.s3_server.stop()


@pytest.fixture(scope="session")
def vdb(tmp_path_factory):
    """The session's vectordb on a data directory, for the tests that neither restart nor kill
    it."""
    base = tmp_path_factory.mktemp("vdb")
    b = Backend("data", base)
    v = b.vectordb().start()
    yield v
    _LIVE.remove(v)
    v.stop()
    shutil.rmtree(base / "vdata", ignore_errors=True)


@pytest.fixture(scope="session")
def api(vdb):
    return Api(vdb.endpoint)


@pytest.fixture
def backend_factory(tmp_path):
    """Makes Backends (each with its own directories); stops every process at teardown."""
    made = []

    def make(kind):
        b = Backend(kind, tmp_path / f"{kind}-{len(made)}")
        made.append(b)
        return b

    yield make
    for p in list(_LIVE):
        if isinstance(p, skyway_vectordb.VectorDB) and p.log_dir.is_relative_to(tmp_path):
            p.stop()
    for b in made:
        b.close()
    _LIVE[:] = [p for p in _LIVE if not p.log_dir.is_relative_to(tmp_path)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries what each vectordb / server wrote to stderr during it."""
    if call.when == "setup":
        item._log_marks = {id(p): p.log_mark() for p in _LIVE}
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        marks = getattr(item, "_log_marks", {})
        for p in _LIVE:
            try:
                text = p.log_since(marks.get(id(p), 0))
            except (AttributeError, OSError):
                continue
            alive = "alive" if p.alive() else "NOT RUNNING"
            label = getattr(p, "name", "server")
            report.sections.append((f"{label} stderr ({alive}, {p.stderr_path.name})",
                                    text[-MAX_LOG:] or "(nothing)"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
