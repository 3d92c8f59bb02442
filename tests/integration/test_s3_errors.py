"""Errors: authentication, payload integrity, broken or hostile HTTP. Every error must come back
as an S3 XML error document with the right Code and HTTP status, and the server must go on
serving. Hand-made requests are signed with botocore's SigV4 signer, then corrupted."""

import http.client
import socket
import time
import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError

from conftest import (ACCESS_KEY, SECRET_KEY, RawResponse, data_files, http_request,
                      make_bucket, make_client, md5_hex, object_path, raw_connect,
                      read_http_response, sign, signed_request)


def assert_s3_error(resp, status, code):
    """resp: RawResponse. Checks status, and the XML error document with its Code."""
    assert resp.status == status, resp
    assert resp.headers.get("content-type", "").startswith("application/xml"), resp
    root = ET.fromstring(resp.body)
    assert root.tag == "Error", resp
    assert root.findtext("Code") == code, resp
    assert root.findtext("Message"), resp
    request_id = root.findtext("RequestId")
    if "x-amz-request-id" in resp.headers:
        assert request_id == resp.headers["x-amz-request-id"]


def error_of(excinfo):
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def assert_alive(server):
    """The server still answers a fresh, well-formed, signed request."""
    resp = signed_request(server, "GET", query="")
    assert resp.status == 200, resp
    assert b"ListAllMyBucketsResult" in resp.body


def request_bytes(method, path, headers, body=b""):
    head = f"{method} {path} HTTP/1.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode("utf-8") + b"\r\n" + body


def exchange(server, data, shutdown_write=False, timeout=10):
    """Sends raw bytes on a fresh connection and reads one response."""
    with raw_connect(server.port, timeout) as sock:
        sock.sendall(data)
        if shutdown_write:
            sock.shutdown(socket.SHUT_WR)
        return read_http_response(sock, timeout)


def signed_raw(server, method, bucket, key, body=b"", headers=None, **sign_args):
    """(path, header list) of a signed path-style request."""
    path = object_path(bucket, key)
    url = f"http://127.0.0.1:{server.port}{path}"
    return path, sign(method, url, body, headers, **sign_args)


def assert_absent(s3, bucket, key):
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key=key)
    assert error_of(e)[1] == 404


# ---- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/some-bucket", "/some-bucket/some/key"])
def test_anonymous_request_is_access_denied(server, path):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        raw = RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()
    assert_s3_error(raw, 403, "AccessDenied")


def test_anonymous_put_stores_nothing(server, s3, bucket):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("PUT", object_path(bucket, "anon"), b"data")
        resp = conn.getresponse()
        assert resp.status == 403
        resp.read()
    finally:
        conn.close()
    assert_absent(s3, bucket, "anon")


def test_wrong_secret_is_signature_mismatch(server, s3, bucket):
    bad = make_client(server.endpoint, secret_key="not-the-secret")
    with pytest.raises(ClientError) as e:
        bad.list_buckets()
    assert error_of(e) == ("SignatureDoesNotMatch", 403)
    with pytest.raises(ClientError) as e:
        bad.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert error_of(e) == ("SignatureDoesNotMatch", 403)
    assert_absent(s3, bucket, "k")
    resp = signed_request(server, "GET", bucket, secret_key="wrong")
    assert_s3_error(resp, 403, "SignatureDoesNotMatch")


def test_unknown_access_key(server, s3, bucket):
    bad = make_client(server.endpoint, access_key="NOSUCHKEY")
    with pytest.raises(ClientError) as e:
        bad.list_buckets()
    assert error_of(e) == ("InvalidAccessKeyId", 403)
    with pytest.raises(ClientError) as e:
        bad.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert error_of(e) == ("InvalidAccessKeyId", 403)
    assert_absent(s3, bucket, "k")
    resp = signed_request(server, "GET", bucket, access_key="NOSUCHKEY")
    assert_s3_error(resp, 403, "InvalidAccessKeyId")


@pytest.mark.parametrize("skew", [16 * 60, -16 * 60, 3 * 3600, -86400])
def test_request_time_too_skewed(server, s3, bucket, skew):
    resp = signed_request(server, "GET", bucket, skew_seconds=skew)
    assert_s3_error(resp, 403, "RequestTimeTooSkewed")
    resp = signed_request(server, "PUT", bucket, "skewed", body=b"x", skew_seconds=skew)
    assert_s3_error(resp, 403, "RequestTimeTooSkewed")
    assert_absent(s3, bucket, "skewed")


