"""indexes/*: create in both forms (params.index_type with string values, as the SDK sends it;
top-level indexType with numeric params, as Milvus's convertToExtraParams accepts), describe
(polled until Finished), list, drop. Raw HTTP (milvus-rest-v2.md, "indexes/create")."""

import time

import pytest

from conftest import SEGMENT_ROWS, pk, random_vectors, rows_of, split_hits, unique

DIM = 16
KEYS = {"indexName", "fieldName", "indexType", "metricType", "indexState", "totalRows",
        "indexedRows", "pendingRows", "failReason"}


def describe(api, coll, name):
    d = api.ok("indexes/describe", {"collectionName": coll, "indexName": name})
    assert isinstance(d, list) and len(d) == 1, f"indexes/describe data is an array: {d}"
    assert KEYS <= set(d[0]), f"indexes/describe keys {sorted(KEYS - set(d[0]))} missing: {d[0]}"
    return d[0]


def test_create_sdk_form_describe_list_drop(api):
    name = api.create_collection(unique("idx"), DIM)
    vecs = random_vectors(1200, DIM, seed=21)
    api.insert(name, rows_of(vecs))
    api.ok("indexes/create", {"collectionName": name, "indexParams": [
        {"fieldName": "vec", "indexName": "vec_idx", "metricType": "L2",
         "params": {"index_type": "HNSW", "M": "16", "efConstruction": "200"}}]})
    d = api.wait_index(name, "vec_idx")
    d = describe(api, name, "vec_idx")
    want = {"indexName": "vec_idx", "fieldName": "vec", "indexType": "HNSW",
            "metricType": "L2", "indexState": "Finished", "pendingRows": 0, "failReason": ""}
    assert {k: d.get(k) for k in want} == want, d
    assert isinstance(d["totalRows"], int) and d["indexedRows"] == d["totalRows"], d
    assert api.ok("indexes/list", {"collectionName": name}) == ["vec_idx"]
    api.load(name)
    r = api.search(name, vecs[[3, 1100]], limit=5)
    for i, hits in zip((3, 1100), split_hits(r, 2)):
        assert pk(hits[0]) == i, r
    # Milvus drops an index only from a released collection.
    api.ok("collections/release", {"collectionName": name})
    assert api.ok("indexes/drop", {"collectionName": name, "indexName": "vec_idx"}) == {}
    assert api.ok("indexes/list", {"collectionName": name}) == []
    api.fail("indexes/describe", {"collectionName": name, "indexName": "vec_idx"})
    # A new index (other type) can be built after the drop.
    api.create_index(name, index_type="IVF_FLAT", params={"nlist": 8}, name="ivf")
    assert api.ok("indexes/list", {"collectionName": name}) == ["ivf"]
    api.load(name)
    r = api.search(name, vecs[[7]], limit=3, params={"params": {"nprobe": 8}})
    assert pk(r.data[0]) == 7, r
    api.ok("collections/drop", {"collectionName": name})


@pytest.mark.parametrize("index_type,params,search", [
    ("HNSW", {"M": 16, "efConstruction": 200}, {"ef": 64}),
    ("IVF_FLAT", {"nlist": 16}, {"nprobe": 16}),
    ("FLAT", {}, {}),
    ("GPU_CAGRA", {"intermediate_graph_degree": 32, "graph_degree": 16}, {"itopk_size": 32}),
    ("GPU_BRUTE_FORCE", {}, {}),
])
def test_create_top_level_index_type(api, index_type, params, search):
    """{"indexType": "...", "params": {numbers}} at the top level of an indexParams entry."""
    name = api.create_collection(unique("idx2"), DIM)
    vecs = random_vectors(1100, DIM, seed=22)
    api.insert(name, rows_of(vecs))
    api.ok("indexes/create", {"collectionName": name, "indexParams": [
        {"fieldName": "vec", "indexName": "i1", "metricType": "L2", "indexType": index_type,
         "params": params}]})
    d = api.wait_index(name, "i1")
    assert d.get("indexType") == index_type and d.get("metricType") == "L2", d
    api.load(name)
    r = api.search(name, vecs[[9, 1050]], limit=3, params={"metricType": "L2", "params": search})
    for i, hits in zip((9, 1050), split_hits(r, 2)):
        assert pk(hits[0]) == i and abs(hits[0]["distance"]) < 1e-4, r
    api.ok("collections/drop", {"collectionName": name})


