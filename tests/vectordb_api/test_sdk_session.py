"""The Milvus node SDK's HttpClient (@zilliz/milvus2-sdk-node, default settings) runs the doc's
"typical client session" (milvus-rest-v2.md, "Calls") against `skyway vectordb`, once on a data
directory and once on a separately started `skyway server` (--s3). sdk_session.mjs prints what
the SDK returned for each step; each step is checked here as its own test.

Data: the first 2000 Fashion-MNIST training images (dim 784, whole numbers 0..255) with their
labels, inserted in one request (~4.5 MB of JSON, as in the doc); queries from the test set."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import (HERE, TOKEN, WAIT_S, _LIVE, Backend, exact_l2, fashion, unique)

SCRIPT = HERE / "sdk_session.mjs"
STEPS = re.findall(r'^await step\("([^"]+)"', SCRIPT.read_text(), re.M)
N = 2000
GET_IDS = [0, 1, 1999, 59999]      # 59999 is absent
DELETE_IDS = [17, 616]
FILTER_LABEL = 3


@pytest.fixture(scope="module", params=["data", "s3"])
def session(request, tmp_path_factory):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (apt-get install nodejs npm)")
    if not (HERE / "node_modules/@zilliz/milvus2-sdk-node/dist/milvus/HttpClient.js").exists():
        pytest.fail(f"run `npm ci` in {HERE} first (run.sh / the ctest test does it)")
    kind = request.param
    base = tmp_path_factory.mktemp(f"sdk-{kind}")
    backend = Backend(kind, base)
    v = backend.vectordb(name=f"vectordb-{kind}").start()
    try:
        images, labels = fashion("train")
        base_vecs = images[:N].astype(np.float32)
        queries = fashion("test")[0][:3].astype(np.float32)
        rows = [{"id": i, "vec": images[i].tolist(), "label": int(labels[i])} for i in range(N)]
        inp = {"endpoint": v.endpoint, "token": TOKEN, "collection": unique("sdk"), "dim": 784,
               "rows": rows, "queries": queries.astype(int).tolist(), "getIds": GET_IDS,
               "deleteIds": DELETE_IDS, "filterLabel": FILTER_LABEL,
               "deletedVectors": [images[i].tolist() for i in DELETE_IDS]}
        path = base / "input.json"
        path.write_text(json.dumps(inp))
        p = subprocess.run([node, str(SCRIPT)], cwd=HERE, capture_output=True, timeout=600,
                           env={"PATH": "/usr/bin:/bin", "SESSION_INPUT": str(path),
                                "NO_PROXY": "127.0.0.1", "HOME": str(base),
                                "VDB_WAIT_S": str(WAIT_S)})
        out = p.stdout.decode(errors="replace")
        results = {}
        for line in out.splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            results[obj.get("step")] = obj
        yield {"results": results, "stdout": out, "stderr": p.stderr.decode(errors="replace"),
               "rc": p.returncode, "base": base_vecs, "labels": labels[:N], "queries": queries,
               "images": images, "kind": kind, "coll": inp["collection"], "vdb": v,
               "backend": backend}
    finally:
        v.stop()
        if v in _LIVE:
            _LIVE.remove(v)
        if backend.s3_server in _LIVE:
            _LIVE.remove(backend.s3_server)
        backend.close()
        shutil.rmtree(base / "vdata", ignore_errors=True)
        shutil.rmtree(base / "s3data", ignore_errors=True)


def result(session, name):
    """The SDK's return value for a step; fails with the script's output when it threw."""
    r = session["results"].get(name)
    assert r is not None, (f"step {name} did not run (node exit {session['rc']})\n"
                           f"{session['stdout'][-3000:]}\n{session['stderr'][-3000:]}")
    assert "error" not in r, f"the SDK threw in step {name}: {r['error']} (HTTP status " \
                             f"{r.get('status')}); the server must answer HTTP 200 + JSON"
    return r["result"]


def ok(session, name):
    res = result(session, name)
    assert isinstance(res, dict) and res.get("code") == 0, (
        f"step {name}: expected {{\"code\":0,...}}, got {json.dumps(res)[:1500]}")
    return res


def check_hits(hits, session, q, k=10, label=None):
    """hits: one query's rows. Checks keys, Int64-as-string, ascending squared L2 equal to the
    exact distance of that id, and tie-aware recall against exact search."""
    base = session["base"]
    mask = np.ones(len(base), bool) if label is None else (session["labels"] == label)
    cand = np.nonzero(mask)[0]
    idx, dist, _ = exact_l2(base[cand], q[None, :], k)
    kth = dist[0, -1]
    assert len(hits) == k, f"expected {k} hits, got {len(hits)}: {json.dumps(hits)[:800]}"
    prev = -1.0
    good = 0
    for h in hits:
        assert isinstance(h.get("id"), str), f"Int64 id must be a JSON string: {h}"
        assert "distance" in h, f"hit has no distance: {h}"
        i = int(h["id"])
        true = float(((base[i].astype(np.float64) - q) ** 2).sum())
        assert abs(h["distance"] - true) <= 1e-4 * max(1.0, true), (
            f"hit {h}: distance must be the squared L2 distance {true} (the doc: no square root)")
        assert h["distance"] >= prev - 1e-3, f"L2 hits must be ascending: {hits}"
        prev = h["distance"]
        if mask[i] and true <= kth * (1 + 1e-6):
            good += 1
    assert good >= 0.9 * k, (f"only {good}/{k} hits are among the exact top {k} "
                             f"(exact ids {cand[idx[0]].tolist()}); hits {json.dumps(hits)[:800]}")


def test_steps_found():
    assert len(STEPS) >= 25, STEPS


def test_session_ran_to_the_end(session):
    assert "__done__" in session["results"], (
        f"node exit {session['rc']}\n{session['stdout'][-3000:]}\n{session['stderr'][-3000:]}")


def test_list_before(session):
    res = ok(session, "list_before")
    assert isinstance(res["data"], list), f"list data must be an array ([] when none): {res}"
    assert session["coll"] not in res["data"]


def test_create(session):
    ok(session, "create")


def test_describe(session):
    d = ok(session, "describe")["data"]
    assert d.get("collectionName") == session["coll"], d
    fields = {f.get("name"): f for f in d.get("fields", [])}
    assert list(fields) == ["id", "vec", "label"], (
        f"fields must be the schema's, in order; the SDK's quick-setup keys (vectorFieldName "
        f"'vector', COSINE) must be ignored when schema.fields is given: {d.get('fields')}")
    assert fields["id"].get("type") == "Int64" and fields["id"].get("primaryKey") is True, fields
    assert fields["id"].get("autoId") is False, fields["id"]
    assert fields["vec"].get("type") == "FloatVector", (
        f"v2 type is plain FloatVector (v1 used FloatVector(784)): {fields['vec']}")
    assert {"key": "dim", "value": "784"} in fields["vec"].get("params", []), (
        f"dim must be in params as {{key, value}} with a string value: {fields['vec']}")
    assert fields["label"].get("type") == "Int64", fields["label"]


def test_has(session):
    assert ok(session, "has")["data"] == {"has": True}


def test_load_state_new(session):
    d = ok(session, "load_state_new")["data"]
    assert d.get("loadState") == "LoadStateNotLoad", (
        f"a collection created with a schema and no indexParams is not loaded (doc): {d}")


def test_insert(session):
    d = ok(session, "insert")["data"]
    assert d.get("insertCount") == N, d.get("insertCount")
    assert d.get("insertIds") == [str(i) for i in range(N)], (
        f"insertIds: the ids in order as JSON strings: {json.dumps(d.get('insertIds'))[:300]}")


def test_create_index(session):
    ok(session, "create_index")


def test_describe_index_poll(session):
    r = result(session, "describe_index_poll")
    assert r["done"], f"indexState never Finished after {r['polls']} polls: {r['last']}"
    d = r["last"]["data"][0]
    for k, v in {"indexName": "vec_idx", "fieldName": "vec", "indexType": "HNSW",
                 "metricType": "L2", "indexState": "Finished", "pendingRows": 0,
                 "failReason": ""}.items():
        assert d.get(k) == v, f"indexes/describe {k}: expected {v!r}, got {d.get(k)!r} in {d}"
    assert isinstance(d.get("totalRows"), int) and d.get("indexedRows") == d.get("totalRows"), d


def test_list_indexes(session):
    assert ok(session, "list_indexes")["data"] == ["vec_idx"]


def test_load(session):
    ok(session, "load")


def test_load_state_poll(session):
    r = result(session, "load_state_poll")
    assert r["done"], f"never LoadStateLoaded: {r['last']}"
    assert r["last"]["data"].get("loadProgress") == 100, r["last"]


def test_describe_loaded(session):
    d = ok(session, "describe_loaded")["data"]
    assert d.get("load") == "LoadStateLoaded", d.get("load")
    idx = d.get("indexes")
    assert isinstance(idx, list) and any(
        i.get("fieldName") == "vec" and i.get("indexName") == "vec_idx"
        and i.get("metricType") == "L2" for i in idx), f"describe indexes: {idx}"


def test_get_stats(session):
    d = ok(session, "get_stats")["data"]
    assert d.get("rowCount") == N, f"get_stats rowCount: expected {N}, got {d}"


def test_search_nq1(session):
    res = ok(session, "search_nq1")
    assert res.get("topks") == [10], f"topks is required: {json.dumps(res)[:500]}"
    assert isinstance(res["data"], list) and all(isinstance(h, dict) for h in res["data"]), (
        "with nq=1 data stays flat")
    check_hits(res["data"], session, session["queries"][0])


def test_search_nq3(session):
    res = ok(session, "search_nq3")
    assert res.get("topks") == [10, 10, 10], res.get("topks")
    assert isinstance(res["data"], list) and len(res["data"]) == 3, (
        "the SDK splits data per query with topks; expected 3 groups")
    for qi, hits in enumerate(res["data"]):
        check_hits(hits, session, session["queries"][qi])


def test_search_filtered(session):
    res = ok(session, "search_filtered")
    for h in res["data"]:
        assert h.get("label") == str(FILTER_LABEL), (
            f"every hit must satisfy label == {FILTER_LABEL}, and label (Int64) comes back as a "
            f"JSON string: {h}")
    check_hits(res["data"], session, session["queries"][0], label=FILTER_LABEL)


def test_search_flat_params(session):
    res = ok(session, "search_flat_params")
    check_hits(res["data"], session, session["queries"][1], k=5)


def test_get(session):
    rows = ok(session, "get")["data"]
    by_id = {r.get("id"): r for r in rows}
    assert sorted(by_id) == sorted(str(i) for i in GET_IDS if i < N), (
        f"get: one row per present id (ids as strings), none for an absent id: {list(by_id)}")
    for i in GET_IDS[:3]:
        r = by_id[str(i)]
        assert r.get("label") == str(int(session["labels"][i])), r.get("label")
        assert r.get("vec") == session["images"][i].tolist(), (
            f"get must return the stored vector exactly, as a plain array of numbers; id {i}: "
            f"{json.dumps(r.get('vec'))[:200]}")


def test_query(session):
    rows = ok(session, "query")["data"]
    want = sorted([{"id": str(i), "label": str(int(session["labels"][i]))}
                   for i in GET_IDS if i < N], key=lambda r: r["id"])
    assert sorted(rows, key=lambda r: r.get("id")) == want


def test_query_int64_numbers(session):
    rows = ok(session, "query_int64")["data"]
    want = sorted([{"id": i, "label": int(session["labels"][i])} for i in GET_IDS if i < N],
                  key=lambda r: r["id"])
    assert sorted(rows, key=lambda r: r.get("id")) == want, (
        "with Accept-Type-Allow-Int64: true Int64 values are JSON numbers")


def test_delete(session):
    ok(session, "delete")


def test_get_after_delete(session):
    assert ok(session, "get_after_delete")["data"] == [], "a delete must hide rows from get"


def test_query_after_delete(session):
    assert ok(session, "query_after_delete")["data"] == [], "a delete must hide rows from query"


def test_search_after_delete(session):
    res = ok(session, "search_after_delete")
    assert res.get("topks") == [10, 10], res.get("topks")
    for hits in res["data"]:
        ids = [h.get("id") for h in hits]
        assert not set(ids) & {str(i) for i in DELETE_IDS}, (
            f"a delete must hide rows from search: {ids}")
        assert len(ids) == 10


def test_no_auth(session):
    res = result(session, "no_auth")
    assert isinstance(res, dict) and res.get("code") not in (0, None), (
        f"a request without credentials (`Authorization: Bearer`) must get HTTP 200 with a "
        f"non-zero code (1800): {res}")


def test_drop(session):
    ok(session, "drop")


def test_list_after(session):
    assert session["coll"] not in ok(session, "list_after")["data"]


def test_has_after(session):
    assert ok(session, "has_after")["data"] == {"has": False}


def test_describe_after(session):
    res = result(session, "describe_after")
    assert isinstance(res, dict) and res.get("code") == 100, (
        f"describe of a dropped collection: Milvus answers HTTP 200 with "
        f"{{\"code\":100,\"message\":\"collection not found[...]\"}}; got {res}")
    assert res.get("message"), res