@pytest.mark.parametrize("skew", [10 * 60, -10 * 60])
def test_small_skew_is_accepted(server, bucket, skew):
    resp = signed_request(server, "GET", bucket, skew_seconds=skew)
    assert resp.status == 200, resp


def test_tampered_signed_header(server, s3, bucket):
    path, hdrs = signed_raw(server, "PUT", bucket, "k", b"body",
                           headers={"x-amz-meta-owner": "alice"})
    hdrs = [(k, "mallory" if k.lower() == "x-amz-meta-owner" else v) for k, v in hdrs]
    resp = http_request(server.port, "PUT", path, b"body", hdrs)
    assert_s3_error(resp, 403, "SignatureDoesNotMatch")
    assert_absent(s3, bucket, "k")


def test_tampered_path(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="secret", Body=b"s")
    path, hdrs = signed_raw(server, "GET", bucket, "public")
    resp = http_request(server.port, "GET", object_path(bucket, "secret"), b"", hdrs)
    assert_s3_error(resp, 403, "SignatureDoesNotMatch")


def test_wrong_region_in_scope(server, bucket):
    resp = signed_request(server, "GET", bucket, region="eu-west-1")
    assert_s3_error(resp, 400, "AuthorizationHeaderMalformed")


@pytest.mark.parametrize("auth", [
    "AWS4-HMAC-SHA256 garbage",
    "AWS4-HMAC-SHA256 Credential=AK/20200101/us-east-1/s3/aws4_request",
    "Bearer abc",
])
def test_malformed_authorization(server, bucket, auth):
    path, hdrs = signed_raw(server, "GET", bucket, "")
    hdrs = [(k, auth if k.lower() == "authorization" else v) for k, v in hdrs]
    resp = http_request(server.port, "GET", path, b"", hdrs)
    assert resp.status in (400, 403), resp
    assert_s3_error(resp, resp.status, resp.xml_code())
    assert resp.xml_code() in ("AuthorizationHeaderMalformed", "AccessDenied", "InvalidArgument")


def test_sigv2_is_refused(server, bucket):
    hdrs = [("Host", f"127.0.0.1:{server.port}"), ("Date", time.strftime(
        "%a, %d %b %Y %H:%M:%S GMT", time.gmtime())), ("Authorization", f"AWS {ACCESS_KEY}:abc=")]
    resp = http_request(server.port, "GET", object_path(bucket), b"", hdrs)
    assert_s3_error(resp, 400, "InvalidRequest")


def test_missing_content_sha256(server, bucket):
    path, hdrs = signed_raw(server, "GET", bucket, "")
    hdrs = [(k, v) for k, v in hdrs if k.lower() != "x-amz-content-sha256"]
    resp = http_request(server.port, "GET", path, b"", hdrs)
    assert resp.status == 400, resp
    assert_s3_error(resp, 400, "InvalidRequest")


# ---- payload integrity ---------------------------------------------------------------------


def test_content_sha256_mismatch_stores_nothing(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="existing", Body=b"old contents")
    for key in ["new", "existing"]:
        signed_body = b"A" * 5000
        sent_body = b"B" * 5000  # same length, different bytes
        path, hdrs = signed_raw(server, "PUT", bucket, key, signed_body)
        resp = http_request(server.port, "PUT", path, sent_body, hdrs)
        assert_s3_error(resp, 400, "XAmzContentSHA256Mismatch")
    assert_absent(s3, bucket, "new")
    assert s3.get_object(Bucket=bucket, Key="existing")["Body"].read() == b"old contents"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["existing"]


def test_content_sha256_not_a_hash(server, s3, bucket):
    path, hdrs = signed_raw(server, "PUT", bucket, "k", b"x",
                           headers={"X-Amz-Content-SHA256": "zz"})
    # S3SigV4Auth replaces the header with the real hash; put the bad one back and re-sign is
    # not possible, so the signature also breaks: either error is acceptable, nothing stored.
    hdrs = [(k, "not-a-sha256" if k.lower() == "x-amz-content-sha256" else v) for k, v in hdrs]
    resp = http_request(server.port, "PUT", path, b"x", hdrs)
    assert resp.status in (400, 403), resp
    assert_s3_error(resp, resp.status, resp.xml_code())
    assert_absent(s3, bucket, "k")


