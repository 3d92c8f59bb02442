"""Concurrent writers and readers of the same keys: every read sees one whole version, the
last write wins, and replaced data files are removed."""

import hashlib
import random
import threading

from conftest import data_files, make_bucket, md5_hex


def body_for(writer, n):
    rng = random.Random(f"{writer}-{n}")
    return f"{writer}-{n}|".encode() + rng.randbytes(rng.randrange(1, 200_000))


def check_whole(data):
    head = data.split(b"|", 1)[0].decode()
    writer, n = head.split("-")
    assert data == body_for(int(writer), int(n)), f"torn read of version {head}"
    return head


def test_concurrent_overwrites_and_reads(server_factory):
    srv = server_factory()
    s3 = srv.client()
    bucket = make_bucket(s3)
    keys = ["same-0", "same-1"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=body_for(0, 0))
    errors = []
    last = {}
    lock = threading.Lock()

    def writer(w):
        client = srv.client(max_pool_connections=2)
        try:
            for n in range(1, 13):
                k = keys[n % 2]
                body = body_for(w, n)
                resp = client.put_object(Bucket=bucket, Key=k, Body=body)
                assert resp["ETag"].strip('"') == md5_hex(body)
                with lock:
                    last.setdefault(k, set()).add(f"{w}-{n}")
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    stop = threading.Event()
    reads = [0]

    def reader():
        client = srv.client(max_pool_connections=2)
        try:
            while not stop.is_set():
                for k in keys:
                    obj = client.get_object(Bucket=bucket, Key=k)
                    data = obj["Body"].read()
                    check_whole(data)
                    assert obj["ETag"].strip('"') == hashlib.md5(data).hexdigest()
                    reads[0] += 1
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    writers = [threading.Thread(target=writer, args=(w,)) for w in range(1, 7)]
    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join(120)
    stop.set()
    for t in readers:
        t.join(60)
    assert not errors, errors[:3]
    assert reads[0] > 0
    for k in keys:
        final = check_whole(s3.get_object(Bucket=bucket, Key=k)["Body"].read())
        assert final in last[k]
    # One data file per object: every replaced version's file is gone.
    assert len(data_files(srv.data_dir)) == len(keys)


def test_concurrent_distinct_puts_and_listing(server_factory):
    srv = server_factory()
    s3 = srv.client()
    bucket = make_bucket(s3)
    errors = []

    def put_many(t):
        client = srv.client()
        try:
            for i in range(25):
                client.put_object(Bucket=bucket, Key=f"t{t}/k{i:02d}", Body=f"{t}/{i}".encode())
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=put_many, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in p.get("Contents", [])]
    assert keys == sorted(f"t{t}/k{i:02d}" for t in range(6) for i in range(25))
    assert len(data_files(srv.data_dir)) == len(keys)
