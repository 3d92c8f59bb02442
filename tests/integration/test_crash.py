"""Crash safety: a stream of PUTs (new keys, overwrites, deletes) is cut by kill -9 of the
server; after a restart on the same data directory every acknowledged write must be there,
intact, every listed object must be whole, and no orphan data file may remain.

Object contents are derived from (key, version), and start with "key|version|", so any object
read back can be checked on its own."""

import functools
import hashlib
import random
import threading
import time

import pytest
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from conftest import data_files, md5_hex

LARGE_EVERY = 8  # about one write in 8 is a large object (more time inside a PUT)


@functools.lru_cache(maxsize=4096)
def content_for(key, version):
    seed = hashlib.sha256(f"{key}|{version}".encode()).digest()
    rng = random.Random(seed)
    if int.from_bytes(seed[:2], "big") % LARGE_EVERY == 0:
        size = rng.randrange(1 << 20, 3 << 20)
    else:
        size = rng.randrange(0, 96 << 10)
    return f"{key}|{version}|".encode() + rng.randbytes(size)


def check_self_consistent(key, data):
    """The bytes of an object read back are exactly what some write of that key sent."""
    parts = data.split(b"|", 2)
    assert len(parts) == 3, f"{key}: no header, {len(data)} bytes: {data[:60]!r}"
    assert parts[0].decode() == key, f"{key}: holds the bytes of {parts[0]!r}"
    version = int(parts[1])
    expected = content_for(key, version)
    assert len(data) == len(expected), f"{key} v{version}: {len(data)} bytes, want {len(expected)}"
    assert data == expected, f"{key} v{version}: bytes differ"
    return version