def test_unsigned_payload_is_accepted(server, s3, bucket):
    body = b"unsigned payload body"
    path = object_path(bucket, "u")
    url = f"http://127.0.0.1:{server.port}{path}"
    # Sign with the UNSIGNED-PAYLOAD marker: build the request by hand around botocore's signer.
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    class Unsigned(botocore.auth.S3SigV4Auth):
        def payload(self, request):
            return "UNSIGNED-PAYLOAD"

    req = AWSRequest(method="PUT", url=url, data=body,
                     headers={"Host": f"127.0.0.1:{server.port}"})
    Unsigned(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(req)
    resp = http_request(server.port, "PUT", path, body, list(req.headers.items()))
    assert resp.status == 200, resp
    assert resp.headers["etag"] == f'"{md5_hex(body)}"'
    assert s3.get_object(Bucket=bucket, Key="u")["Body"].read() == body


def test_short_body_then_close_stores_nothing(server_factory):
    srv = server_factory()
    s3 = srv.client()
    bucket = make_bucket(s3)
    s3.put_object(Bucket=bucket, Key="existing", Body=b"old contents")
    for key in ["new", "existing"]:
        body = bytes(range(256)) * 400  # 100 KiB announced ...
        path, hdrs = signed_raw(srv, "PUT", bucket, key, body)
        hdrs.append(("Content-Length", str(len(body))))
        with raw_connect(srv.port) as sock:
            sock.sendall(request_bytes("PUT", path, hdrs, body[:60000]))  # ... 60000 sent
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(10)
            try:  # the server may answer IncompleteBody or just close: either is fine
                while sock.recv(65536):
                    pass
            except ConnectionResetError:
                pass
    assert_alive(srv)
    assert_absent(s3, bucket, "new")
    assert s3.get_object(Bucket=bucket, Key="existing")["Body"].read() == b"old contents"
    # ... and no data file is left behind for the aborted uploads.
    deadline = time.monotonic() + 5
    while len(data_files(srv.data_dir)) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(data_files(srv.data_dir)) == 1


def test_put_without_content_length(server, s3, bucket):
    path, hdrs = signed_raw(server, "PUT", bucket, "nolen", b"")
    assert not any(k.lower() == "content-length" for k, _ in hdrs)
    resp = exchange(server, request_bytes("PUT", path, hdrs))
    assert_s3_error(resp, 411, "MissingContentLength")
    assert_absent(s3, bucket, "nolen")
    assert_alive(server)


def test_put_chunked_transfer_encoding(server, s3, bucket):
    body = b"hello chunked"
    path, hdrs = signed_raw(server, "PUT", bucket, "chunked", body)
    hdrs.append(("Transfer-Encoding", "chunked"))
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    resp = exchange(server, request_bytes("PUT", path, hdrs, chunked))
    # S3 refuses a plain chunked PUT (no aws-chunked) with 501 NotImplemented.
    assert_s3_error(resp, 501, "NotImplemented")
    assert_absent(s3, bucket, "chunked")
    assert_alive(server)


def test_put_too_large(server, s3, bucket):
    # Only the head is sent: the size check must answer before any body byte is read.
    path, hdrs = signed_raw(server, "PUT", bucket, "huge", b"")
    hdrs.append(("Content-Length", str(5 * 1024**3 + 1)))
    with raw_connect(server.port) as sock:
        sock.sendall(request_bytes("PUT", path, hdrs))
        resp = read_http_response(sock)
    assert resp.status == 400, resp
    assert resp.xml_code() in ("EntityTooLarge", "XAmzContentSHA256Mismatch"), resp
    assert_absent(s3, bucket, "huge")


def test_expect_100_continue(server, s3, bucket):
    body = b"x" * 10000
    path, hdrs = signed_raw(server, "PUT", bucket, "cont", body, headers={"Expect": "100-continue"})
    hdrs.append(("Content-Length", str(len(body))))
    with raw_connect(server.port) as sock:
        sock.sendall(request_bytes("PUT", path, hdrs))
        sock.settimeout(10)
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 "), interim
        sock.sendall(body)
        resp = read_http_response(sock)
    assert resp.status == 200, resp
    assert s3.get_object(Bucket=bucket, Key="cont")["Body"].read() == body


def test_expect_100_continue_refused_without_reading_body(server, s3, bucket):
    body = b"x" * 10000
    path, hdrs = signed_raw(server, "PUT", bucket, "cont", body, headers={"Expect": "100-continue"},
                            secret_key="wrong")
    hdrs.append(("Content-Length", str(len(body))))
    with raw_connect(server.port) as sock:
        sock.sendall(request_bytes("PUT", path, hdrs))
        resp = read_http_response(sock)  # the final answer comes without a 100 Continue
    assert_s3_error(resp, 403, "SignatureDoesNotMatch")
    assert_absent(s3, bucket, "cont")


def test_method_not_allowed(server, bucket):
    resp = signed_request(server, "POST", bucket, "k", body=b"x")
    assert_s3_error(resp, 405, "MethodNotAllowed")
    resp = signed_request(server, "DELETE")
    assert_s3_error(resp, 405, "MethodNotAllowed")


def test_head_errors_have_no_body(server, bucket):
    resp = signed_request(server, "HEAD", bucket, "missing")
    assert resp.status == 404 and resp.body == b""
    resp = signed_request(server, "HEAD", bucket, "missing", secret_key="wrong")
    assert resp.status == 403 and resp.body == b""


# ---- malformed HTTP ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",  # a TLS hello
    b"GET /\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET nopath HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\n\r\n",                                           # no Host
    b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
    b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
])
def test_malformed_request_is_400(server, raw):
    resp = exchange(server, raw, shutdown_write=True)
    assert_s3_error(resp, 400, resp.xml_code())
    assert resp.xml_code() in ("BadRequest", "InvalidURI", "InvalidArgument"), resp
    assert_alive(server)


