"""`skyway bench vectordb`, run small: 4000 Fashion-MNIST rows, one insert client, two search
clients for a second. Checks the JSON shape, that every count is positive, that the sanity check
saw full answers, and that the child `skyway vectordb` is gone and its directory removed.

Nothing here checks speed: tests never time things. Run with:
    SKYWAY_BIN=build/skyway /usr/bin/python3 -m pytest -q tests/bench/test_bench_vectordb.py
"""

import json
import os
import pathlib
import subprocess
import time

import pytest

from test_bench import skyway_bin

FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
TIMEOUT_S = 120


def run_bench(tmp_path, *args):
    binary = skyway_bin()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"skyway binary not found at {binary}; build it or set SKYWAY_BIN")
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(scratch))
    env.pop("SKYWAY_ACCESS_KEY", None)
    env.pop("SKYWAY_SECRET_KEY", None)
    proc = subprocess.run([binary, "bench", "vectordb", *args], cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    return proc, scratch


def assert_vectordb_gone(pid):
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            return
        if b"vectordb" not in cmdline:
            return  # reaped and reused by something else
        time.sleep(0.1)
    pytest.fail(f"bench vectordb child {pid} still running")


@pytest.mark.skipif(not FASHION_MNIST.exists(), reason="dataset-fashion-mnist not installed")
def test_bench_vectordb_small(tmp_path):
    proc, scratch = run_bench(tmp_path, "--rows", "4000", "--duration", "1", "--insert-clients",
                              "1", "--search-clients", "2", "--out", "result.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "targets:" in proc.stdout and "same machine" in proc.stdout, proc.stdout
    report = json.loads((tmp_path / "result.json").read_text())

    assert report["bench"] == "vectordb"
    assert report["own_server"] is True and report["server_pid"] > 0
    assert report["load_generator_on_same_machine"] is True
    assert report["dataset"] == {"name": "fashion-mnist", "rows": 4000, "dim": 784,
                                 "batch_rows": 2000, "vector_encoding": "json integers"}

    [insert] = report["insert"]
    assert insert["ok"], insert["error"]
    assert insert["clients"] == 1 and insert["rows"] == 4000 and insert["requests"] == 2
    assert insert["json_bytes"] > 4000 * 784
    assert insert["seconds"] > 0 and insert["vectors_per_s"] > 0 and insert["mb_per_s"] > 0
    assert 0 < insert["p50_ms"] <= insert["p99_ms"]
    assert insert["server_cpu_s"] >= 0 and insert["client_cpu_s"] >= 0

    index = report["index"]
    assert index["ok"], index["error"]
    assert (index["type"], index["M"], index["efConstruction"]) == ("HNSW", 16, 200)
    assert index["indexed_rows"] == 4000
    assert index["build_s"] >= 0 and index["load_s"] >= 0

    sanity = report["sanity"]
    assert sanity["ok"], sanity["error"]
    assert sanity["queries"] == sanity["full_answers"] > 0
    assert 0.5 <= sanity["recall_at_10"] <= 1.0

    assert report["search_params"]["nq"] == 1 and report["search_params"]["limit"] == 10
    [search] = report["search"]
    assert search["ok"], search["error"]
    assert search["clients"] == 2 and search["requests"] > 0 and search["requests_per_s"] > 0
    assert 0 < search["p50_ms"] <= search["p99_ms"]
    assert search["server_cpu_s"] >= 0

    insert_goal, search_goal = report["targets"]
    assert insert_goal["measured"] > 0 and insert_goal["pass"] in (True, False)
    assert insert_goal["target"] == 20000
    # No 8-client search was run: measured and pass stay unknown, never invented.
    assert search_goal["measured"] is None and search_goal["pass"] is None
    assert search_goal["target"] == 4000

    assert_vectordb_gone(report["server_pid"])
    assert list(scratch.iterdir()) == []


def test_bench_vectordb_usage_errors(tmp_path):
    proc, _ = run_bench(tmp_path, "--rows", "0")
    assert proc.returncode == 2 and "bad --rows" in proc.stderr
    proc, _ = run_bench(tmp_path, "--endpoint", "http://127.0.0.1:1")
    assert proc.returncode == 2 and "credentials" in proc.stderr
    proc, _ = run_bench(tmp_path, "--help")
    assert proc.returncode == 0 and "--insert-clients" in proc.stderr
