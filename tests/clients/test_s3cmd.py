"""s3cmd (Debian's 2.3) against Skyway, SigV4 only (signature_v2 = False), path-style.

Not testable against this server, by design: `s3cmd setacl` (Skyway answers 501 NotImplemented
for ?acl; checked below so the answer stays a clean S3 error) and `s3cmd signurl`, which only
makes SigV2 query URLs (Skyway implements SigV4 only; the URL is refused, checked below).
s3cmd has no object-tagging commands in 2.3.
"""

import hashlib
import os
import re
import urllib.error
import urllib.request

import pytest

from conftest import ACCESS_KEY, MiB, SECRET_KEY, keys_of, random_file, run_cmd, sha256_file

S3CMD = "/usr/bin/s3cmd"


@pytest.fixture(scope="module")
def s3cmd(server, tmp_path_factory):
    home = tmp_path_factory.mktemp("s3cmd-home")
    cfg = home / "s3cfg"
    cfg.write_text(
        "[default]\n"
        f"access_key = {ACCESS_KEY}\n"
        f"secret_key = {SECRET_KEY}\n"
        f"host_base = {server.hostport}\n"
        f"host_bucket = {server.hostport}\n"
        "use_https = False\n"
        "signature_v2 = False\n"
        "bucket_location = us-east-1\n")

    def run(*args, check=True, timeout=180):
        return run_cmd([S3CMD, "-c", str(cfg), "--no-progress", *args],
                       env={"HOME": str(home)}, check=check, timeout=timeout)

    return run


@pytest.fixture
def s3cmd_bucket(s3cmd, s3):
    """A bucket made (and, at the end, removed) with s3cmd itself."""
    name = f"s3cmd-{os.urandom(8).hex()}"
    out = s3cmd("mb", f"s3://{name}").stdout.decode()
    assert f"Bucket 's3://{name}/' created" in out
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    return name


def test_put_get_ls_cp_del_rb(s3cmd, s3, s3cmd_bucket, tmp_path):
    b = s3cmd_bucket
    small = tmp_path / "small.txt"
    small.write_bytes(b"small object via s3cmd\n")
    s3cmd("put", str(small), f"s3://{b}/docs/small.txt")
    assert s3.get_object(Bucket=b, Key="docs/small.txt")["Body"].read() == small.read_bytes()
    head = s3.head_object(Bucket=b, Key="docs/small.txt")
    assert head["ETag"].strip('"') == hashlib.md5(small.read_bytes()).hexdigest()
    assert head["ContentType"] == "text/plain"  # s3cmd guesses it from the name
    assert "s3cmd-attrs" in head["Metadata"]  # and stores its attributes as x-amz-meta-*

    # 30 MiB with 5 MiB chunks: a 6-part multipart upload.
    big = tmp_path / "big.bin"
    digest = random_file(big, 30 * MiB, seed=2)
    s3cmd("put", "--multipart-chunk-size-mb=5", str(big), f"s3://{b}/data/big.bin")
    head = s3.head_object(Bucket=b, Key="data/big.bin")
    assert head["ContentLength"] == 30 * MiB
    assert head["ETag"].strip('"').endswith("-6"), head["ETag"]

    # get both back (s3cmd checks the MD5 it stored in s3cmd-attrs)
    s3cmd("get", f"s3://{b}/docs/small.txt", str(tmp_path / "small.down"))
    assert (tmp_path / "small.down").read_bytes() == small.read_bytes()
    s3cmd("get", f"s3://{b}/data/big.bin", str(tmp_path / "big.down"))
    assert sha256_file(tmp_path / "big.down") == digest

    # ls: top level shows the prefixes; recursive shows both objects with sizes.
    top = s3cmd("ls", f"s3://{b}").stdout.decode()
    assert f"DIR  s3://{b}/data/" in top and f"DIR  s3://{b}/docs/" in top, top
    rec = s3cmd("ls", "--recursive", f"s3://{b}").stdout.decode().splitlines()
    entries = {line.split()[-1]: int(line.split()[2]) for line in rec}
    assert entries == {f"s3://{b}/data/big.bin": 30 * MiB,
                       f"s3://{b}/docs/small.txt": len(small.read_bytes())}, rec
    assert b in s3cmd("ls").stdout.decode()

    # server-side copy (of the multipart object too)
    s3cmd("cp", f"s3://{b}/docs/small.txt", f"s3://{b}/copies/small.txt")
    s3cmd("cp", f"s3://{b}/data/big.bin", f"s3://{b}/copies/big.bin")
    assert s3.get_object(Bucket=b, Key="copies/small.txt")["Body"].read() == small.read_bytes()
    s3cmd("get", f"s3://{b}/copies/big.bin", str(tmp_path / "big.copy"))
    assert sha256_file(tmp_path / "big.copy") == digest

    # info and du
    info = s3cmd("info", f"s3://{b}/docs/small.txt").stdout.decode()
    assert re.search(r"File size:\s+23\b", info), info
    assert hashlib.md5(small.read_bytes()).hexdigest() in info
    du = s3cmd("du", f"s3://{b}").stdout.decode()
    assert du.split()[:2] == [str(2 * 30 * MiB + 2 * 23), "4"], du

    # del one, then the rest recursively; then rb
    s3cmd("del", f"s3://{b}/docs/small.txt")
    assert keys_of(s3, b) == ["copies/big.bin", "copies/small.txt", "data/big.bin"]
    s3cmd("del", "--recursive", "--force", f"s3://{b}/")
    assert keys_of(s3, b) == []
    s3cmd("rb", f"s3://{b}")
    assert b not in [x["Name"] for x in s3.list_buckets()["Buckets"]]
    for p in tmp_path.glob("big*"):
        p.unlink()