def test_unsupported_transfer_coding_is_501(server):
    resp = exchange(server, b"PUT /b/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
                    shutdown_write=True)
    assert_s3_error(resp, 501, "NotImplemented")
    assert_alive(server)


@pytest.mark.parametrize("size", [64 * 1024 + 1, 66 * 1024, 100 * 1024, 1024 * 1024])
@pytest.mark.parametrize("terminated", [False, True])
def test_huge_header_is_400(server, size, terminated):
    """A request head over 64 KiB is refused with 400, whether or not its end ever arrives."""
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
    head += b"a" * (size - len(head))
    if terminated:
        head += b"\r\n\r\n"
    with raw_connect(server.port) as sock:
        try:
            sock.sendall(head)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all
        try:
            resp = read_http_response(sock)
        except ConnectionResetError:
            pytest.fail("connection reset before the 400 reply could be read")
    assert resp.status == 400, resp
    assert_s3_error(resp, 400, resp.xml_code())
    assert resp.xml_code() in ("RequestHeaderSectionTooLarge", "BadRequest")
    assert_alive(server)


def test_too_many_headers(server):
    head = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(300))
    resp = exchange(server, head + b"\r\n", shutdown_write=True)
    assert resp.status == 400, resp
    assert_alive(server)


def test_idle_connections_do_not_block_others(server):
    """Half-sent requests on several connections must not stop a new one being served."""
    socks = [raw_connect(server.port) for _ in range(8)]
    try:
        for s in socks:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
        assert_alive(server)
    finally:
        for s in socks:
            s.close()
    assert_alive(server)


def test_pipelined_requests(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="p1", Body=b"one")
    s3.put_object(Bucket=bucket, Key="p2", Body=b"two")
    data = b""
    for key in ["p1", "p2"]:
        path, hdrs = signed_raw(server, "GET", bucket, key)
        data += request_bytes("GET", path, hdrs)
    with raw_connect(server.port) as sock:
        sock.sendall(data)
        stream = sock.makefile("rb")  # one buffer for both replies
        r1 = read_http_response(sock, stream=stream)
        r2 = read_http_response(sock, stream=stream)
    assert (r1.status, r1.body) == (200, b"one")
    assert (r2.status, r2.body) == (200, b"two")


def test_error_bodies_name_the_resource(server, bucket):
    resp = signed_request(server, "GET", bucket, "no/such key")
    assert_s3_error(resp, 404, "NoSuchKey")
    root = ET.fromstring(resp.body)
    assert root.findtext("Key") == "no/such key"
    assert root.findtext("BucketName") == bucket
    assert root.findtext("RequestId")
