"""The `skyway server` process the Python test suites start: on 127.0.0.1 with a port the kernel
picks, a fresh data directory, stderr in a log file, stopped (or killed) by its PID only.

Shared by tests/integration and tests/clients (their conftests import it)."""

import os
import pathlib
import re
import select
import signal
import subprocess
import threading
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent
STARTUP_TIMEOUT_S = 20
ACCESS_KEY = "AK"
SECRET_KEY = "SK"

_READY = re.compile(rb"skyway server listening on http://127\.0\.0\.1:(\d+)")


def skyway_bin():
    return os.environ.get("SKYWAY_BIN") or str((HERE / "../../build/skyway").resolve())


class Server:
    """One `skyway server` process on a data directory. Restartable on the same directory.

    Subclasses (skyway_vectordb.VectorDB) change command(), READY, STARTUP_TIMEOUT_S and
    log_name; starting, the ready line, draining and stopping by PID are shared."""

    READY = _READY
    STARTUP_TIMEOUT_S = STARTUP_TIMEOUT_S

    def __init__(self, data_dir, log_dir, extra_args=(), log_name="server"):
        self.data_dir = pathlib.Path(data_dir)
        self.log_dir = pathlib.Path(log_dir)
        self.extra_args = list(extra_args)
        self.log_name = log_name
        self.proc = None
        self.port = None
        self.starts = 0

    def command(self):
        return [skyway_bin(), "server", "--data", str(self.data_dir), "--address", "127.0.0.1:0",
                *self.extra_args]

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        assert self.proc is None, "server already running"
        binary = skyway_bin()
        if not os.access(binary, os.X_OK):
            pytest.fail(f"skyway binary not found at {binary}; build it or set SKYWAY_BIN")
        self.starts += 1
        env = dict(os.environ, SKYWAY_ACCESS_KEY=ACCESS_KEY, SKYWAY_SECRET_KEY=SECRET_KEY)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = self.log_dir / f"{self.log_name}-{self.starts}.stderr"
        stderr = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=stderr,
                                         stdin=subprocess.DEVNULL, env=env)
        finally:
            stderr.close()
        line = self._read_ready_line()
        m = self.READY.match(line)
        if not m:
            rc = self.proc.poll()
            self.kill()
            pytest.fail(f"`{' '.join(self.command())}` did not announce its port within "
                        f"{self.STARTUP_TIMEOUT_S}s (exit status {rc}); stdout {line!r}; stderr "
                        f"{self.stderr_path.read_bytes()[-3000:]!r}")
        self.port = int(m.group(1))
        # Keep draining stdout so the server can never block on a full pipe.
        threading.Thread(target=self._drain, args=(self.proc.stdout,), daemon=True).start()
        return self

    def _read_ready_line(self):
        """The first stdout line, or what came before STARTUP_TIMEOUT_S / EOF."""
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + self.STARTUP_TIMEOUT_S
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

    @staticmethod
    def _drain(pipe):
        try:
            while pipe.read(4096):
                pass
        except (OSError, ValueError):
            pass

    def stop(self, timeout=15):
        """SIGTERM by PID, wait; SIGKILL if it does not exit. Returns the exit code."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                pytest.fail(f"server pid {proc.pid} ignored SIGTERM for {timeout}s")
        return proc.returncode

    def kill(self):
        """kill -9 by PID (a crash)."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def restart(self):
        self.stop()
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def hostport(self):
        return f"127.0.0.1:{self.port}"

    def log_mark(self):
        """Current size of the server's stderr; pass it to log_since() to read what came after."""
        try:
            return self.stderr_path.stat().st_size
        except (AttributeError, OSError):
            return 0

    def log_since(self, mark):
        with open(self.stderr_path, "rb") as f:
            f.seek(mark)
            return f.read().decode("utf-8", "replace")
