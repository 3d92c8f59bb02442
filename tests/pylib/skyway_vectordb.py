"""The `skyway vectordb` process the Python test suites start: on 127.0.0.1 with a port the kernel
picks, either on a data directory (embedded object store, --data) or on an S3 endpoint (--s3,
e.g. a `skyway server` started with tests/pylib/skyway_server.py), stderr in a log file,
stopped with SIGTERM (or killed with SIGKILL) by its PID only, never by name.

A skyway_server.Server with its own command line, ready line and start-up timeout.

Used by tests/vectordb_api (its conftest imports it)."""

import re

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

    READY = _READY
    STARTUP_TIMEOUT_S = STARTUP_TIMEOUT_S

    def __init__(self, log_dir, data_dir=None, s3_endpoint=None, bucket=None, segment_rows=None,
                 extra_args=(), name="vectordb"):
        assert (data_dir is None) != (s3_endpoint is None), "give data_dir or s3_endpoint"
        super().__init__(data_dir or log_dir, log_dir, extra_args, log_name=name)
        self.use_data = data_dir is not None
        self.s3_endpoint = s3_endpoint
        self.bucket = bucket
        self.segment_rows = segment_rows

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

    def all_logs(self):
        """Every start's stderr, oldest first, as (path, text)."""
        out = []
        for i in range(1, self.starts + 1):
            p = self.log_dir / f"{self.log_name}-{i}.stderr"
            if p.exists():
                out.append((p, p.read_text("utf-8", "replace")))
        return out