class Model:
    """What the clients were told (acknowledged) and what they had in flight."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}      # key -> version acknowledged last (None: acknowledged delete)
        self.inflight = {}   # key -> version (None: delete) sent without an answer

    def begin(self, key, version):
        with self.lock:
            self.inflight[key] = version

    def ack(self, key, version):
        with self.lock:
            self.acked[key] = version
            self.inflight.pop(key, None)


class Writer(threading.Thread):
    def __init__(self, client, bucket, model, tid, rnd, versions):
        super().__init__(daemon=True)
        self.client, self.bucket, self.model = client, bucket, model
        self.tid, self.rnd, self.versions = tid, rnd, versions
        self.ops = 0
        self.error = None
        self.rng = random.Random(f"{tid}-{rnd}")

    def run(self):
        own_new = []
        try:
            while True:
                r = self.rng.random()
                if r < 0.3:  # overwrite one of this thread's hot keys (shared across rounds)
                    key = f"hot/{self.tid}-{self.rng.randrange(3)}"
                    self.versions[key] = self.versions.get(key, 0) + 1
                    self._put(key, self.versions[key])
                elif r < 0.38 and own_new:  # delete a key this thread wrote
                    key = own_new.pop(self.rng.randrange(len(own_new)))
                    self.model.begin(key, None)
                    self.client.delete_object(Bucket=self.bucket, Key=key)
                    self.model.ack(key, None)
                else:
                    key = f"r{self.rnd}/t{self.tid}/obj-{self.ops:05d}"
                    self._put(key, 0)
                    own_new.append(key)
                self.ops += 1
        except Exception as e:  # the server died under us: the expected way out
            self.error = e

    def _put(self, key, version):
        body = content_for(key, version)
        self.model.begin(key, version)
        resp = self.client.put_object(Bucket=self.bucket, Key=key, Body=body)
        assert resp["ETag"].strip('"') == md5_hex(body)
        self.model.ack(key, version)


def verify(s3, bucket, model, data_dir):
    cache = {}

    def read(key):
        if key not in cache:
            obj = s3.get_object(Bucket=bucket, Key=key)
            data = obj["Body"].read()
            assert obj["ETag"].strip('"') == md5_hex(data), key
            assert obj["ContentLength"] == len(data), key
            cache[key] = data
        return cache[key]

    # Every acknowledged write is there and intact (or, if a later write of the same key was
    # in flight, that later write instead).
    for key, version in model.acked.items():
        allowed = {version}
        if key in model.inflight:
            allowed.add(model.inflight[key])
        try:
            data = read(key)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "NoSuchKey"
            assert None in allowed, f"acknowledged {key} v{version} is missing after the crash"
            continue
        got = check_self_consistent(key, data)
        assert got in allowed, f"{key}: found v{got}, acknowledged v{version}"
    # Every listed object is whole: bytes, size and ETag agree.
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        listed.extend(page.get("Contents", []))
    for o in listed:
        data = read(o["Key"])
        check_self_consistent(o["Key"], data)
        assert o["Size"] == len(data), o["Key"]
        assert o["ETag"].strip('"') == md5_hex(data), o["Key"]
    # Listed keys are exactly the acknowledged live keys, give or take the in-flight ones.
    listed_keys = {o["Key"] for o in listed}
    must = {k for k, v in model.acked.items() if v is not None and k not in model.inflight}
    must_not = {k for k, v in model.acked.items() if v is None and k not in model.inflight}
    assert must <= listed_keys, f"missing after crash: {sorted(must - listed_keys)[:10]}"
    assert not (must_not & listed_keys), f"deleted but back: {sorted(must_not & listed_keys)}"
    unknown = listed_keys - set(model.acked) - set(model.inflight)
    assert not unknown, f"objects nobody wrote: {sorted(unknown)[:10]}"
    # Orphan data files (from writes cut by the crash, or replaced objects) were swept.
    files = data_files(data_dir)
    assert len(files) == len(listed), (
        f"{len(files)} data files for {len(listed)} objects: orphans were not swept")
    # What became of the writes in flight is known now: fold it into the model, so that the
    # next round holds the server to it.
    for key in list(model.inflight):
        found = [o for o in listed if o["Key"] == key]
        if found:
            model.acked[key] = check_self_consistent(key, read(key))
        else:
            model.acked[key] = None
    model.inflight.clear()
    return len(listed)


@pytest.mark.parametrize("seed", [1, 2])
def test_kill9_during_put_stream(server_factory, tmp_path, seed):
    rng = random.Random(seed)
    data_dir = tmp_path / "crash-data"
    srv = server_factory(data_dir=data_dir)
    bucket = "crash-bucket"
    srv.client().create_bucket(Bucket=bucket)
    model = Model()
    versions = {}
    delays = [0.3, 0.8, 1.5] if seed == 1 else [0.1, 1.1, 0.5]
    total_ops = 0
    for rnd, delay in enumerate(delays):
        delay += rng.uniform(0, 0.3)
        writers = [Writer(srv.client(connect_timeout=2, read_timeout=10), bucket, model, tid,
                          rnd, versions) for tid in range(3)]
        # Hot keys are per thread, so writes of one key are sequential: one in flight at most.
        for w in writers:
            w.start()
        # Let every writer get going, then crash the server mid-stream.
        deadline = time.monotonic() + 20
        while min(w.ops for w in writers) < 2 and time.monotonic() < deadline:
            assert all(w.is_alive() for w in writers), [w.error for w in writers]
            time.sleep(0.01)
        time.sleep(delay)
        pid = srv.pid
        srv.kill()
        assert srv.alive() is False
        for w in writers:
            w.join(30)
            assert not w.is_alive(), "a writer hangs after the server died"
            # Only the crash may stop a writer: a connection error, never an S3 error reply.
            assert isinstance(w.error, (ConnectionError, HTTPClientError)), repr(w.error)
            total_ops += w.ops
        srv.start()  # same data dir, new port
        assert srv.pid != pid
        count = verify(srv.client(), bucket, model, data_dir)
        assert count > 0
    assert total_ops >= 20, f"only {total_ops} writes acknowledged: the stream was too short"


def test_kill9_during_large_puts_leaves_no_orphans(server_factory, tmp_path):
    """Kill while several large PUTs are in flight: their partial data files must be swept."""
    data_dir = tmp_path / "crash-large"
    srv = server_factory(data_dir=data_dir)
    s3 = srv.client()
    bucket = "crash-large"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="keep", Body=b"keep me")
    big = random.Random(7).randbytes(48 << 20)
    started = threading.Event()
    errors = []

    def upload(i):
        client = srv.client(connect_timeout=2, read_timeout=30)
        try:
            started.set()
            client.put_object(Bucket=bucket, Key=f"big-{i}", Body=big)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=upload, args=(i,), daemon=True) for i in range(3)]
    for t in threads:
        t.start()
    started.wait(10)
    # Wait until the server has begun writing data files for the uploads, then kill it.
    deadline = time.monotonic() + 20
    while len(data_files(data_dir)) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    partial = len(data_files(data_dir))
    srv.kill()
    for t in threads:
        t.join(30)
    srv.start()
    s3 = srv.client()
    listed = {o["Key"]: o for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert "keep" in listed
    for key, o in listed.items():
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert o["Size"] == len(data)
        assert o["ETag"].strip('"') == md5_hex(data)
        if key != "keep":
            assert data == big, f"{key} is listed but not whole"
    assert len(data_files(data_dir)) == len(listed), (
        f"{partial} data files at the kill; after restart {len(data_files(data_dir))} files "
        f"for {len(listed)} objects")
