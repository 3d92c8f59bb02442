"""`skyway bench index`, run small: the JSON holds a row per index type and transport, the direct
rows really went direct (load and store TransferResults), recall numbers are fractions and the
exact index finds every true neighbour; the hnswlib baseline and the targets are reported; the
IDX reader reads a (tiny) Fashion-MNIST directory; the bench cleans up after itself.

Nothing here checks speed: tests never time things. Run with:
    SKYWAY_BIN=build/skyway /usr/bin/python3 -m pytest -q tests/bench/test_bench_index.py
"""

import gzip
import json
import struct
import subprocess
import xml.etree.ElementTree as ElementTree

import pytest

from test_bench import assert_server_gone, run_bench, skyway_bin

TYPES = ["FLAT", "HNSW", "IVF_FLAT"]


def check_report(report, dataset, types):
    assert report["benchmark"] == "index"
    assert report["own_server"] is True
    assert report["k"] == 10
    rows = {(r["index_type"], r["transport"]): r for r in report["rows"]}
    assert set(rows) == {(t, tr) for t in types for tr in ("http", "direct")}
    for (index_type, transport), row in rows.items():
        assert row["ok"], row["error"]
        assert row["dataset"] == dataset
        # Never a fallback reported as direct, nor the other way round.
        assert row["load_transport"] == transport, row
        assert row["store_transport"] == transport, row
        assert row["load_s"] > 0 and row["build_s"] >= 0 and row["store_s"] > 0
        assert row["total_s"] == pytest.approx(row["load_s"] + row["build_s"] + row["store_s"])
        assert row["index_bytes"] > 0
        assert row["search"], row
        for point in row["search"]:
            assert 0.0 <= point["recall_at_10"] <= 1.0, point
            assert point["qps"] > 0
        if index_type == "FLAT":
            assert [p["recall_at_10"] for p in row["search"]] == [1.0]
    # Build and search run once per index type; both transports report the same numbers.
    for index_type in types:
        assert rows[(index_type, "http")]["search"] == rows[(index_type, "direct")]["search"]
    loads = {l["transport"]: l for l in report["loads"]}
    assert set(loads) == {"http", "direct"}
    assert loads["direct"]["buffer_registered"] and loads["direct"]["went_direct"]
    assert not loads["http"]["went_direct"]
    return rows


def test_bench_index_synthetic(tmp_path):
    proc, scratch = run_bench(tmp_path, "index", "--dataset", "synthetic", "--synthetic-rows",
                              "2000", "--queries", "50", "--index-types", ",".join(TYPES),
                              "--hnsw-ef", "16,32", "--nprobe", "4,16", "--load-repeat", "2",
                              "--search-repeat", "1", "--out", "result.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "result.json").read_text())
    rows = check_report(report, "synthetic", TYPES)
    assert [p["value"] for p in rows[("HNSW", "http")]["search"]] == [16, 32]
    assert [p["value"] for p in rows[("IVF_FLAT", "http")]["search"]] == [4, 16]
    assert report["datasets"][0]["rows"] == 2000 and report["datasets"][0]["dim"] == 128
    assert all(len(l["seconds"]) == 2 for l in report["loads"])
    # The raw hnswlib baseline, searched at the same ef values, and the targets.
    [baseline] = report["baselines"]
    assert baseline["ok"] and baseline["build_s"] > 0
    assert [p["value"] for p in baseline["search"]] == [16, 32]
    assert all(0.0 <= p["recall_at_10"] <= 1.0 for p in baseline["search"])
    names = [t["name"] for t in report["targets"]]
    assert any("build time" in n for n in names) and any("QPS at ef=32" in n for n in names)
    assert all(t["pass"] in (True, False) for t in report["targets"])
    assert "targets:" in proc.stdout and ("PASS" in proc.stdout or "FAIL" in proc.stdout)
    svg = ElementTree.parse(tmp_path / "result.svg").getroot()
    assert svg.tag.endswith("svg")
    assert_server_gone(report["server_pid"])
    assert list(scratch.iterdir()) == []


def test_bench_index_gpu_cagra_beside_hnswlib(tmp_path):
    # --device gpu with or without a GPU: GPU_CAGRA (built on the CPU here) searched one query per
    # call in turn with hnswlib, and with all the queries in one call.
    proc, _ = run_bench(tmp_path, "index", "--device", "gpu", "--dataset", "synthetic",
                        "--synthetic-rows", "3000", "--queries", "60", "--itopk", "10,32",
                        "--hnsw-ef", "16,32", "--load-repeat", "1", "--search-repeat", "1",
                        "--out", "result.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "result.json").read_text())
    rows = check_report(report, "synthetic", ["HNSW", "GPU_CAGRA"])
    cagra = rows[("GPU_CAGRA", "http")]
    assert [p["value"] for p in cagra["search"]] == [10, 32]
    assert [p["value"] for p in cagra["search_batch"]] == [10, 32]
    for point in cagra["search_batch"]:
        assert 0.9 <= point["recall_at_10"] <= 1.0 and point["qps"] > 0, point
    if not report["gpu_device"]:
        # The batch is searched on the CPU's cores by the same code: the same answers.
        assert cagra["search_batch_on"] == "CPU, all cores"
        assert ([p["recall_at_10"] for p in cagra["search_batch"]] ==
                [p["recall_at_10"] for p in cagra["search"]])
    [baseline] = report["baselines"]
    assert [p["value"] for p in baseline["search_beside_cagra"]] == [16, 32]
    assert "all queries in one call" in proc.stdout


def write_idx(path, images):
    rows, height, width = len(images), 4, 4
    data = struct.pack(">IIII", 0x803, rows, height, width) + b"".join(images)
    path.write_bytes(gzip.compress(data))


def test_bench_index_reads_fashion_mnist_idx(tmp_path):
    idx = tmp_path / "idx"
    idx.mkdir()
    pixels = [bytes((i * 7 + j * 13) % 256 for j in range(16)) for i in range(300)]
    write_idx(idx / "train-images-idx3-ubyte.gz", pixels)
    write_idx(idx / "t10k-images-idx3-ubyte.gz", [bytes(reversed(p)) for p in pixels[:20]])
    proc, _ = run_bench(tmp_path, "index", "--dataset", "fashion-mnist", "--fashion-mnist-dir",
                        str(idx), "--index-types", "FLAT", "--no-baseline", "--load-repeat", "1",
                        "--out", "result.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "result.json").read_text())
    assert report["datasets"][0] == {**report["datasets"][0], "name": "fashion-mnist",
                                     "rows": 300, "dim": 16, "queries": 20,
                                     "vectors_bytes": 300 * 16 * 4}
    check_report(report, "fashion-mnist", ["FLAT"])
    assert report["baselines"] == []


def test_bench_index_rejects_bad_options(tmp_path):
    for args in (["--dataset", "mnist"], ["--index-types", "FLAT,LSH"], ["--transports", "rdma"],
                 ["--hnsw-ef", "0"], ["--synthetic-rows", "x"], ["--threads"], ["--bogus", "1"]):
        proc = subprocess.run([skyway_bin(), "bench", "index", *args], capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
    missing = tmp_path / "missing"
    proc, _ = run_bench(tmp_path, "index", "--dataset", "fashion-mnist", "--fashion-mnist-dir",
                        str(missing), "--index-types", "FLAT", "--out", "result.json")
    assert proc.returncode == 1
    assert "train-images" in proc.stderr
