"""collections/*: create (quick form with `dimension`, full schema form), describe, list, has,
drop, rename, get_stats, load, release, get_load_state; authentication; the Int64 header.
Raw HTTP, the way any Milvus REST v2 client sends it (milvus-rest-v2.md)."""

import time

import numpy as np
import pytest

from conftest import Api, pk, random_vectors, rows_of, split_hits, unique


def test_list_is_an_array(api):
    data = api.ok("collections/list", {})
    assert isinstance(data, list), f"collections/list data must be an array, [] when none: {data}"


def test_create_full_schema_describe_has_list_drop(api):
    name = unique("full")
    body = {"collectionName": name, "dbName": "default",
            "schema": {"autoID": False, "enableDynamicField": False, "fields": [
                {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                # Milvus docs send dim as a string, the SDK as a number: accept both.
                {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": "16"}},
                {"fieldName": "label", "dataType": "Int64"},
                {"fieldName": "title", "dataType": "VarChar",
                 "elementTypeParams": {"max_length": 64}},
                {"fieldName": "score", "dataType": "Float"},
                {"fieldName": "flag", "dataType": "Bool"}]},
            # What the SDK always adds; ignored when schema.fields is present (doc).
            "metricType": "COSINE", "primaryFieldName": "id", "vectorFieldName": "vector"}
    assert api.ok("collections/create", body) == {}, "create answers data {}"
    d = api.ok("collections/describe", {"collectionName": name})
    assert d.get("collectionName") == name
    fields = d.get("fields") or []
    assert [f.get("name") for f in fields] == ["id", "vec", "label", "title", "score", "flag"], (
        f"describe fields: {fields}")
    types = {f["name"]: f.get("type") for f in fields}
    assert types == {"id": "Int64", "vec": "FloatVector", "label": "Int64", "title": "VarChar",
                     "score": "Float", "flag": "Bool"}, types
    byname = {f["name"]: f for f in fields}
    assert byname["id"].get("primaryKey") is True
    assert not any(f.get("primaryKey") for f in fields[1:]), fields
    assert {"key": "dim", "value": "16"} in byname["vec"].get("params", []), byname["vec"]
    assert {"key": "max_length", "value": "64"} in byname["title"].get("params", []), (
        f"VarChar max_length in params as {{key, value}}: {byname['title']}")
    assert d.get("load") == "LoadStateNotLoad", f"describe load of a new collection: {d}"
    assert api.ok("collections/has", {"collectionName": name}) == {"has": True}
    assert name in api.ok("collections/list", {})
    # Creating it again: Milvus accepts the identical request (idempotent) and refuses another
    # schema under the same name; either way the collection stays as it was.
    r = api.post("collections/create", body)
    assert r.status == 200 and r.json is not None, r
    other = dict(body, schema=dict(body["schema"], fields=body["schema"]["fields"][:2]))
    api.fail("collections/create", other)
    assert api.ok("collections/describe", {"collectionName": name})["fields"] == fields
    api.ok("collections/drop", {"collectionName": name})
    assert api.ok("collections/has", {"collectionName": name}) == {"has": False}
    assert name not in api.ok("collections/list", {})
    api.fail("collections/describe", {"collectionName": name}, code=100)


def test_create_quick_form(api):
    """Quick setup: {"collectionName", "dimension"} makes an Int64 primary key `id`, a
    FloatVector `vector`, an index with metricType (default COSINE) and loads the collection
    (Milvus createCollection with no schema.fields)."""
    name = unique("quick")
    api.ok("collections/create", {"collectionName": name, "dimension": 8})
    d = api.ok("collections/describe", {"collectionName": name})
    fields = {f.get("name"): f for f in d.get("fields", [])}
    assert "id" in fields and "vector" in fields, f"quick form fields id + vector: {d}"
    assert fields["id"].get("type") == "Int64" and fields["id"].get("primaryKey") is True
    assert fields["vector"].get("type") == "FloatVector"
    assert {"key": "dim", "value": "8"} in fields["vector"].get("params", []), fields["vector"]
    # Indexed on `vector` and loaded without further calls.
    api.wait_loaded(name)
    names = api.ok("indexes/list", {"collectionName": name})
    assert isinstance(names, list) and len(names) == 1, f"quick form creates one index: {names}"
    desc = api.wait_index(name, names[0])
    assert desc.get("fieldName") == "vector" and desc.get("metricType") == "COSINE", desc
    # Usable right away; COSINE scores are similarities (larger is closer, descending).
    vecs = random_vectors(50, 8, seed=1)
    api.insert(name, [{"id": i, "vector": v.tolist()} for i, v in enumerate(vecs)])
    r = api.search(name, [vecs[7]], limit=5, field="vector")
    hits = split_hits(r, 1)[0]
    assert pk(hits[0]) == 7 and abs(hits[0]["distance"] - 1.0) < 1e-4, (
        f"a stored vector is its own nearest neighbour under COSINE (score 1.0){r}")
    scores = [h["distance"] for h in hits]
    assert scores == sorted(scores, reverse=True), f"COSINE hits must be descending{r}"
    api.ok("collections/drop", {"collectionName": name})


def test_create_quick_form_options(api):
    """Quick form with its optional keys: metricType, primaryFieldName, vectorFieldName."""
    name = unique("quick2")
    api.ok("collections/create", {"collectionName": name, "dimension": "4", "metricType": "L2",
                                  "primaryFieldName": "pk", "vectorFieldName": "emb"})
    d = api.ok("collections/describe", {"collectionName": name})
    names = [f.get("name") for f in d.get("fields", [])]
    assert "pk" in names and "emb" in names and "id" not in names and "vector" not in names, d
    api.wait_loaded(name)
    api.ok("entities/insert", {"collectionName": name, "data": [
        {"pk": 1, "emb": [0, 0, 0, 0]}, {"pk": 2, "emb": [1, 1, 1, 1]}, {"pk": 3, "emb": [3, 0, 0, 0]}]})
    r = api.post("entities/search", {"collectionName": name, "data": [[1, 1, 1, 0.5]],
                                     "annsField": "emb", "limit": 3,
                                     "consistencyLevel": "Strong"})
    assert r.status == 200 and r.code == 0, r
    got = [(h.get("pk"), h.get("distance")) for h in r.data]
    assert got == [("2", 0.25), ("1", 3.25), ("3", 6.25)], (
        f"hits keyed by the primary key's name (`pk`, string), squared L2 ascending{r}")
    api.ok("collections/drop", {"collectionName": name})


def test_quick_form_dynamic_field(api):
    """Quick setup enables the dynamic field: unknown keys are kept and can be filtered and
    returned by name (Milvus: EnableDynamic for the quick form)."""
    name = unique("dyn")
    api.ok("collections/create", {"collectionName": name, "dimension": 4})
    api.wait_loaded(name)
    api.ok("entities/insert", {"collectionName": name, "data": [
        {"id": 1, "vector": [1, 0, 0, 0], "color": "red"},
        {"id": 2, "vector": [0, 1, 0, 0], "color": "blue"}]})
    rows = api.ok("entities/query", {"collectionName": name, "filter": 'color == "red"',
                                     "outputFields": ["id", "color"], "limit": 10,
                                     "consistencyLevel": "Strong"})
    assert rows == [{"id": "1", "color": "red"}], rows
    api.ok("collections/drop", {"collectionName": name})


def test_rename(api):
    old, new = unique("old"), unique("new")
    api.create_collection(old, 4)
    api.insert(old, rows_of(random_vectors(20, 4, seed=2)))
    api.ok("collections/rename", {"collectionName": old, "newCollectionName": new})
    names = api.ok("collections/list", {})
    assert new in names and old not in names, names
    assert api.ok("collections/has", {"collectionName": old}) == {"has": False}
    api.fail("collections/describe", {"collectionName": old}, code=100)
    assert api.ok("collections/describe", {"collectionName": new})["collectionName"] == new
    api.create_index(new, index_type="FLAT")
    api.load(new)
    assert api.ids(new) == set(range(20)), "the rows move with the rename"
    # Renaming onto an existing name is refused.
    other = api.create_collection(unique("other"), 4)
    api.fail("collections/rename", {"collectionName": new, "newCollectionName": other})
    api.fail("collections/rename", {"collectionName": old, "newCollectionName": unique("x")},
             code=100)
    for n in (new, other):
        api.ok("collections/drop", {"collectionName": n})


def test_get_stats(api):
    name = api.create_collection(unique("stats"), 4)
    assert api.ok("collections/get_stats", {"collectionName": name}) == {"rowCount": 0}
    api.insert(name, rows_of(random_vectors(1500, 4, seed=3)))  # crosses a segment seal
    deadline = time.monotonic() + 10
    while True:
        d = api.ok("collections/get_stats", {"collectionName": name})
        if d.get("rowCount") == 1500 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert d == {"rowCount": 1500}, f"get_stats: expected {{\"rowCount\": 1500}} (a number), got {d}"
    api.fail("collections/get_stats", {"collectionName": unique("nope")}, code=100)
    api.ok("collections/drop", {"collectionName": name})


def test_load_release_load_state(api):
    name = api.create_collection(unique("load"), 8)
    st = api.ok("collections/get_load_state", {"collectionName": name})
    assert st.get("loadState") == "LoadStateNotLoad", st
    vecs = random_vectors(100, 8, seed=4)
    api.insert(name, rows_of(vecs))  # insert into a collection that is not loaded: allowed
    # Search / query of a collection that is not loaded: Milvus code 101.
    q = {"collectionName": name, "data": [vecs[0].tolist()], "annsField": "vec", "limit": 3}
    api.fail("entities/search", q, code=101)
    api.fail("entities/query", {"collectionName": name, "filter": "id >= 0", "limit": 5},
             code=101)
    api.create_index(name, index_type="FLAT")
    st = api.load(name)
    assert st.get("loadProgress") == 100, st
    assert api.ok("collections/describe", {"collectionName": name}).get("load") == "LoadStateLoaded"
    r = api.search(name, [vecs[0]], limit=3)
    assert pk(r.data[0]) == 0, r
    api.ok("collections/load", {"collectionName": name})  # loading twice is fine
    api.ok("collections/release", {"collectionName": name})
    st = api.ok("collections/get_load_state", {"collectionName": name})
    assert st.get("loadState") == "LoadStateNotLoad", st
    api.fail("entities/search", q, code=101)
    api.load(name)
    assert api.ids(name) == set(range(100))
    api.fail("collections/get_load_state", {"collectionName": unique("nope")}, code=100)
    api.fail("collections/load", {"collectionName": unique("nope")}, code=100)
    api.fail("collections/release", {"collectionName": unique("nope")}, code=100)
    api.ok("collections/drop", {"collectionName": name})


def test_drop_unknown(api):
    # Milvus answers a drop of an absent collection with success (DropCollection is idempotent)
    # or code 100; either way HTTP 200 and JSON, and the server goes on.
    r = api.post("collections/drop", {"collectionName": unique("nope")})
    assert r.status == 200 and r.json is not None and r.code in (0, 100), r
    assert isinstance(api.ok("collections/list", {}), list)


@pytest.mark.parametrize("token", [False, "", "AK:wrong", "nobody:SK", "AK"])
def test_auth_required(api, token):
    """Every request needs `Authorization: Bearer ACCESS:SECRET`; otherwise HTTP 200 with a
    non-zero code (Milvus: 1800) and nothing done."""
    name = unique("auth")
    r = api.post("collections/create", {"collectionName": name, "dimension": 4}, token=token)
    assert r.status == 200 and isinstance(r.code, int) and r.code != 0 and r.message, (
        f"unauthenticated request must get HTTP 200 with a non-zero code{r}")
    assert api.ok("collections/has", {"collectionName": name}) == {"has": False}, (
        "an unauthenticated create must not create anything")
    for path in ("collections/list", "entities/query", "indexes/list", "partitions/list"):
        r = api.post(path, {"collectionName": name}, token=token)
        assert r.status == 200 and isinstance(r.code, int) and r.code != 0, r


def test_int64_header(api):
    """Int64 values (pk, Int64 scalars, insertIds) are JSON strings with
    Accept-Type-Allow-Int64: false and JSON numbers with true."""
    name = api.create_collection(unique("i64"), 4)
    big = 2 ** 62 + 12345   # not representable as a double
    vec = [0.5, 0.25, 0, 1]
    r = api.post("entities/insert", {"collectionName": name,
                                     "data": [{"id": big, "vec": vec, "label": -big}]},
                 allow_int64="true")
    assert r.code == 0 and r.data.get("insertIds") == [big], (
        f"insertIds as numbers with Accept-Type-Allow-Int64: true{r}")
    d = api.ok("entities/insert", {"collectionName": name,
                                   "data": [{"id": 7, "vec": vec, "label": 3}]})
    assert d.get("insertIds") == ["7"], d
    api.create_index(name, index_type="FLAT")
    api.load(name)
    body = {"collectionName": name, "filter": f"id == {big}", "outputFields": ["id", "label"],
            "limit": 10}
    rs = api.ok("entities/query", body)
    assert rs == [{"id": str(big), "label": str(-big)}], (
        f"Int64 values as exact decimal strings with Accept-Type-Allow-Int64: false: {rs}")
    r = api.post("entities/query", body, allow_int64="true")
    assert r.code == 0 and r.data == [{"id": big, "label": -big}], (
        f"Int64 values as JSON numbers with Accept-Type-Allow-Int64: true{r}")
    s = api.post("entities/search", {"collectionName": name, "data": [vec], "annsField": "vec",
                                     "limit": 1, "outputFields": ["label"]})
    assert s.code == 0 and s.data[0].get("id") in (str(big), "7") and isinstance(
        s.data[0].get("label"), str), s
    s = api.post("entities/search", {"collectionName": name, "data": [vec], "annsField": "vec",
                                     "limit": 1, "outputFields": ["label"]}, allow_int64="true")
    assert s.code == 0 and isinstance(s.data[0].get("id"), int) and isinstance(
        s.data[0].get("label"), int), s
    api.ok("collections/drop", {"collectionName": name})


def test_sdk_headers_and_content_type(api):
    """What the SDK really sends: `content-type: text/plain;charset=UTF-8`, a bogus `ContentType`
    header, `dbName` in the body, Accept-Encoding gzip. Parse the body as JSON regardless."""
    name = unique("hdr")
    r = api.post("collections/create",
                 {"collectionName": name, "dbName": "default", "schema": {
                     "autoID": False, "enableDynamicField": False, "fields": [
                         {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                         {"fieldName": "vec", "dataType": "FloatVector",
                          "elementTypeParams": {"dim": 4}}]}},
                 content_type="text/plain;charset=UTF-8",
                 headers={"ContentType": "application/json", "Accept-Encoding": "gzip, deflate",
                          "Connection": "keep-alive", "user-agent": "node"})
    assert r.status == 200 and r.code == 0, r
    r = api.post("collections/has", {"collectionName": name}, content_type=None)
    assert r.status == 200 and r.code == 0 and r.data == {"has": True}, r
    api.ok("collections/drop", {"collectionName": name, "dbName": "default"})
