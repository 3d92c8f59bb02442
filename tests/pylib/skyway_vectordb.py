"""The `skyway vectordb` process the Python test suites start: on 127.0.0.1 with a port the kernel
picks, either on a data directory (embedded object store, --data) or on an S3 endpoint (--s3,
e.g. a `skyway server` started with tests/pylib/skyway_server.py), stderr in a log file,
stopped with SIGTERM (or killed with SIGKILL) by its PID only, never by name.

Mirrors skyway_server.Server (and reuses its ready-line reader, pipe drain, stop/kill by PID and
log marks); only the command line and the ready line differ.

Used by tests/vectordb_api (its conftest imports it)."""

import os
import pathlib
import re
import select
import subprocess
import threading
import time

import pytest

import skyway_server

ACCESS_KEY = skyway_server.ACCESS_KEY
SECRET_KEY = skyway_server.SECRET_KEY
# Loading collections (and their indexes) back from storage happens before the ready line; under
# ASan that is several times slower than a plain build.
STARTUP_TIMEOUT_S = 90

_READY = re.compile(rb"skyway vectordb listening on http://127\.0\.0\.1:(\d+)")


class VectorDB(skyway_server.Server):
    """One `skyway vectordb` process. Restartable on the same --data directory or S3 bucket.

    data_dir: --data DIR (embedded object store), or None with s3_endpoint: --s3 URL [--bucket].
    segment_rows: --segment-rows N, when given. extra_args: any further flags."""

    def __init__(self, log_dir, data_dir=None, s3_endpoint=None, bucket=None, segment_rows=None,
                 extra_args=(), name="vectordb"):
        assert (data_dir is None) != (s3_endpoint is None), "give data_dir or s3_endpoint"
        super().__init__(data_dir or log_dir, log_dir, extra_args)
        self.use_data = data_dir is not None
        self.s3_endpoint = s3_endpoint
        self.bucket = bucket
        self.segment_rows = segment_rows
        self.name = name

    def command(self):
        args = [skyway_server.skyway_bin(), "vectordb", "--address", "127.0.0.1:0"]
        if self.use_data:
            args += ["--data", str(self.data_dir)]
        else:
            args += ["--s3", self.s3_endpoint]
            if self.bucket:
                args += ["--bucket", self.bucket]
        if self.segment_rows is not None:
            args += ["--segment-rows", str(self.segment_rows)]
        return args + self.extra_args

    def start(self):
        assert self.proc is None, "vectordb already running"
        binary = skyway_server.skyway_bin()
        if not os.access(binary, os.X_OK):
            pytest.fail(f"skyway binary not found at {binary}; build it or set SKYWAY_BIN")
        self.starts += 1
        env = dict(os.environ, SKYWAY_ACCESS_KEY=ACCESS_KEY, SKYWAY_SECRET_KEY=SECRET_KEY)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = self.log_dir / f"{self.name}-{self.starts}.stderr"
        stderr = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=stderr,
                                         stdin=subprocess.DEVNULL, env=env)
        finally:
            stderr.close()
        line = self._read_ready_line()
        m = _READY.match(line)
        if not m:
            rc = self.proc.poll()
            self.kill()
            pytest.fail(f"`{' '.join(self.command())}` did not announce its port within "
                        f"{STARTUP_TIMEOUT_S}s (exit status {rc}); stdout {line!r}; stderr "
                        f"{self.stderr_path.read_bytes()[-3000:]!r}")
        self.port = int(m.group(1))
        threading.Thread(target=self._drain, args=(self.proc.stdout,), daemon=True).start()
        return self

    def _read_ready_line(self):
        """The first stdout line, or what came before STARTUP_TIMEOUT_S / EOF."""
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
        return buf.split(b"\n", 1)[0]

    def all_logs(self):
        """Every start's stderr, oldest first, as (path, text)."""
        out = []
        for i in range(1, self.starts + 1):
            p = self.log_dir / f"{self.name}-{i}.stderr"
            if p.exists():
                out.append((p, p.read_text("utf-8", "replace")))
        return out
