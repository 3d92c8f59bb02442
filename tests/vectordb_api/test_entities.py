"""entities/*: insert, upsert, delete (by ids, by filter), query (filter, output fields,
limit/offset), get, search (nq >= 1, limit, offset, filter, output fields, search params);
partitions/* with partitionName on insert and partitionNames on search/query.
Raw HTTP (milvus-rest-v2.md)."""

import numpy as np
import pytest

from conftest import exact_l2, pk, random_vectors, rows_of, split_hits, unique

DIM = 16
N = 3000        # three sealed segments of the session server's 1000 rows, none growing
TAGS = ["alpha", "beta", "gamma", "delta"]


def tagged_rows(vecs, start=0):
    rows = rows_of(vecs, start)
    for r in rows:
        r["tag"] = TAGS[r["id"] % 4]
    return rows


def make(api, n, seed, name=None, index="FLAT"):
    """A small collection (Int64 id, vec, Int64 label = id % 10, VarChar tag), loaded."""
    name = name or unique("ent")
    api.create_collection(name, DIM, extra_fields=[
        {"fieldName": "tag", "dataType": "VarChar", "elementTypeParams": {"max_length": 32}}])
    vecs = random_vectors(n, DIM, seed)
    if n:
        api.insert(name, tagged_rows(vecs))
    api.create_index(name, index_type=index)
    api.load(name)
    return name, vecs


@pytest.fixture(scope="module")
def coll(api):
    """A read-only collection of N rows with an HNSW index, shared by the search tests."""
    name = unique("search")
    api.create_collection(name, DIM, extra_fields=[
        {"fieldName": "tag", "dataType": "VarChar", "elementTypeParams": {"max_length": 32}}])
    vecs = random_vectors(N, DIM, seed=11)
    api.insert(name, tagged_rows(vecs), batch=1000)
    api.create_index(name, index_type="HNSW", params={"M": 16, "efConstruction": 200})
    api.load(name)
    yield name, vecs
    api.ok("collections/drop", {"collectionName": name})


def recall_check(hits, vecs, q, k, allowed=None, min_recall=0.9):
    """Tie-aware recall of one query's hits against exact squared L2 over the allowed rows;
    every hit must be allowed and carry its exact distance."""
    allowed = np.arange(len(vecs)) if allowed is None else np.asarray(allowed)
    idx, dist, _ = exact_l2(vecs[allowed], q[None, :], k)
    kth = dist[0, -1]
    allowed_set = set(allowed.tolist())
    good = 0
    for h in hits:
        i = pk(h)
        assert i in allowed_set, f"hit {h} does not satisfy the filter / partition"
        true = float(((vecs[i].astype(np.float64) - q) ** 2).sum())
        assert abs(h["distance"] - true) <= 1e-4 * max(1.0, true), (
            f"hit {h}: distance must be the squared L2 distance {true}")
        good += true <= kth * (1 + 1e-6) + 1e-9
    assert good >= min_recall * k, (
        f"{good}/{k} hits in the exact top {k} (exact {allowed[idx[0]].tolist()}, "
        f"got {[h.get('id') for h in hits]})")


# ---- insert / get / upsert / delete -----------------------------------------------------------


def test_insert_and_get_exact_values(api):
    name, vecs = make(api, 0, seed=1)
    more = random_vectors(10, DIM, seed=2)
    api.insert(name, tagged_rows(more, start=100))
    rows = api.ok("entities/get", {"collectionName": name, "id": [100, 105, 109, 1],
                                   "outputFields": ["id", "vec", "label", "tag"],
                                   "consistencyLevel": "Strong"})
    got = {pk(r): r for r in rows}
    assert sorted(got) == [100, 105, 109], f"get returns the present ids only: {rows}"
    for i in (100, 105, 109):
        r = got[i]
        assert r.get("vec") == more[i - 100].tolist(), (
            f"get must return the stored vector exactly: {r.get('vec')} != "
            f"{more[i - 100].tolist()}")
        assert r.get("label") == str(i % 10) and r.get("tag") == TAGS[i % 4], r
    one = api.ok("entities/get", {"collectionName": name, "id": 105, "outputFields": ["label"],
                                  "consistencyLevel": "Strong"})
    assert len(one) == 1 and pk(one[0]) == 105 and one[0].get("label") == "5", (
        f"get with a single id (not a list): {one}")
    api.ok("collections/drop", {"collectionName": name})


