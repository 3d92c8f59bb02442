"""Debian's boto3 (python3-boto3, via /usr/bin/python3) as a client in the matrix: the managed
transfers (s3transfer: multipart above the threshold, ranged parallel download), flexible
checksums, presigned URLs, copy, tagging and batch delete."""

import base64
import hashlib
import os
import urllib.request
import zlib

import boto3.s3.transfer
import pytest
from botocore.exceptions import ClientError

from conftest import MiB, keys_of, random_file, sha256_file


def b64(raw):
    return base64.b64encode(raw).decode()


def test_upload_file_and_download_file_multipart(s3, bucket, tmp_path):
    src = tmp_path / "up.bin"
    digest = random_file(src, 20 * MiB + 123, seed=4)
    config = boto3.s3.transfer.TransferConfig(multipart_threshold=8 * MiB,
                                              multipart_chunksize=5 * MiB, max_concurrency=4)
    s3.upload_file(str(src), bucket, "t/up.bin", Config=config,
                   ExtraArgs={"Metadata": {"k": "v"}, "ContentType": "application/x-test"})
    head = s3.head_object(Bucket=bucket, Key="t/up.bin")
    assert head["ContentLength"] == 20 * MiB + 123
    assert head["ETag"].strip('"').endswith("-5"), head["ETag"]
    assert head["Metadata"] == {"k": "v"}
    assert head["ContentType"] == "application/x-test"

    dst = tmp_path / "down.bin"
    s3.download_file(bucket, "t/up.bin", str(dst), Config=config)  # ranged GETs in parallel
    assert sha256_file(dst) == digest


@pytest.mark.parametrize("algorithm,fn", [
    ("CRC32", lambda d: zlib.crc32(d).to_bytes(4, "big")),
    ("SHA1", lambda d: hashlib.sha1(d).digest()),
    ("SHA256", lambda d: hashlib.sha256(d).digest()),
])
def test_put_object_flexible_checksums(s3, bucket, algorithm, fn):
    data = os.urandom(100_000)
    put = s3.put_object(Bucket=bucket, Key=f"c/{algorithm}", Body=data,
                        ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"] == b64(fn(data))
    head = s3.head_object(Bucket=bucket, Key=f"c/{algorithm}", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == b64(fn(data))
    got = s3.get_object(Bucket=bucket, Key=f"c/{algorithm}", ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == b64(fn(data))
    assert got["Body"].read() == data


def test_put_object_with_wrong_checksum_header_is_bad_digest(s3, bucket):
    data = b"checked payload"
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="c/wrong", Body=data,
                      ChecksumSHA256=b64(hashlib.sha256(b"other").digest()))
    assert err.value.response["Error"]["Code"] in ("BadDigest", "InvalidRequest")
    assert keys_of(s3, bucket) == []


def test_presigned_get_and_put(s3, bucket):
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p/x.bin"},
                                        ExpiresIn=300)
    data = os.urandom(50_000)
    req = urllib.request.Request(put_url, data=data, method="PUT")
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p/x.bin"},
                                        ExpiresIn=300)
    with urllib.request.urlopen(get_url, timeout=30) as resp:
        assert resp.read() == data


def test_copy_tagging_and_delete_objects(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"A", Tagging="x=1&y=two")
    assert sorted((t["Key"], t["Value"]) for t in
                  s3.get_object_tagging(Bucket=bucket, Key="a")["TagSet"]) == [("x", "1"),
                                                                               ("y", "two")]
    s3.copy({"Bucket": bucket, "Key": "a"}, bucket, "b")  # managed copy (CopyObject)
    assert s3.get_object(Bucket=bucket, Key="b")["Body"].read() == b"A"
    s3.put_object_tagging(Bucket=bucket, Key="b", Tagging={"TagSet": [{"Key": "z", "Value": ""}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="b")["TagSet"] == [{"Key": "z", "Value": ""}]
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["a", "b"]
    assert keys_of(s3, bucket) == []
