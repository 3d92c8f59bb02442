"""Bad input: wrong dimension, wrong types, unknown / missing fields, malformed JSON, filter syntax
errors, a 100 MB body, unknown collections, bad schemas and search arguments. Each must get a
Milvus-style error (HTTP 200, JSON body, non-zero code, a message), store / delete nothing (the
row count is unchanged), and leave the server serving (the next request works)."""

import json
import select
import socket
import time

import pytest

from conftest import pk, random_vectors, rows_of, unique

DIM = 8
N = 50
V = [0.5] * DIM


@pytest.fixture(scope="module")
def coll(api):
    name = api.create_collection(unique("bad"), DIM, extra_fields=[
        {"fieldName": "tag", "dataType": "VarChar", "elementTypeParams": {"max_length": 16}}])
    rows = rows_of(random_vectors(N, DIM, seed=31))
    for r in rows:
        r["tag"] = "t"
    api.insert(name, rows)
    api.create_index(name, index_type="FLAT")
    api.load(name)
    yield name
    api.ok("collections/drop", {"collectionName": name})


def unchanged(api, coll):
    """The server still serves and the collection still holds exactly ids 0..N-1 with their
    labels. When not, puts the rows back (so that one wrongly accepted request does not fail
    every later test of the module) and fails."""
    __tracebackhide__ = True
    assert isinstance(api.ok("collections/list", {}), list), "server stopped serving"
    rows = api.query(coll, "id >= 0", ("label",))
    ids = {pk(r) for r in rows}
    wrong = sorted(pk(r) for r in rows if pk(r) < N and r.get("label") != str(pk(r) % 10))
    if ids == set(range(N)) and not wrong:
        return
    extra, missing = sorted(ids - set(range(N))), sorted(set(range(N)) - ids)
    api.post("entities/delete", {"collectionName": coll, "filter": f"id >= {N}"})
    fix = rows_of(random_vectors(N, DIM, seed=31))
    for r in fix:
        r["tag"] = "t"
    api.post("entities/upsert", {"collectionName": coll, "data": fix})
    raise AssertionError(f"the refused request changed the data: extra ids {extra[:10]}, "
                         f"missing ids {missing[:10]}, changed rows {wrong[:10]}")


def good(i):
    return {"id": i, "vec": V, "label": 1, "tag": "t"}