def test_upsert(api):
    name, vecs = make(api, 10, seed=3)
    new5 = random_vectors(1, DIM, seed=4)[0]
    new10 = random_vectors(1, DIM, seed=5)[0]
    d = api.ok("entities/upsert", {"collectionName": name, "data": [
        {"id": 5, "vec": new5.tolist(), "label": 55, "tag": "new"},
        {"id": 10, "vec": new10.tolist(), "label": 100, "tag": "added"}]})
    assert d.get("upsertCount") == 2 and d.get("upsertIds") == ["5", "10"], (
        f"upsert answers {{\"upsertCount\":2,\"upsertIds\":[\"5\",\"10\"]}}, got {d}")
    rows = api.query(name, "id in [5, 10]", ("id", "label", "tag", "vec"))
    got = sorted(rows, key=lambda r: pk(r))
    assert [(pk(r), r["label"], r["tag"]) for r in got] == [(5, "55", "new"), (10, "100", "added")], (
        f"upsert replaces id 5 (one row, new values) and adds id 10: {rows}")
    assert got[0]["vec"] == new5.tolist()
    assert api.ids(name) == set(range(11)), "no duplicate / lost rows after upsert"
    r = api.search(name, [new5], limit=1)
    assert pk(r.data[0]) == 5 and abs(r.data[0]["distance"]) < 1e-4, (
        f"search sees the new vector{r}")
    r = api.search(name, [vecs[5]], limit=11)
    assert all(not (pk(h) == 5 and abs(h["distance"]) < 1e-4) for h in r.data), (
        f"the old version of id 5 must be gone from search{r}")
    api.ok("collections/drop", {"collectionName": name})


def test_delete_by_ids(api):
    name, vecs = make(api, 1500, seed=6)   # 1000 rows sealed + 500 growing
    gone = [3, 500, 999, 1000, 1234, 1499]
    api.ok("entities/delete", {"collectionName": name, "filter": f"id in {gone}"})
    assert api.ids(name) == set(range(1500)) - set(gone)
    assert api.ok("entities/get", {"collectionName": name, "id": gone, "outputFields": ["id"],
                                   "consistencyLevel": "Strong"}) == []
    r = api.search(name, vecs[gone], limit=5)
    for hits in split_hits(r, len(gone)):
        assert not {pk(h) for h in hits} & set(gone), f"deleted rows must not be found{r}"
        assert len(hits) == 5
    # Deleting absent ids is not an error and changes nothing.
    api.ok("entities/delete", {"collectionName": name, "filter": "id in [100000, 100001]"})
    api.ok("entities/delete", {"collectionName": name, "filter": "id == 3"})
    assert len(api.ids(name)) == 1500 - len(gone)
    # A deleted id can be inserted again.
    api.insert(name, tagged_rows(vecs[3:4], start=3))
    assert 3 in api.ids(name)
    api.ok("collections/drop", {"collectionName": name})


def test_delete_by_filter(api):
    name, vecs = make(api, 1200, seed=7)
    api.ok("entities/delete", {"collectionName": name, "filter": "label == 3"})
    assert api.ids(name) == {i for i in range(1200) if i % 10 != 3}
    api.ok("entities/delete", {"collectionName": name,
                               "filter": 'id >= 600 and tag in ["alpha", "beta"]'})
    want = {i for i in range(1200) if i % 10 != 3 and not (i >= 600 and i % 4 in (0, 1))}
    assert api.ids(name) == want
    r = api.search(name, vecs[[13, 23, 604]], limit=3)
    for hits in split_hits(r, 3):
        assert all(pk(h) in want for h in hits), r
    api.ok("collections/drop", {"collectionName": name})


# ---- query ------------------------------------------------------------------------------------


def test_query_output_fields(coll, api):
    name, vecs = coll
    rows = api.query(name, "id in [1, 2]", ("label", "tag"))
    assert sorted(rows, key=pk) == [{"id": "1", "label": "1", "tag": "beta"},
                                    {"id": "2", "label": "2", "tag": "gamma"}], (
        f"query returns the primary key plus exactly the outputFields: {rows}")
    rows = api.query(name, "id == 7", ("vec",))
    assert len(rows) == 1 and rows[0].get("vec") == vecs[7].tolist(), rows


