"""rclone (Debian's 1.60) against Skyway, configured only through RCLONE_CONFIG_SKY_* variables
(provider Other, which means path-style addressing)."""

import base64
import hashlib
import os
import pathlib
import urllib.request

import pytest

from conftest import ACCESS_KEY, MiB, REGION, SECRET_KEY, keys_of, random_file, run_cmd, sha256_file

RCLONE = "/usr/bin/rclone"


@pytest.fixture(scope="module")
def rclone(server, tmp_path_factory):
    home = tmp_path_factory.mktemp("rclone-home")
    env = {
        "HOME": str(home),
        "RCLONE_CONFIG": str(home / "rclone.conf"),  # does not exist: env only
        "RCLONE_CONFIG_SKY_TYPE": "s3",
        "RCLONE_CONFIG_SKY_PROVIDER": "Other",
        "RCLONE_CONFIG_SKY_ENDPOINT": server.endpoint,
        "RCLONE_CONFIG_SKY_ACCESS_KEY_ID": ACCESS_KEY,
        "RCLONE_CONFIG_SKY_SECRET_ACCESS_KEY": SECRET_KEY,
        "RCLONE_CONFIG_SKY_REGION": REGION,
    }

    def run(*args, check=True, timeout=180):
        return run_cmd([RCLONE, "--retries", "1", "--low-level-retries", "1", *args],
                       env=env, check=check, timeout=timeout)

    return run


def _make_tree(root):
    files = {"readme.txt": b"rclone tree\n", "a/1.bin": os.urandom(100_000),
             "a/b/2.txt": b"two\n", "a/b/c/3.bin": os.urandom(7 * MiB),
             "empty.txt": b"", "sp ace/n\u00e4me.txt": "unicode name\n".encode()}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def _tree(root):
    root = pathlib.Path(root)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_copy_tree_check_copy_down_lsf_delete_purge(rclone, s3, tmp_path):
    bucket = f"rclone-{os.urandom(8).hex()}"
    rclone("mkdir", f"sky:{bucket}")
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    src = tmp_path / "src"
    files = _make_tree(src)
    rclone("copy", str(src), f"sky:{bucket}/tree")
    assert keys_of(s3, bucket) == sorted(f"tree/{k}" for k in files)
    for k, data in files.items():
        got = s3.get_object(Bucket=bucket, Key=f"tree/{k}")
        assert got["Body"].read() == data
        assert got["ETag"].strip('"') == hashlib.md5(data).hexdigest()

    # check: sizes and MD5 (the ETags) of every file agree
    out = rclone("check", str(src), f"sky:{bucket}/tree")
    assert b"0 differences found" in out.stderr, out.stderr
    assert f"{len(files)} matching files".encode() in out.stderr, out.stderr

    # ... and a changed file is noticed
    (src / "a/b/2.txt").write_bytes(b"TWO\n")
    bad = rclone("check", str(src), f"sky:{bucket}/tree", check=False)
    assert bad.returncode != 0 and b"1 differences found" in bad.stderr, bad.stderr
    (src / "a/b/2.txt").write_bytes(b"two\n")

    dst = tmp_path / "dst"
    rclone("copy", f"sky:{bucket}/tree", str(dst))
    assert _tree(dst) == files

    # lsf: flat and recursive listings, with sizes
    top = rclone("lsf", f"sky:{bucket}/tree").stdout.decode().splitlines()
    assert sorted(top) == ["a/", "empty.txt", "readme.txt", "sp ace/"]
    rec = rclone("lsf", "-R", "--files-only", "--format", "ps", "--separator", "|",
                 f"sky:{bucket}/tree").stdout.decode().splitlines()
    assert sorted(rec) == sorted(f"{k}|{len(v)}" for k, v in files.items())

    # server-side copy and move within the bucket
    rclone("copyto", f"sky:{bucket}/tree/a/1.bin", f"sky:{bucket}/other/1-copy.bin")
    assert s3.get_object(Bucket=bucket, Key="other/1-copy.bin")["Body"].read() == files["a/1.bin"]
    rclone("moveto", f"sky:{bucket}/other/1-copy.bin", f"sky:{bucket}/other/1-moved.bin")
    assert keys_of(s3, bucket, "other/") == ["other/1-moved.bin"]

    # delete by filter, deletefile, then purge the bucket
    rclone("delete", f"sky:{bucket}/tree", "--include", "*.bin")
    assert keys_of(s3, bucket, "tree/") == sorted(
        f"tree/{k}" for k in files if not k.endswith(".bin"))
    rclone("deletefile", f"sky:{bucket}/tree/readme.txt")
    assert "tree/readme.txt" not in keys_of(s3, bucket)
    rclone("purge", f"sky:{bucket}")
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_copyto_50mib_multipart_and_back(rclone, s3, bucket, tmp_path):
    src = tmp_path / "fifty.bin"
    digest = random_file(src, 50 * MiB, seed=3)
    rclone("copyto", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", str(src),
           f"sky:{bucket}/big/fifty.bin")
    head = s3.head_object(Bucket=bucket, Key="big/fifty.bin")
    assert head["ContentLength"] == 50 * MiB
    assert head["ETag"].strip('"').endswith("-10"), head["ETag"]
    # rclone records the whole-file MD5 as metadata on multipart uploads
    md5 = hashlib.md5(src.read_bytes()).hexdigest()

    assert base64.b64decode(head["Metadata"]["md5chksum"]).hex() == md5
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    out = rclone("check", str(tmp_path), f"sky:{bucket}/big", "--include", "fifty.bin")
    assert b"0 differences found" in out.stderr, out.stderr

    dst = tmp_path / "down" / "fifty.bin"
    rclone("copyto", f"sky:{bucket}/big/fifty.bin", str(dst))
    assert sha256_file(dst) == digest
    assert rclone("md5sum", f"sky:{bucket}/big").stdout.decode().split()[0] == md5
    src.unlink()
    dst.unlink()


def test_link_is_a_working_presigned_url(rclone, s3, bucket):
    data = os.urandom(33_333)
    s3.put_object(Bucket=bucket, Key="shared/file.bin", Body=data)
    url = rclone("link", "--expire", "10m", f"sky:{bucket}/shared/file.bin").stdout.decode().strip()
    assert "X-Amz-Signature=" in url, url
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.read() == data