BAD_ROWS = {
    "dim_short": {"id": 1000, "vec": V[:-1], "label": 1, "tag": "t"},
    "dim_long": {"id": 1000, "vec": V + [0.5], "label": 1, "tag": "t"},
    "dim_empty": {"id": 1000, "vec": [], "label": 1, "tag": "t"},
    "vec_string_elem": {"id": 1000, "vec": V[:-1] + ["x"], "label": 1, "tag": "t"},
    "vec_not_array": {"id": 1000, "vec": 0.5, "label": 1, "tag": "t"},
    "vec_null": {"id": 1000, "vec": None, "label": 1, "tag": "t"},
    "vec_object": {"id": 1000, "vec": {str(i): 0.5 for i in range(DIM)}, "label": 1, "tag": "t"},
    "label_string": {"id": 1000, "vec": V, "label": "abc", "tag": "t"},
    "label_float": {"id": 1000, "vec": V, "label": 1.5, "tag": "t"},
    "label_bool": {"id": 1000, "vec": V, "label": True, "tag": "t"},
    "label_overflow": {"id": 1000, "vec": V, "label": 2 ** 64, "tag": "t"},
    "id_string": {"id": "x", "vec": V, "label": 1, "tag": "t"},
    "id_null": {"id": None, "vec": V, "label": 1, "tag": "t"},
    "id_missing": {"vec": V, "label": 1, "tag": "t"},
    "label_missing": {"id": 1000, "vec": V, "tag": "t"},
    "vec_missing": {"id": 1000, "label": 1, "tag": "t"},
    "tag_number": {"id": 1000, "vec": V, "label": 1, "tag": 5},
    "tag_too_long": {"id": 1000, "vec": V, "label": 1, "tag": "x" * 17},
    "unknown_field": {"id": 1000, "vec": V, "label": 1, "tag": "t", "color": "red"},
    "row_not_object": [1000, V, 1],
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_row_in_batch(coll, api, case):
    """One bad row among good ones: the whole insert is refused, none of its rows stored."""
    rows = [good(1001), good(1002), BAD_ROWS[case], good(1003)]
    r = api.fail("entities/insert", {"collectionName": coll, "data": rows})
    unchanged(api, coll)
    if case.startswith("dim"):
        assert "dim" in r.message.lower() or str(DIM) in r.message, (
            f"message should say what is wrong (the dimension){r}")
    if case == "unknown_field":
        assert "color" in r.message, f"message should name the unknown field{r}"


@pytest.mark.parametrize("case", ["dim_short", "label_string", "unknown_field", "id_missing"])
def test_bad_row_upsert(coll, api, case):
    rows = [good(5), BAD_ROWS[case]]
    api.fail("entities/upsert", {"collectionName": coll, "data": rows})
    unchanged(api, coll)
    got = api.query(coll, "id == 5", ("label",))
    assert got == [{"id": "5", "label": "5"}], f"a refused upsert must not touch id 5: {got}"


@pytest.mark.parametrize("data", [None, {}, "rows", [], 5])
def test_bad_data_container(coll, api, data):
    body = {"collectionName": coll}
    if data is not None:
        body["data"] = data
    api.fail("entities/insert", body)
    unchanged(api, coll)


MALFORMED = [
    b'{"collectionName": "COLL", "data": [',
    b"not json",
    b"",
    b"[]",
    b'{"collectionName": "COLL", "data": [{"id": 1000, "vec": [0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5], '
    b'"label": 1, "tag": "t"}]} trailing',
    b'{"collectionName": "COLL", "data": [{"id": 1000, "vec": [0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,], '
    b'"label": 1, "tag": "t"}]}',
    b'{"collectionName": "COLL", "data": [{"id": 1000, "vec": [NaN,0.5,0.5,0.5,0.5,0.5,0.5,0.5], '
    b'"label": 1, "tag": "t"}]}',
    b'{"collectionName": "COLL", "data": [{"id": 1000, "vec": [1e999,0.5,0.5,0.5,0.5,0.5,0.5,0.5], '
    b'"label": 1, "tag": "t"}]}',
    b'{"collectionName": "COLL", \xff\xfe "data": []}',
    b"{" * 100000,
]


@pytest.mark.parametrize("raw", MALFORMED, ids=[f"m{i}" for i in range(len(MALFORMED))])
@pytest.mark.parametrize("path", ["entities/insert", "entities/search", "entities/query",
                                  "collections/create"])
def test_malformed_json(coll, api, raw, path):
    api.fail(path, raw=raw.replace(b"COLL", coll.encode()))
    unchanged(api, coll)


BAD_FILTERS = [
    "label ==",
    "label === 3",
    "(label == 1",
    "label == 1)",
    "label in [1, 2",
    "label in 1, 2]",
    "and label == 1",
    "label == 1 and",
    "nope == 1",
    'label like "a%"',
    "label == 'x'",
    'tag > 5',
    "label = 1",
    '"unterminated == 1',
    "id in [1, 2,, 3]",
    "(" * 300 + "label == 1" + ")" * 300,
    "label == " + "9" * 40,
]


@pytest.mark.parametrize("flt", BAD_FILTERS, ids=[f"f{i}" for i in range(len(BAD_FILTERS))])
def test_filter_errors(coll, api, flt):
    r = api.fail("entities/query", {"collectionName": coll, "filter": flt, "limit": 10,
                                    "outputFields": ["id"]})
    api.fail("entities/search", {"collectionName": coll, "data": [V], "annsField": "vec",
                                 "limit": 3, "filter": flt})
    api.fail("entities/delete", {"collectionName": coll, "filter": flt})
    unchanged(api, coll)
    assert len(r.message) < 4000, f"message should be short and clear{r}"


def test_delete_without_filter(coll, api):
    api.fail("entities/delete", {"collectionName": coll})
    api.fail("entities/delete", {"collectionName": coll, "filter": ""})
    unchanged(api, coll)


@pytest.mark.parametrize("body", [
    {"outputFields": ["nope"]},
    {"outputFields": ["id", "label", "nope"]},
], ids=["unknown", "unknown_among_known"])
def test_unknown_output_field(coll, api, body):
    api.fail("entities/query", {"collectionName": coll, "filter": "id < 5", "limit": 5, **body})
    api.fail("entities/search", {"collectionName": coll, "data": [V], "annsField": "vec",
                                 "limit": 3, **body})
    api.fail("entities/get", {"collectionName": coll, "id": [1], **body})
    unchanged(api, coll)


@pytest.mark.parametrize("change", [
    {"data": [V[:-1]]},
    {"data": [V + [1.0]]},
    {"data": [V, V[:-1]]},
    {"data": [["x"] * DIM]},
    {"data": []},
    {"data": V},
    {"annsField": "nope"},
    {"annsField": "label"},
    {"limit": -1},
    {"limit": 16385},
    {"limit": "ten"},
    {"offset": -1},
    {"searchParams": {"metricType": "IP"}},
], ids=lambda c: json.dumps(c)[:40])
def test_bad_search(coll, api, change):
    body = {"collectionName": coll, "data": [V], "annsField": "vec", "limit": 3, **change}
    api.fail("entities/search", body)
    unchanged(api, coll)


@pytest.mark.parametrize("path,body", [
    ("collections/describe", {}),
    ("collections/has", {}),
    ("collections/load", {}),
    ("collections/drop", {}),
    ("entities/insert", {"data": [good(1)]}),
    ("entities/query", {"filter": "id > 0"}),
    ("entities/search", {"data": [V], "annsField": "vec"}),
    ("indexes/list", {}),
    ("partitions/list", {}),
], ids=lambda x: x if isinstance(x, str) else "")
def test_missing_collection_name(api, path, body):
    api.fail(path, body)
    api.ok("collections/list", {})


UNKNOWN = [
    ("collections/describe", {}),
    ("collections/get_stats", {}),
    ("collections/load", {}),
    ("collections/release", {}),
    ("collections/get_load_state", {}),
    ("collections/rename", {"newCollectionName": "whatever_x"}),
    ("entities/insert", {"data": [good(1)]}),
    ("entities/upsert", {"data": [good(1)]}),
    ("entities/delete", {"filter": "id in [1]"}),
    ("entities/query", {"filter": "id > 0", "limit": 5}),
    ("entities/get", {"id": [1]}),
    ("entities/search", {"data": [V], "annsField": "vec", "limit": 3}),
    ("indexes/list", {}),
    ("indexes/describe", {"indexName": "vec_idx"}),
    ("indexes/drop", {"indexName": "vec_idx"}),
    ("partitions/list", {}),
    ("partitions/create", {"partitionName": "p"}),
    ("partitions/has", {"partitionName": "p"}),
]


@pytest.mark.parametrize("path,extra", UNKNOWN, ids=[u[0] for u in UNKNOWN])
def test_unknown_collection(api, path, extra):
    """Milvus: HTTP 200 with {"code":100,"message":"collection not found[...]"}."""
    nope = unique("nope")
    r = api.fail(path, {"collectionName": nope, **extra}, code=100)
    assert nope in r.message or "not found" in r.message.lower(), r
    assert api.ok("collections/has", {"collectionName": nope}) == {"has": False}


SCHEMAS = {
    "no_primary": [{"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}}],
    "two_primaries": [
        {"fieldName": "a", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "b", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}}],
    "no_vector": [{"fieldName": "id", "dataType": "Int64", "isPrimary": True}],
    "float_primary": [
        {"fieldName": "id", "dataType": "Float", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}}],
    "no_dim": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector"}],
    "dim_zero": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 0}}],
    "dim_text": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": "abc"}}],
    "dim_huge": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector",
         "elementTypeParams": {"dim": 100000000}}],
    "unknown_type": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}},
        {"fieldName": "x", "dataType": "Int128"}],
    "duplicate_field": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}},
        {"fieldName": "vec", "dataType": "Int64"}],
    "bad_field_name": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}},
        {"fieldName": "a b-c", "dataType": "Int64"}],
}