def test_query_limit_offset(coll, api):
    name, _ = coll
    seen = []
    for off in range(0, 100, 20):
        page = api.query(name, "id < 100", ("id",), limit=20, offset=off)
        assert len(page) == 20, f"offset {off}: 20 rows expected, got {len(page)}"
        seen += [pk(r) for r in page]
    assert sorted(seen) == list(range(100)), (
        f"pages of limit 20 / offset 0..80 must cover the 100 matching rows once each: "
        f"{sorted(seen)}")
    tail = api.query(name, "id < 100", ("id",), limit=50, offset=90)
    assert len(tail) == 10, f"offset 90 of 100 matching rows leaves 10: {tail}"
    assert len(api.query(name, "id < 100", ("id",), limit=10)) == 10
    rows = api.ok("entities/query", {"collectionName": name, "filter": "id < 50",
                                     "outputFields": ["id"]})
    assert len(rows) == 50, "limit is optional when a filter is given"


def test_get_many(coll, api):
    name, _ = coll
    ids = [0, 999, 1000, 2999, 5000]
    rows = api.ok("entities/get", {"collectionName": name, "id": ids, "outputFields": ["label"]})
    assert sorted(pk(r) for r in rows) == [0, 999, 1000, 2999], rows
    assert all(r.get("label") == str(pk(r) % 10) for r in rows), rows


# ---- search -----------------------------------------------------------------------------------


@pytest.mark.parametrize("nq", [1, 2, 5])
def test_search_nq(coll, api, nq):
    name, vecs = coll
    qs = random_vectors(nq, DIM, seed=100 + nq)
    r = api.search(name, qs, limit=10, params={"metricType": "L2", "params": {"ef": 128}})
    groups = split_hits(r, nq)
    assert r.json["topks"] == [10] * nq, r
    for q, hits in zip(qs, groups):
        assert len(hits) == 10
        d = [h["distance"] for h in hits]
        assert d == sorted(d), f"L2 hits ascending{r}"
        assert set(hits[0]) == {"id", "distance"}, (
            f"a hit without outputFields carries the pk and distance only: {hits[0]}")
        recall_check(hits, vecs, q, 10)


def test_search_limit_offset(coll, api):
    name, vecs = coll
    q = random_vectors(1, DIM, seed=200)
    p = {"metricType": "L2", "params": {"ef": 200}}
    full = [pk(h) for h in api.search(name, q, limit=15, params=p).data]
    r = api.search(name, q, limit=5, params=p, offset=5)
    assert r.json.get("topks") == [5], r
    assert [pk(h) for h in r.data] == full[5:10], (
        f"offset 5 limit 5 must be hits 5..9 of the limit-15 answer {full}{r}")
    r = api.search(name, q, limit=1, params=p)
    assert len(r.data) == 1 and r.json.get("topks") == [1], r
    r = api.search(name, q, limit=10, filter="id < 4", params=p)
    assert sorted(pk(h) for h in r.data) == [0, 1, 2, 3] and r.json.get("topks") == [4], (
        f"fewer matching rows than limit: all of them, topks [4]{r}")


def test_search_filter_and_output_fields(coll, api):
    name, vecs = coll
    qs = random_vectors(3, DIM, seed=300)
    r = api.search(name, qs, limit=10, filter='label in [1, 2] and tag != "beta"',
                   outputFields=["label", "tag"], params={"params": {"ef": 128}})
    allowed = [i for i in range(N) if i % 10 in (1, 2) and TAGS[i % 4] != "beta"]
    for q, hits in zip(qs, split_hits(r, 3)):
        assert len(hits) == 10
        for h in hits:
            assert set(h) == {"id", "distance", "label", "tag"}, h
            assert h["label"] == str(pk(h) % 10) and h["tag"] == TAGS[pk(h) % 4], h
        recall_check(hits, vecs, q, 10, allowed)
    r = api.search(name, qs[:1], limit=3, outputFields=["vec"])
    for h in r.data:
        assert h.get("vec") == vecs[pk(h)].tolist(), f"outputFields vec returns it exactly: {h}"


def test_search_rare_filter_fills_limit(coll, api):
    """Filtered search keeps looking until `limit` matching rows are found (doc): 30 of 3000
    rows match; all 10 must come back, and they must be the nearest matching ones."""
    name, vecs = coll
    qs = random_vectors(2, DIM, seed=400)
    r = api.search(name, qs, limit=10, filter="id % 100 == 7", params={"params": {"ef": 64}})
    allowed = [i for i in range(N) if i % 100 == 7]
    assert r.json.get("topks") == [10, 10], r
    for q, hits in zip(qs, split_hits(r, 2)):
        recall_check(hits, vecs, q, 10, allowed)


