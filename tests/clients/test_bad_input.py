"""Hand-made requests (signed with botocore's SigV4Auth) that real clients can send but that
carry bad data: aws-chunked bodies with a wrong trailer checksum, multipart completions with
parts out of order, and XML bodies that are too large or too deep. Each one must be refused with
the S3 error code AWS uses, must not leave an object behind, and must not hurt the server.

Also the aws-chunked framing the AWS SDK for JavaScript v3 sends by default for stream bodies
(aws-chunked inside HTTP Transfer-Encoding: chunked), done by hand so that a server failure is
pinned down independently of the SDK.
"""

import base64
import hashlib
import os
import zlib

import pytest
from botocore.exceptions import ClientError

from conftest import MiB, signed_request


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def aws_chunked(data, trailer_name, trailer_value, chunk=64 * 1024):
    """An unsigned aws-chunked body with one trailer line."""
    out = bytearray()
    for i in range(0, len(data), chunk):
        piece = data[i:i + chunk]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    out += b"0\r\n" + f"{trailer_name}:{trailer_value}\r\n".encode() + b"\r\n"
    return bytes(out)


def http_chunked(body, chunk=100_000):
    """HTTP/1.1 Transfer-Encoding: chunked framing of `body`."""
    out = bytearray()
    for i in range(0, len(body), chunk):
        piece = body[i:i + chunk]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def trailer_headers(decoded_length):
    return {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(decoded_length),
        "X-Amz-Trailer": "x-amz-checksum-crc32",
    }


def exists(s3, bucket, key):
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as e:
        assert e.response["Error"]["Code"] in ("404", "NoSuchKey"), e.response
        return False


