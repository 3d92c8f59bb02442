"""AWS SDK for JavaScript v3 (@aws-sdk/client-s3 from npm, default settings) against Skyway.

js_matrix.mjs runs every step once against the session's server (module fixture); each of its
steps is reported here as its own test, so a failure names the step. The steps are read from the
script's source (`await step("NAME", ...)`), so a step that never ran counts as a failure too.
"""

import re
import shutil

import pytest

from conftest import HERE, run_cmd

SCRIPT = HERE / "js_matrix.mjs"
STEPS = re.findall(r'^await step\("([^"]+)"', SCRIPT.read_text(), re.M)


@pytest.fixture(scope="module")
def js_results(server):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (apt-get install nodejs npm)")
    if not (HERE / "node_modules/@aws-sdk/client-s3").is_dir():
        pytest.fail(f"run `npm ci` in {HERE} first (the ctest test does it)")
    p = run_cmd([node, str(SCRIPT)], env={"SKYWAY_ENDPOINT": server.endpoint}, check=False,
                timeout=180)
    out = p.stdout.decode(errors="replace")
    results = {}
    for line in out.splitlines():
        m = re.match(r"^(ok|not ok) - (.*)$", line)
        if not m:
            continue
        if m.group(1) == "ok":
            results[m.group(2)] = None
        else:
            name = next((s for s in STEPS if m.group(2).startswith(s + ": ")), m.group(2))
            results[name] = m.group(2)[len(name) + 2:]
    # Failure messages continue over several lines; keep the whole output for them.
    return {"results": results, "output": out, "stderr": p.stderr.decode(errors="replace"),
            "rc": p.returncode}


def test_steps_found():
    assert len(STEPS) >= 15, STEPS


@pytest.mark.parametrize("step", STEPS)
def test_js_sdk_step(js_results, step):
    results = js_results["results"]
    assert step in results, (
        f"step did not run (exit {js_results['rc']})\n{js_results['output'][-4000:]}\n"
        f"{js_results['stderr'][-3000:]}")
    if results[step] is not None:
        out = js_results["output"]
        start = out.find(f"not ok - {step}")
        nxt = re.search(r"^(ok|not ok) - ", out[start + 1:], re.M)
        detail = out[start: start + 1 + nxt.start()] if nxt else out[start:]
        pytest.fail(detail.strip())


def test_script_exit_status(js_results):
    failed = [s for s, why in js_results["results"].items() if why is not None]
    assert (js_results["rc"] == 0) == (not failed), js_results["output"][-2000:]