@pytest.mark.parametrize("case", list(SCHEMAS))
def test_bad_schema(api, case):
    name = unique("schema")
    api.fail("collections/create", {"collectionName": name, "schema": {
        "autoID": False, "enableDynamicField": False, "fields": SCHEMAS[case]}})
    assert api.ok("collections/has", {"collectionName": name}) == {"has": False}, (
        "a refused create must not leave a collection behind")


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a b", "x" * 300, "naïve"])
def test_bad_collection_name(api, name):
    api.fail("collections/create", {"collectionName": name, "dimension": 4})
    assert name not in api.ok("collections/list", {})


def test_quick_form_bad_dimension(api):
    for dim in (0, -4, "abc", None):
        name = unique("qd")
        api.fail("collections/create", {"collectionName": name, "dimension": dim})
        assert api.ok("collections/has", {"collectionName": name}) == {"has": False}


# ---- a 100 MB body ----------------------------------------------------------------------------


def post_big(api, path, head, row, count, tail):
    """Streams head + row*count + tail as one POST with Content-Length, a MiB at a time; stops
    sending as soon as the server answers (or closes). Returns (status, json, raw)."""
    total = len(head) + len(row) * count + len(tail)
    s = socket.create_connection((api.host, api.port), timeout=120)
    req = (f"POST /v2/vectordb/{path} HTTP/1.1\r\nHost: {api.host}:{api.port}\r\n"
           f"Authorization: Bearer {api.token}\r\nContent-Type: application/json\r\n"
           f"Accept-Type-Allow-Int64: false\r\nContent-Length: {total}\r\n\r\n").encode()
    chunk_rows = max(1, (1 << 20) // len(row))
    block = row * chunk_rows
    resp = b""
    try:
        s.sendall(req + head)
        sent = 0
        while sent < count:
            n = min(chunk_rows, count - sent)
            s.sendall(block if n == chunk_rows else row * n)
            sent += n
            if select.select([s], [], [], 0)[0]:
                break   # the server answered early
        else:
            s.sendall(tail)
    except (BrokenPipeError, ConnectionResetError):
        pass
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if not select.select([s], [], [], 1)[0]:
                if resp and b"\r\n\r\n" in resp and _complete(resp):
                    break
                continue
            b = s.recv(1 << 16)
            if not b:
                break
            resp += b
            if _complete(resp):
                break
    except ConnectionResetError:
        pass
    finally:
        s.close()
    if not resp:
        pytest.fail(f"POST {path} with a {total / 1e6:.0f} MB body: the server closed the "
                    f"connection without an answer; expected HTTP 200 with a non-zero code")
    head_txt, _, body = resp.partition(b"\r\n\r\n")
    status = int(head_txt.split(b" ", 2)[1])
    try:
        j = json.loads(body)
    except ValueError:
        j = None
    return status, j, resp


def _complete(resp):
    head, sep, body = resp.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return len(body) >= int(v.strip())
    return False


def test_100mb_body(coll, api):
    row = json.dumps({"id": 5000, "vec": V, "label": 1, "tag": "t"}).encode() + b","
    count = 100_000_000 // len(row)
    head = json.dumps({"collectionName": coll}).encode()[:-1] + b', "data": ['
    tail = json.dumps({"id": 4999, "vec": V, "label": 1, "tag": "t"}).encode() + b"]}"
    status, j, raw = post_big(api, "entities/insert", head, row, count, tail)
    assert status == 200 and isinstance(j, dict) and j.get("code") not in (0, None) \
        and j.get("message"), (
        f"a ~100 MB insert (Milvus caps a request at 64 MB): expected HTTP 200 with a non-zero "
        f"code and a message; got {raw[:1000]!r}")
    unchanged(api, coll)
    assert api.ok("entities/get", {"collectionName": coll, "id": [4999, 5000]}) == []
