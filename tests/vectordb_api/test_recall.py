"""Recall@10 of HNSW, IVF_FLAT, FLAT and GPU_CAGRA search through the REST API on Fashion-MNIST (Debian
dataset-fashion-mnist): 6000 training images (dim 784) inserted into a server that seals every
1000 rows (so six sealed, indexed segments), 100 test images as queries in one request (nq=100),
against exact squared-L2 answers computed with numpy. Ties count: a hit is correct when its exact
distance is within the 10th exact distance."""

import numpy as np
import pytest

from conftest import exact_l2, fashion, pk, split_hits, unique

N = 6000
NQ = 100
K = 10

CASES = {
    # index: (create-index entry, searchParams, minimum recall@10)
    "HNSW": ({"params": {"index_type": "HNSW", "M": "16", "efConstruction": "200"}},
             {"metricType": "L2", "params": {"ef": 64}}, 0.95),
    "IVF_FLAT": ({"indexType": "IVF_FLAT", "params": {"nlist": 32}},
                 {"metricType": "L2", "params": {"nprobe": 8}}, 0.90),
    "FLAT": ({"params": {"index_type": "FLAT"}}, {"metricType": "L2"}, 0.999),
    # Built on the CPU without a CUDA device (the same graph), searched on the CPU.
    "GPU_CAGRA": ({"params": {"index_type": "GPU_CAGRA", "intermediate_graph_degree": "64",
                              "graph_degree": "32"}},
                  {"metricType": "L2", "params": {"itopk_size": 64}}, 0.95),
}


@pytest.fixture(scope="module")
def data():
    images, labels = fashion("train")
    base = images[:N].astype(np.float32)
    queries = fashion("test")[0][:NQ].astype(np.float32)
    idx, dist, full = exact_l2(base, queries, K)
    return {"base": base, "labels": labels[:N], "queries": queries, "kth": dist[:, -1],
            "full": full, "images": images[:N]}


@pytest.mark.parametrize("index", list(CASES))
def test_recall(api, data, index):
    entry, search_params, min_recall = CASES[index]
    name = api.create_collection(unique(f"fm_{index.lower()}"), 784)
    rows = [{"id": i, "vec": data["images"][i].tolist(), "label": int(data["labels"][i])}
            for i in range(N)]
    api.insert(name, rows, batch=2000)
    api.ok("indexes/create", {"collectionName": name, "indexParams": [
        {"fieldName": "vec", "indexName": "vec_idx", "metricType": "L2", **entry}]})
    d = api.wait_index(name, "vec_idx")
    assert d.get("indexType") == index, d
    api.load(name)
    r = api.search(name, data["queries"], limit=K, params=search_params)
    groups = split_hits(r, NQ)
    assert r.json["topks"] == [K] * NQ, r.json["topks"]
    full, kth = data["full"], data["kth"]
    good = 0
    for qi, hits in enumerate(groups):
        assert len(hits) == K
        ids = [pk(h) for h in hits]
        assert len(set(ids)) == K, f"query {qi}: duplicate hits {ids}"
        for h, i in zip(hits, ids):
            true = full[qi, i]
            assert abs(h["distance"] - true) <= 1e-4 * max(1.0, true), (
                f"query {qi} hit {h}: distance must be the squared L2 distance {true}")
            good += true <= kth[qi] * (1 + 1e-6)
        dists = [h["distance"] for h in hits]
        assert dists == sorted(dists), f"query {qi}: hits must be ascending: {dists}"
    recall = good / (NQ * K)
    print(f"{index}: recall@{K} = {recall:.4f}")
    assert recall >= min_recall, f"{index} recall@{K} {recall:.4f} < {min_recall}"
    # Filtered search on the same index: only label 7 rows, still K of them, still accurate.
    r = api.search(name, data["queries"][:10], limit=K, params=search_params,
                   filter="label == 7", outputFields=["label"])
    mask = data["labels"] == 7
    good = 0
    for qi, hits in enumerate(split_hits(r, 10)):
        assert len(hits) == K and all(h.get("label") == "7" for h in hits), hits
        kth7 = np.sort(full[qi][mask])[K - 1]
        good += sum(full[qi, pk(h)] <= kth7 * (1 + 1e-6) for h in hits)
    assert good / (10 * K) >= min_recall - 0.05, f"{index} filtered recall {good / (10 * K)}"
    api.ok("collections/drop", {"collectionName": name})
