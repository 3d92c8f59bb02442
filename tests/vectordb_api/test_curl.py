"""curl, as the Milvus docs use it: `curl -X POST URL -H "Authorization: Bearer ..." -d '{...}'`.
Also curl's own defaults: -d without a Content-Type header sends
application/x-www-form-urlencoded, which the server must still read as JSON (the doc:
"Parse the body as JSON whatever the Content-Type says"), and `Expect: 100-continue` for a big
--data-binary @file."""

import json
import shutil
import subprocess

import pytest

from conftest import TOKEN, random_vectors, unique


def curl(api, path, body, *, content_type="application/json", token=TOKEN, data_file=None):
    exe = shutil.which("curl")
    if exe is None:
        pytest.fail("curl is not installed (apt-get install curl)")
    args = [exe, "-sS", "--noproxy", "*", "-X", "POST", f"{api.endpoint}/v2/vectordb/{path}",
            "-w", "\n%{http_code}"]
    if token is not None:
        args += ["-H", f"Authorization: Bearer {token}"]
    if content_type:
        args += ["-H", f"Content-Type: {content_type}"]
    if data_file:
        args += ["--data-binary", f"@{data_file}"]
    else:
        args += ["-d", json.dumps(body)]
    p = subprocess.run(args, capture_output=True, timeout=120)
    assert p.returncode == 0, f"curl failed: {p.stderr.decode(errors='replace')}"
    out, _, status = p.stdout.decode().rpartition("\n")
    try:
        j = json.loads(out)
    except ValueError:
        j = None
    return int(status), j, out


def test_curl_session(api, tmp_path):
    name = unique("curl")
    status, j, out = curl(api, "collections/create", {
        "collectionName": name, "schema": {"autoID": False, "enableDynamicField": False, "fields": [
            {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
            {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": "8"}},
            {"fieldName": "label", "dataType": "Int64"}]}})
    assert status == 200 and j == {"code": 0, "data": {}}, out
    vecs = random_vectors(3000, 8, seed=51)
    body = {"collectionName": name,
            "data": [{"id": i, "vec": v.tolist(), "label": i % 5} for i, v in enumerate(vecs)]}
    f = tmp_path / "insert.json"
    f.write_text(json.dumps(body))
    status, j, out = curl(api, "entities/insert", None, data_file=f)
    assert status == 200 and j and j.get("code") == 0 and j["data"]["insertCount"] == 3000, out[:500]
    status, j, out = curl(api, "indexes/create", {"collectionName": name, "indexParams": [
        {"fieldName": "vec", "indexName": "vec_idx", "metricType": "L2",
         "params": {"index_type": "HNSW", "M": "8", "efConstruction": "64"}}]})
    assert status == 200 and j and j.get("code") == 0, out
    api.wait_index(name, "vec_idx")
    status, j, out = curl(api, "collections/load", {"collectionName": name})
    assert status == 200 and j and j.get("code") == 0, out
    api.wait_loaded(name)
    # -d without -H Content-Type: curl sends application/x-www-form-urlencoded.
    status, j, out = curl(api, "entities/search", {
        "collectionName": name, "data": [vecs[10].tolist()], "annsField": "vec", "limit": 3,
        "outputFields": ["label"]}, content_type=None)
    assert status == 200 and j and j.get("code") == 0, out
    assert j["data"][0]["id"] == "10" and j["data"][0]["label"] == "0", out
    assert j.get("topks") == [3], out
    status, j, out = curl(api, "entities/query", {
        "collectionName": name, "filter": "label == 4 and id < 20", "outputFields": ["label"]})
    assert status == 200 and j and sorted(r["id"] for r in j["data"]) == ["14", "19", "4", "9"], out
    status, j, out = curl(api, "collections/describe", {"collectionName": name}, token=None)
    assert status == 200 and j and j.get("code") not in (0, None), (
        f"no Authorization header: HTTP 200 with a non-zero code; got {out}")
    status, j, out = curl(api, "collections/drop", {"collectionName": name})
    assert status == 200 and j and j.get("code") == 0, out
    status, j, out = curl(api, "collections/describe", {"collectionName": name})
    assert status == 200 and j and j.get("code") == 100, out