def test_sync_and_modify(s3cmd, s3, s3cmd_bucket, tmp_path):
    b = s3cmd_bucket
    src = tmp_path / "src"
    files = {"one.txt": b"1\n", "d/two.bin": os.urandom(5000), "d/e/three.txt": b"three\n"}
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    s3cmd("sync", f"{src}/", f"s3://{b}/mirror/")
    assert keys_of(s3, b) == sorted(f"mirror/{k}" for k in files)
    for k, data in files.items():
        assert s3.get_object(Bucket=b, Key=f"mirror/{k}")["Body"].read() == data

    # A second sync has nothing to transfer.
    again = s3cmd("sync", f"{src}/", f"s3://{b}/mirror/").stdout.decode()
    assert "upload:" not in again, again

    dst = tmp_path / "dst"
    s3cmd("sync", f"s3://{b}/mirror/", f"{dst}/")
    for k, data in files.items():
        assert (dst / k).read_bytes() == data

    # modify: metadata replaced through a server-side copy onto itself
    s3cmd("modify", "--add-header=x-amz-meta-colour:blue", f"s3://{b}/mirror/one.txt")
    head = s3.head_object(Bucket=b, Key="mirror/one.txt")
    assert head["Metadata"].get("colour") == "blue", head["Metadata"]
    assert s3.get_object(Bucket=b, Key="mirror/one.txt")["Body"].read() == b"1\n"
    s3cmd("del", "--recursive", "--force", f"s3://{b}/")
    s3cmd("rb", f"s3://{b}")


def test_unimplemented_acl_and_sigv2_signurl_are_refused_cleanly(s3cmd, s3, s3cmd_bucket,
                                                                 tmp_path):
    b = s3cmd_bucket
    f = tmp_path / "x.txt"
    f.write_bytes(b"not public\n")
    s3cmd("put", str(f), f"s3://{b}/x.txt")

    acl = s3cmd("setacl", "--acl-public", f"s3://{b}/x.txt", check=False)
    assert acl.returncode != 0
    assert b"501 (NotImplemented)" in acl.stderr, acl.stderr

    url = s3cmd("signurl", f"s3://{b}/x.txt", "+300").stdout.decode().strip()
    assert "Signature=" in url and "AWSAccessKeyId=" in url  # SigV2 query form
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=30)
    assert err.value.code == 403
    assert b"not public" not in err.value.read()
    s3cmd("del", f"s3://{b}/x.txt")
    s3cmd("rb", f"s3://{b}")