@pytest.mark.parametrize("params", [
    {"metricType": "L2", "params": {"ef": 64}},     # the SDK's nested form
    {"ef": 64},                                     # flat form (Milvus >= 2.5.2)
    {"metricType": "L2"},
    None,                                           # no searchParams
    {"metricType": "L2", "params": {"ef": "64"}},   # a string value
])
def test_search_params_forms(coll, api, params):
    name, vecs = coll
    q = vecs[42:43]
    r = api.search(name, q, limit=3, params=params)
    assert pk(r.data[0]) == 42 and abs(r.data[0]["distance"]) < 1e-4, (
        f"a stored vector is its own nearest neighbour at distance 0{r}")


# ---- partitions -------------------------------------------------------------------------------


def test_partitions(api):
    name = api.create_collection(unique("part"), DIM)
    assert api.ok("partitions/list", {"collectionName": name}) == ["_default"]
    for p in ("p1", "p2"):
        assert api.ok("partitions/create", {"collectionName": name, "partitionName": p}) == {}
    assert sorted(api.ok("partitions/list", {"collectionName": name})) == ["_default", "p1", "p2"]
    assert api.ok("partitions/has", {"collectionName": name, "partitionName": "p1"}) == {"has": True}
    assert api.ok("partitions/has", {"collectionName": name, "partitionName": "zz"}) == {"has": False}
    # Milvus answers a create of an existing partition with success (a no-op).
    r = api.post("partitions/create", {"collectionName": name, "partitionName": "p1"})
    assert r.status == 200 and r.json is not None, r
    assert sorted(api.ok("partitions/list", {"collectionName": name})) == ["_default", "p1", "p2"]
    vecs = random_vectors(300, DIM, seed=12)
    api.insert(name, rows_of(vecs[:100]))
    api.insert(name, rows_of(vecs[100:200], start=100), partition="p1")
    api.insert(name, rows_of(vecs[200:], start=200), partition="p2")
    before = len(vecs)
    api.fail("entities/insert", {"collectionName": name, "partitionName": "nope",
                                 "data": rows_of(random_vectors(1, DIM, 13), start=999)})
    api.create_index(name, index_type="FLAT")
    api.load(name)
    assert len(api.ids(name)) == before, "a refused insert stores nothing"
    q = vecs[[5, 150, 250]]
    r = api.search(name, q, limit=10, partitionNames=["p1"])
    for hits in split_hits(r, 3):
        assert len(hits) == 10 and all(100 <= pk(h) < 200 for h in hits), (
            f"partitionNames [p1]: only p1's rows{r}")
    r = api.search(name, q, limit=10, partitionNames=["p1", "p2"])
    for hits in split_hits(r, 3):
        assert all(100 <= pk(h) < 300 for h in hits), r
    assert pk(split_hits(r, 3)[2][0]) == 250
    assert api.ids(name, partitionNames=["p2"]) == set(range(200, 300))
    assert api.ids(name, partitionNames=["_default"]) == set(range(100))
    api.fail("entities/search", {"collectionName": name, "data": [q[0].tolist()],
                                 "annsField": "vec", "limit": 3, "partitionNames": ["nope"]})
    # Milvus drops a partition only when it is released.
    api.ok("collections/release", {"collectionName": name})
    api.ok("partitions/drop", {"collectionName": name, "partitionName": "p2"})
    assert sorted(api.ok("partitions/list", {"collectionName": name})) == ["_default", "p1"]
    api.fail("partitions/drop", {"collectionName": name, "partitionName": "_default"})
    api.load(name)
    assert api.ids(name) == set(range(200)), "p2's rows went with it"
    api.ok("collections/drop", {"collectionName": name})


def test_partition_stats(api):
    """partitions/get_stats (the SDK's getPartitionStatistics): {"rowCount": N}."""
    name = api.create_collection(unique("pstats"), DIM)
    api.ok("partitions/create", {"collectionName": name, "partitionName": "p1"})
    api.insert(name, rows_of(random_vectors(30, DIM, seed=14)))
    api.insert(name, rows_of(random_vectors(20, DIM, seed=15), start=100), partition="p1")
    stats = api.ok("partitions/get_stats", {"collectionName": name, "partitionName": "p1"})
    assert stats == {"rowCount": 20}, f"partitions/get_stats of p1: {stats}"
    api.ok("collections/drop", {"collectionName": name})