def put_unsigned_trailer(server, bucket, key, data, crc, extra_headers=None, te_chunked=False):
    body = aws_chunked(data, "x-amz-checksum-crc32", crc)
    headers = trailer_headers(len(data))
    headers.update(extra_headers or {})
    if te_chunked:
        headers["Transfer-Encoding"] = "chunked"
        body = http_chunked(body)
    return signed_request(server, "PUT", bucket, key, body=body, headers=headers,
                          payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")


# ---- aws-chunked with a trailer -----------------------------------------------------------------


def test_unsigned_trailer_with_right_crc32_is_stored_and_returned(server, s3, bucket):
    data = os.urandom(200_000)
    r = put_unsigned_trailer(server, bucket, "good.bin", data, crc32_b64(data))
    assert r.status == 200, r
    assert r.headers.get("x-amz-checksum-crc32") == crc32_b64(data), r.headers
    head = s3.head_object(Bucket=bucket, Key="good.bin", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(data)
    assert head["ChecksumCRC32"] == crc32_b64(data)
    assert s3.get_object(Bucket=bucket, Key="good.bin")["Body"].read() == data


def test_unsigned_trailer_with_wrong_crc32_is_bad_digest_and_stores_nothing(server, s3, bucket):
    data = os.urandom(200_000)
    wrong = crc32_b64(data + b"x")
    r = put_unsigned_trailer(server, bucket, "bad.bin", data, wrong)
    assert r.status == 400, r
    assert r.xml_code() == "BadDigest", r
    assert not exists(s3, bucket, "bad.bin")

    # Overwriting an existing object with a bad upload leaves the old one as it was.
    s3.put_object(Bucket=bucket, Key="kept.bin", Body=b"original")
    r = put_unsigned_trailer(server, bucket, "kept.bin", data, wrong)
    assert r.status == 400 and r.xml_code() == "BadDigest", r
    assert s3.get_object(Bucket=bucket, Key="kept.bin")["Body"].read() == b"original"


def test_unsigned_trailer_with_malformed_crc32_value_is_refused(server, s3, bucket):
    data = b"some data"
    r = put_unsigned_trailer(server, bucket, "malformed.bin", data, "not-base64!!")
    assert r.status == 400, r
    assert r.xml_code() in ("InvalidRequest", "BadDigest", "InvalidDigest"), r
    assert not exists(s3, bucket, "malformed.bin")


def test_aws_chunked_with_bad_chunk_size_line_is_refused(server, s3, bucket):
    body = b"zz\r\nhello\r\n0\r\nx-amz-checksum-crc32:" + crc32_b64(b"hello").encode() + b"\r\n\r\n"
    r = signed_request(server, "PUT", bucket, "framing.bin", body=body,
                       headers=trailer_headers(5),
                       payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert r.status == 400, r
    assert not exists(s3, bucket, "framing.bin")
    assert server.alive()


def test_aws_chunked_shorter_than_decoded_length_is_refused(server, s3, bucket):
    data = os.urandom(1000)
    body = aws_chunked(data, "x-amz-checksum-crc32", crc32_b64(data))
    headers = trailer_headers(len(data) + 500)  # claims more than the chunks carry
    r = signed_request(server, "PUT", bucket, "short.bin", body=body, headers=headers,
                       payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert r.status == 400, r
    assert not exists(s3, bucket, "short.bin")


def test_aws_chunked_inside_http_chunked_transfer_encoding(server, s3, bucket):
    """What @aws-sdk/client-s3 v3 sends by default for a stream Body: Transfer-Encoding: chunked,
    no Content-Length, Content-Encoding: aws-chunked, x-amz-decoded-content-length, and a CRC32
    trailer. Amazon S3 accepts it; a right CRC32 must store the object, a wrong one be BadDigest."""
    data = os.urandom(300_000)
    r = put_unsigned_trailer(server, bucket, "te.bin", data, crc32_b64(data), te_chunked=True)
    assert r.status == 200, r
    head = s3.head_object(Bucket=bucket, Key="te.bin", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(data)
    assert head["ChecksumCRC32"] == crc32_b64(data)
    assert s3.get_object(Bucket=bucket, Key="te.bin")["Body"].read() == data

    r = put_unsigned_trailer(server, bucket, "te-bad.bin", data, crc32_b64(b"other"),
                             te_chunked=True)
    assert r.status == 400 and r.xml_code() == "BadDigest", r
    assert not exists(s3, bucket, "te-bad.bin")


# ---- CompleteMultipartUpload --------------------------------------------------------------------


@pytest.fixture
def upload(s3, bucket):
    """A multipart upload with two parts (5 MiB and 1 KiB); yields (key, upload_id, parts)."""
    key = "mpu.bin"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for n, size in ((1, 5 * MiB), (2, 1024)):
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n,
                              Body=os.urandom(size))["ETag"]
        parts.append({"PartNumber": n, "ETag": etag})
    return key, uid, parts


def complete_xml(parts):
    items = "".join(f"<Part><PartNumber>{p['PartNumber']}</PartNumber><ETag>{p['ETag']}</ETag>"
                    "</Part>" for p in parts)
    return f"<CompleteMultipartUpload>{items}</CompleteMultipartUpload>".encode()


def test_complete_with_parts_out_of_order_is_invalid_part_order(s3, bucket, upload):
    key, uid, parts = upload
    with pytest.raises(ClientError) as err:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                     MultipartUpload={"Parts": list(reversed(parts))})
    assert err.value.response["Error"]["Code"] == "InvalidPartOrder"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert not exists(s3, bucket, key)
    # The upload is still open and completes once the order is right.
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                 MultipartUpload={"Parts": parts})
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == 5 * MiB + 1024


def test_complete_with_overlong_xml_body_is_malformed_xml(server, s3, bucket, upload):
    key, uid, parts = upload
    # Well-formed XML, just too much of it: the same two parts repeated past 4 MiB.
    per_pair = len(complete_xml(parts)) - len(complete_xml([]))
    body = complete_xml(parts * (4 * MiB // per_pair + 100))
    assert len(body) > 4 * MiB
    r = signed_request(server, "POST", bucket, key, body=body, query=f"uploadId={uid}")
    assert r.status == 400, r
    assert r.xml_code() == "MalformedXML", r
    assert not exists(s3, bucket, key)
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
            ] == [uid]


def test_deeply_nested_xml_is_malformed_and_server_keeps_serving(server, s3, bucket, upload):
    key, uid, parts = upload
    depth = 100_000
    body = b"<CompleteMultipartUpload>" + b"<Part>" * depth + b"</Part>" * depth + \
        b"</CompleteMultipartUpload>"
    r = signed_request(server, "POST", bucket, key, body=body, query=f"uploadId={uid}")
    assert r.status == 400, r
    assert r.xml_code() == "MalformedXML", r
    assert server.alive()

    # The same through DeleteObjects' parser (Content-MD5 is required there).
    body = b"<Delete>" + b"<Object>" * depth + b"</Object>" * depth + b"</Delete>"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    r = signed_request(server, "POST", bucket, body=body, query="delete",
                       headers={"Content-MD5": md5})
    assert r.status == 400, r
    assert r.xml_code() == "MalformedXML", r
    assert server.alive()

    # Still serving, and the upload is untouched.
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                 MultipartUpload={"Parts": parts})
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == 5 * MiB + 1024


def test_plain_http_chunked_upload_without_decoded_length_is_not_implemented(server, s3, bucket):
    """Transfer-Encoding: chunked with no aws-chunked framing and no length anywhere: Amazon S3
    answers 501 NotImplemented (it needs the length up front); so must Skyway, storing nothing."""
    data = os.urandom(10_000)
    r = signed_request(server, "PUT", bucket, "plain-te.bin", body=http_chunked(data),
                       headers={"Transfer-Encoding": "chunked"},
                       payload_hash=hashlib.sha256(data).hexdigest())
    assert r.status == 501, r
    assert r.xml_code() == "NotImplemented", r
    assert not exists(s3, bucket, "plain-te.bin")
    assert server.alive()