def test_top_level_index_type_wins(api):
    """Milvus uses the top-level indexType when both it and params.index_type are present."""
    name = api.create_collection(unique("idx3"), DIM)
    api.insert(name, rows_of(random_vectors(200, DIM, seed=23)))
    api.ok("indexes/create", {"collectionName": name, "indexParams": [
        {"fieldName": "vec", "indexName": "i1", "metricType": "L2", "indexType": "IVF_FLAT",
         "params": {"index_type": "HNSW", "nlist": 4}}]})
    assert api.wait_index(name, "i1").get("indexType") == "IVF_FLAT"
    api.ok("collections/drop", {"collectionName": name})


def test_index_before_insert_covers_new_segments(api):
    """An index created on an empty collection covers the segments sealed later."""
    name = api.create_collection(unique("idx4"), DIM)
    api.create_index(name, index_type="HNSW", params={"M": 8, "efConstruction": 64})
    api.load(name)
    vecs = random_vectors(2500, DIM, seed=24)   # two seals of 1000 + 500 growing
    api.insert(name, rows_of(vecs), batch=500)
    deadline = time.monotonic() + 120
    while True:
        d = describe(api, name, "vec_idx")
        if (d["indexState"] == "Finished" and d["pendingRows"] == 0
                and d["indexedRows"] == d["totalRows"]
                and d["totalRows"] >= 2500 - SEGMENT_ROWS):   # at least the sealed rows
            break
        assert time.monotonic() < deadline, f"sealed segments never indexed: {d}"
        time.sleep(0.2)
    r = api.search(name, vecs[[0, 1500, 2400]], limit=3)
    for i, hits in zip((0, 1500, 2400), split_hits(r, 3)):
        assert pk(hits[0]) == i, r
    api.ok("collections/drop", {"collectionName": name})


def test_autoindex(api):
    name = api.create_collection(unique("auto"), DIM)
    vecs = random_vectors(300, DIM, seed=25)
    api.insert(name, rows_of(vecs))
    api.create_index(name, index_type="AUTOINDEX")
    api.load(name)
    assert pk(api.search(name, vecs[[17]], limit=1).data[0]) == 17
    api.ok("collections/drop", {"collectionName": name})


def test_load_without_index_is_refused(api):
    """Milvus refuses to load a collection whose vector field has no index."""
    name = api.create_collection(unique("noidx"), DIM)
    api.fail("collections/load", {"collectionName": name})
    st = api.ok("collections/get_load_state", {"collectionName": name})
    assert st.get("loadState") == "LoadStateNotLoad", st
    api.ok("collections/drop", {"collectionName": name})


@pytest.mark.parametrize("entry", [
    {"fieldName": "vec", "indexName": "x", "metricType": "L2", "params": {"index_type": "NOPE"}},
    {"fieldName": "vec", "indexName": "x", "metricType": "XX", "params": {"index_type": "HNSW"}},
    {"fieldName": "nope", "indexName": "x", "metricType": "L2", "params": {"index_type": "HNSW"}},
    {"fieldName": "vec", "indexName": "x", "metricType": "L2",
     "params": {"index_type": "HNSW", "M": "zero"}},
    {"fieldName": "vec", "indexName": "x", "metricType": "L2",
     "params": {"index_type": "IVF_FLAT", "nlist": "-3"}},
])
def test_bad_index_params(api, entry):
    name = api.create_collection(unique("badidx"), DIM)
    api.fail("indexes/create", {"collectionName": name, "indexParams": [entry]})
    assert api.ok("indexes/list", {"collectionName": name}) == [], "nothing created"
    api.ok("collections/drop", {"collectionName": name})


def test_index_unknown_collection(api):
    nope = unique("nope")
    api.fail("indexes/create", {"collectionName": nope, "indexParams": [
        {"fieldName": "vec", "indexName": "x", "metricType": "L2",
         "params": {"index_type": "HNSW"}}]}, code=100)
    api.fail("indexes/list", {"collectionName": nope}, code=100)
    api.fail("indexes/describe", {"collectionName": nope, "indexName": "x"}, code=100)
