"""aws-cli against the server: Debian's /usr/bin/aws (v2), always by absolute path."""

import filecmp
import hashlib
import json
import os
import subprocess

import pytest

from conftest import ACCESS_KEY, REGION, SECRET_KEY, unique_bucket_name

AWS = "/usr/bin/aws"

pytestmark = pytest.mark.skipif(not os.access(AWS, os.X_OK), reason=f"{AWS} is not installed")


@pytest.fixture(scope="module")
def aws(server, tmp_path_factory):
    home = tmp_path_factory.mktemp("awscli")
    config = home / "config"
    # This suite was written before the server had multipart upload: a 5GB threshold (the
    # single-PUT limit) keeps `aws s3 cp`/`sync` on single PutObject requests (and single GETs
    # down), and the 20 MiB test relies on it (its ETag must be the plain MD5).
    # Path-style addressing: <bucket>.127.0.0.1 cannot be resolved.
    text = ("[default]\n"
            f"region = {REGION}\n"
            "s3 =\n"
            "  multipart_threshold = 5GB\n"
            "  addressing_style = path\n")
    config.write_text(text)
    serial_config = home / "config-serial"  # one transfer thread: one pooled connection
    serial_config.write_text(text + "  max_concurrent_requests = 1\n")
    credentials = home / "credentials"
    credentials.write_text("")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    }

    def run(*args, check=True, serial=False):
        run_env = dict(env, AWS_CONFIG_FILE=str(serial_config)) if serial else env
        proc = subprocess.run(
            [AWS, "--endpoint-url", server.endpoint, "--cli-read-timeout", "10", *args],
            env=run_env, capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            pytest.fail(f"aws {' '.join(args)} exited {proc.returncode}\n"
                        f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    return run


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def test_cp_large_file_up_and_down(aws, s3, tmp_path):
    bucket = unique_bucket_name("cli")
    aws("s3", "mb", f"s3://{bucket}")
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    src = tmp_path / "big.bin"
    data = os.urandom(20 * 1024 * 1024)
    src.write_bytes(data)
    aws("s3", "cp", str(src), f"s3://{bucket}/dir/big.bin")
    head = s3.head_object(Bucket=bucket, Key="dir/big.bin")
    assert head["ContentLength"] == len(data)
    # A single PUT: the ETag is the MD5 of the bytes (a multipart ETag would end in -N).
    assert head["ETag"].strip('"') == hashlib.md5(data).hexdigest()

    dst = tmp_path / "down.bin"
    aws("s3", "cp", f"s3://{bucket}/dir/big.bin", str(dst))
    assert dst.stat().st_size == len(data)
    assert sha256_file(dst) == hashlib.sha256(data).hexdigest()

    # head-object through s3api
    out = json.loads(aws("s3api", "head-object", "--bucket", bucket, "--key", "dir/big.bin").stdout)
    assert out["ContentLength"] == len(data)
    assert out["ETag"].strip('"') == hashlib.md5(data).hexdigest()

    # ls: of buckets, of a prefix, recursive
    assert bucket in aws("s3", "ls").stdout.split()
    lines = aws("s3", "ls", f"s3://{bucket}/").stdout.splitlines()
    assert [ln.split()[-1] for ln in lines] == ["dir/"]
    lines = aws("s3", "ls", f"s3://{bucket}/dir/").stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].split()[-2:] == [str(len(data)), "big.bin"]

    # rb refuses a non-empty bucket; rm empties it; rb removes it
    proc = aws("s3", "rb", f"s3://{bucket}", check=False)
    assert proc.returncode != 0
    assert "BucketNotEmpty" in proc.stderr
    aws("s3", "rm", f"s3://{bucket}/dir/big.bin")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    aws("s3", "rb", f"s3://{bucket}")
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def make_tree(root):
    files = {
        "a.txt": b"alpha\n",
        "sub/b.bin": os.urandom(100_000),
        "sub/deeper/c with space.txt": b"gamma",
        "sub/deeper/d+plus.txt": b"delta",
        "unicode-é/ü.txt": "üü".encode(),
    }
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)
    return files


