"""`skyway bench get|put`, run short: the JSON holds every cell with sane numbers, direct cells
really went direct (registered buffers, every request answered over the direct path), and the
bench cleans up after itself (its server stopped, its temporary directory removed).

Nothing here checks speed: tests never time things. Run with:
    SKYWAY_BIN=build/skyway /usr/bin/python3 -m pytest -q tests/bench
"""

import json
import os
import pathlib
import subprocess
import time
import xml.etree.ElementTree as ElementTree

import pytest

HERE = pathlib.Path(__file__).resolve().parent
TIMEOUT_S = 240


def skyway_bin():
    path = os.environ.get("SKYWAY_BIN") or HERE / "../../build/skyway"
    return str(pathlib.Path(path).resolve())


def run_bench(tmp_path, *args):
    binary = skyway_bin()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"skyway binary not found at {binary}; build it or set SKYWAY_BIN")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    env.pop("SKYWAY_ACCESS_KEY", None)
    env.pop("SKYWAY_SECRET_KEY", None)
    proc = subprocess.run([binary, "bench", *args], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    return proc, scratch


def assert_server_gone(pid):
    # The bench waits for its child, so the PID cannot have been reused by now... unless it has
    # been reaped and reused already; accept any process that is not a skyway server then.
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            return
        if b"server" not in cmdline:
            return
        time.sleep(0.1)
    pytest.fail(f"bench server {pid} still running")


def check_cell(cell):
    assert cell["ok"], cell["error"]
    assert cell["requests"] >= 1
    assert cell["bytes"] == cell["requests"] * cell["size"]
    assert cell["gb_per_s"] > 0
    assert cell["requests_per_s"] > 0
    assert 0 < cell["latency_p50_ms"] <= cell["latency_p99_ms"]
    assert cell["client_cpu_s"] >= 0 and cell["server_cpu_s"] >= 0
    assert cell["client_cpu_s_per_gb"] is not None and cell["server_cpu_s_per_gb"] is not None
    if cell["transport"] == "direct":
        # Never a fallback reported as direct.
        assert cell["buffers_registered"], cell
        assert cell["direct_requests"] == cell["requests"], cell
    else:
        assert cell["transport"] == "http"
        assert cell["direct_requests"] == 0, cell


@pytest.mark.parametrize("op,sizes", [("get", ["4K", "1M"]), ("put", ["64K"])])
def test_bench_reports_both_transports(tmp_path, op, sizes):
    proc, scratch = run_bench(tmp_path, op, "--sizes", ",".join(sizes), "--concurrency", "1",
                              "--duration", "0.3", "--out", "result.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "result.json").read_text())
    assert report["benchmark"] == op
    assert report["own_server"] is True
    assert report["machine"]["nproc"] >= 1
    assert report["machine"]["memcpy_gb_per_s"] > 0
    cells = {(c["size_label"], c["transport"]): c for c in report["cells"]}
    assert set(cells) == {(s, t) for s in sizes for t in ("http", "direct")}
    for cell in report["cells"]:
        check_cell(cell)
    # Every cell runs at least 5 requests, however short the duration.
    assert all(c["requests"] >= 5 for c in report["cells"])
    ratios = report["ratios_direct_over_http"]
    assert {r["size_label"] for r in ratios} == set(sizes)
    assert all(r["gb_per_s"] > 0 for r in ratios)
    # The table names every cell; the chart is an SVG with a bar per cell.
    for size in sizes:
        assert f"\n{size} " in proc.stdout
    svg = ElementTree.parse(tmp_path / "result.svg").getroot()
    assert svg.tag.endswith("svg")
    bars = [e for e in svg.iter() if e.tag.endswith("rect") and e.find("{*}title") is not None]
    assert len(bars) >= 2 * len(report["cells"])  # GB/s and client CPU panels at least
    # Clean-up: the server is stopped and its temporary directory removed.
    assert_server_gone(report["server_pid"])
    assert list(scratch.iterdir()) == []


def test_bench_rejects_bad_options():
    for args in (["get", "--sizes", "4X"], ["get", "--transports", "rdma"], ["copy"],
                 ["get", "--concurrency", "0"], ["get", "--server-pid", "1"]):
        proc = subprocess.run([skyway_bin(), "bench", *args], capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)
        assert proc.returncode == 2, (args, proc.stderr)
