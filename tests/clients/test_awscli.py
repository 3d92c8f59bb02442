"""aws-cli (Debian's /usr/bin/aws, v2.9) against Skyway: high-level `aws s3` and `aws s3api`.

The CLI runs with its default transfer settings (multipart above 8 MiB, 8 MiB parts, 10
concurrent requests); only the endpoint, keys, region and path-style addressing are set.
"""

import base64
import json
import os
import pathlib
import urllib.error
import urllib.request
import zlib

import pytest

from conftest import (ACCESS_KEY, MiB, REGION, SECRET_KEY, keys_of, random_file, run_cmd,
                      sha256_file)

AWS = "/usr/bin/aws"  # Debian's aws-cli; never the one on PATH


@pytest.fixture(scope="module")
def aws(server, tmp_path_factory):
    """Runs /usr/bin/aws against the server with an isolated config; returns CompletedProcess."""
    home = tmp_path_factory.mktemp("awscli-home")
    config = home / "config"
    # One attempt: a request that needs a retry is a server fault here, and a retry would hide it
    # (a stalled keep-alive response once cost a silent 60 s read timeout plus a retry).
    config.write_text("[default]\nregion = us-east-1\nmax_attempts = 1\n"
                      "s3 =\n    addressing_style = path\n")
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"), "HOME": str(home),
        "AWS_PAGER": "", "AWS_EC2_METADATA_DISABLED": "true",
    }

    def run(*args, check=True, timeout=180):
        return run_cmd([AWS, "--endpoint-url", server.endpoint, "--cli-read-timeout", "30", *args],
                       env=env,
                       check=check, timeout=timeout)

    return run