def assert_same_tree(a, b):
    cmp = filecmp.dircmp(a, b)

    def check(c):
        assert not c.left_only and not c.right_only and not c.diff_files and not c.funny_files, (
            c.left, c.left_only, c.right_only, c.diff_files)
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        assert not mismatch and not errors
        for sub in c.subdirs.values():
            check(sub)

    check(cmp)


def test_sync_tree(aws, s3, tmp_path):
    bucket = unique_bucket_name("sync")
    aws("s3", "mb", f"s3://{bucket}")
    src = tmp_path / "src"
    files = make_tree(src)

    aws("s3", "sync", str(src), f"s3://{bucket}/tree")
    listed = {o["Key"]: o for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert set(listed) == {f"tree/{rel}" for rel in files}
    for rel, content in files.items():
        got = s3.get_object(Bucket=bucket, Key=f"tree/{rel}")["Body"].read()
        assert got == content, rel

    # A second sync with nothing changed uploads nothing.
    out = aws("s3", "sync", str(src), f"s3://{bucket}/tree").stdout
    assert "upload:" not in out

    # Change one file (different size), add one, delete one; sync --delete mirrors it.
    (src / "a.txt").write_bytes(b"alpha, changed\n")
    (src / "new.txt").write_bytes(b"new")
    (src / "sub/deeper/d+plus.txt").unlink()
    out = aws("s3", "sync", "--delete", str(src), f"s3://{bucket}/tree").stdout
    uploads = sorted(ln.rsplit(" to ", 1)[1].strip()
                     for ln in out.splitlines() if ln.startswith("upload:"))
    assert uploads == [f"s3://{bucket}/tree/a.txt", f"s3://{bucket}/tree/new.txt"]
    assert any(ln.startswith("delete:") and "d+plus.txt" in ln for ln in out.splitlines())

    # Down again into an empty folder: the trees are equal.
    dst = tmp_path / "dst"
    dst.mkdir()
    aws("s3", "sync", f"s3://{bucket}/tree", str(dst))
    assert_same_tree(src, dst)

    aws("s3", "rm", "--recursive", f"s3://{bucket}/tree/sub")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["tree/a.txt", "tree/new.txt", "tree/unicode-é/ü.txt"]
    aws("s3", "rb", "--force", f"s3://{bucket}")
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_empty_file_among_others(aws, s3, tmp_path):
    """An empty file followed by others over one keep-alive connection (one transfer thread).

    botocore (Debian's 1.29, and up to at least 1.42) sends Expect: 100-continue on every PUT,
    even an empty one; when the server answers such a request with its final status and no
    interim 100 Continue, botocore keeps that status line for the connection and misreads the
    next response on it, hanging until the read timeout. S3 sends 100 Continue, so aws-cli
    works there; a compatible server must too (or close the connection)."""
    bucket = unique_bucket_name("empty")
    aws("s3", "mb", f"s3://{bucket}")
    src = tmp_path / "src"
    src.mkdir()
    files = {"0-empty": b"", "1-one": b"one", "2-two": b"two", "3-empty": b"", "4-four": b"4"}
    for name, content in files.items():
        (src / name).write_bytes(content)
    aws("s3", "cp", "--recursive", str(src), f"s3://{bucket}/", serial=True)
    for name, content in files.items():
        assert s3.get_object(Bucket=bucket, Key=name)["Body"].read() == content
    dst = tmp_path / "dst"
    aws("s3", "cp", "--recursive", f"s3://{bucket}/", str(dst), serial=True)
    assert_same_tree(src, dst)
    aws("s3", "rb", "--force", f"s3://{bucket}")


def test_cli_errors(aws, s3, tmp_path):
    proc = aws("s3", "ls", f"s3://{unique_bucket_name('nope')}", check=False)
    assert proc.returncode != 0 and "NoSuchBucket" in proc.stderr
    proc = aws("s3", "mb", "s3://Bad_Name", check=False)
    assert proc.returncode != 0
    bucket = unique_bucket_name("clierr")
    aws("s3", "mb", f"s3://{bucket}")
    proc = aws("s3", "cp", f"s3://{bucket}/missing", str(tmp_path / "x"), check=False)
    assert proc.returncode != 0 and "404" in proc.stderr
    aws("s3", "rb", f"s3://{bucket}")