def aws_json(aws, *args):
    return json.loads(aws(*args, "--output", "json").stdout or b"{}")


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_cp_200mib_multipart_round_trip(aws, s3, bucket, tmp_path):
    src = tmp_path / "big.bin"
    digest = random_file(src, 200 * MiB, seed=1)
    aws("s3", "cp", "--only-show-errors", str(src), f"s3://{bucket}/dir/big.bin", timeout=240)

    head = s3.head_object(Bucket=bucket, Key="dir/big.bin")
    assert head["ContentLength"] == 200 * MiB
    # Default config: 8 MiB parts -> a 25-part multipart upload.
    assert head["ETag"].strip('"').endswith("-25"), head["ETag"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    dst = tmp_path / "big.down"
    aws("s3", "cp", "--only-show-errors", f"s3://{bucket}/dir/big.bin", str(dst), timeout=240)
    assert dst.stat().st_size == 200 * MiB
    assert sha256_file(dst) == digest
    src.unlink()
    dst.unlink()
    aws("s3", "rm", "--only-show-errors", f"s3://{bucket}/dir/big.bin")
    assert keys_of(s3, bucket) == []


def test_ls_and_server_side_copy_and_mv(aws, s3, bucket, tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"hello from aws-cli\n")
    aws("s3", "cp", "--only-show-errors", str(f), f"s3://{bucket}/x/a.txt")
    aws("s3", "cp", "--only-show-errors", f"s3://{bucket}/x/a.txt", f"s3://{bucket}/y/b.txt")
    aws("s3", "mv", "--only-show-errors", f"s3://{bucket}/y/b.txt", f"s3://{bucket}/z/c.txt")
    assert keys_of(s3, bucket) == ["x/a.txt", "z/c.txt"]
    assert s3.get_object(Bucket=bucket, Key="z/c.txt")["Body"].read() == b"hello from aws-cli\n"

    top = aws("s3", "ls", f"s3://{bucket}/").stdout.decode()
    assert "PRE x/" in top and "PRE z/" in top
    rec = aws("s3", "ls", "--recursive", f"s3://{bucket}/").stdout.decode().splitlines()
    assert sorted(line.split()[-1] for line in rec) == ["x/a.txt", "z/c.txt"]
    assert all(line.split()[2] == "19" for line in rec)  # sizes
    buckets = aws("s3", "ls").stdout.decode()
    assert bucket in buckets

    listed = aws_json(aws, "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "x/")
    assert [o["Key"] for o in listed["Contents"]] == ["x/a.txt"]
    assert listed["Contents"][0]["Size"] == 19

    copied = aws_json(aws, "s3api", "copy-object", "--bucket", bucket, "--key", "x/copy.txt",
                      "--copy-source", f"{bucket}/x/a.txt")
    assert copied["CopyObjectResult"]["ETag"]
    assert s3.get_object(Bucket=bucket, Key="x/copy.txt")["Body"].read() == b"hello from aws-cli\n"


def test_put_object_crc32_checksum_and_checksum_mode(aws, s3, bucket, tmp_path):
    data = os.urandom(300 * 1024)
    f = tmp_path / "c.bin"
    f.write_bytes(data)
    put = aws_json(aws, "s3api", "put-object", "--bucket", bucket, "--key", "crc.bin",
                   "--body", str(f), "--checksum-algorithm", "CRC32")
    assert put.get("ChecksumCRC32") == crc32_b64(data), put

    head = aws_json(aws, "s3api", "head-object", "--bucket", bucket, "--key", "crc.bin",
                    "--checksum-mode", "ENABLED")
    assert head["ChecksumCRC32"] == crc32_b64(data), head
    assert head["ContentLength"] == len(data)

    # Without checksum mode the checksum is not returned.
    plain = aws_json(aws, "s3api", "head-object", "--bucket", bucket, "--key", "crc.bin")
    assert "ChecksumCRC32" not in plain

    # get-object with checksum mode: the CLI validates the body against the returned CRC32.
    out = tmp_path / "c.down"
    got = aws_json(aws, "s3api", "get-object", "--bucket", bucket, "--key", "crc.bin",
                   "--checksum-mode", "ENABLED", str(out))
    assert got["ChecksumCRC32"] == crc32_b64(data)
    assert out.read_bytes() == data


def test_presign_then_fetch_with_urllib(aws, s3, bucket):
    data = os.urandom(64 * 1024)
    s3.put_object(Bucket=bucket, Key="p/signed file.bin", Body=data)
    url = aws("s3", "presign", f"s3://{bucket}/p/signed file.bin",
              "--expires-in", "300").stdout.decode().strip()
    assert "X-Amz-Signature=" in url and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.status == 200
        assert resp.read() == data

    # A tampered signature is refused.
    bad = url[:-1] + ("0" if url[-1] != "0" else "1")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(bad, timeout=30)
    assert err.value.code == 403
    assert b"SignatureDoesNotMatch" in err.value.read()


def test_object_tagging(aws, s3, bucket):
    s3.put_object(Bucket=bucket, Key="t.txt", Body=b"tagged")
    aws("s3api", "put-object-tagging", "--bucket", bucket, "--key", "t.txt", "--tagging",
        json.dumps({"TagSet": [{"Key": "project", "Value": "skyway"},
                               {"Key": "tier", "Value": "cold storage"}]}))
    got = aws_json(aws, "s3api", "get-object-tagging", "--bucket", bucket, "--key", "t.txt")
    assert sorted((t["Key"], t["Value"]) for t in got["TagSet"]) == [
        ("project", "skyway"), ("tier", "cold storage")]
    aws("s3api", "delete-object-tagging", "--bucket", bucket, "--key", "t.txt")
    got = aws_json(aws, "s3api", "get-object-tagging", "--bucket", bucket, "--key", "t.txt")
    assert got["TagSet"] == []


def _tree(root):
    root = pathlib.Path(root)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_sync_up_down_and_rm_recursive(aws, s3, bucket, tmp_path):
    src = tmp_path / "src"
    files = {"a.txt": b"alpha\n", "sub/b.bin": os.urandom(20000), "sub/deep/c.txt": b"",
             "sub/deep/d e.txt": b"space in name\n", "big.bin": os.urandom(9 * MiB)}
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)

    out = aws("s3", "sync", "--no-progress", str(src), f"s3://{bucket}/tree").stdout.decode()
    assert out.count("upload:") == len(files), out
    assert keys_of(s3, bucket) == sorted(f"tree/{k}" for k in files)

    # Unchanged tree: nothing to do.
    again = aws("s3", "sync", "--no-progress", str(src), f"s3://{bucket}/tree").stdout.decode()
    assert "upload:" not in again, again

    # One file changes size, one is removed locally: --delete mirrors both.
    (src / "a.txt").write_bytes(b"alpha, changed\n")
    (src / "sub/b.bin").unlink()
    out = aws("s3", "sync", "--no-progress", "--delete", str(src),
              f"s3://{bucket}/tree").stdout.decode()
    assert "upload:" in out and "tree/a.txt" in out and "delete:" in out, out
    expected = dict(files, **{"a.txt": b"alpha, changed\n"})
    del expected["sub/b.bin"]
    assert keys_of(s3, bucket) == sorted(f"tree/{k}" for k in expected)

    dst = tmp_path / "dst"
    aws("s3", "sync", "--no-progress", f"s3://{bucket}/tree", str(dst))
    assert _tree(dst) == expected

    out = aws("s3", "rm", "--recursive", f"s3://{bucket}/tree").stdout.decode()
    assert out.count("delete:") == len(expected), out
    assert keys_of(s3, bucket) == []

    aws("s3", "rb", f"s3://{bucket}")
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
