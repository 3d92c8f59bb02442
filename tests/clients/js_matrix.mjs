// AWS SDK for JavaScript v3 (@aws-sdk/client-s3, default settings) against Skyway.
//
// Run by test_js_sdk.py:  SKYWAY_ENDPOINT=http://127.0.0.1:PORT node js_matrix.mjs
// Every step asserts what it got; each step prints "ok - NAME" or "not ok - NAME: why", and the
// script ends with "N passed, N failed" and exits 1 when any step failed.
//
// The client keeps the SDK's defaults (requestChecksumCalculation and
// responseChecksumValidation WHEN_SUPPORTED): a Buffer or string body goes with an
// x-amz-checksum-crc32 header; a stream body goes aws-chunked with the CRC32 in a trailer
// (x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER). A wrapper around the request
// handler records what was actually sent so the steps can check which path was taken.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";

import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

const endpoint = process.env.SKYWAY_ENDPOINT;
if (!endpoint) {
  console.error("SKYWAY_ENDPOINT is not set");
  process.exit(2);
}
const MiB = 1024 * 1024;

// ---- CRC32 (IEEE), as S3 reports it: base64 of the big-endian 4 bytes ------------------------
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function crc32B64(buf) {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(buf));
  return out.toString("base64");
}
// CRC32 of a multipart object as S3 gives it: CRC32 of the parts' CRC32s, then "-N".
function compositeCrc32B64(parts) {
  const raw = Buffer.concat(parts.map((p) => Buffer.from(crc32B64(p), "base64")));
  return `${crc32B64(raw)}-${parts.length}`;
}
const md5 = (b) => createHash("md5").update(b).digest("hex");
const sha256 = (b) => createHash("sha256").update(b).digest("hex");

// ---- client with a recording request handler -------------------------------------------------
const sent = []; // {method, path, query, headers}
const client = new S3Client({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  credentials: { accessKeyId: "AK", secretAccessKey: "SK" },
  maxAttempts: 1,
});
const realHandler = client.config.requestHandler;
client.config.requestHandler = {
  handle(request, options) {
    sent.push({
      method: request.method,
      path: request.path,
      query: { ...(request.query || {}) },
      headers: Object.fromEntries(
        Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]),
      ),
    });
    return realHandler.handle(request, options);
  },
  updateHttpClientConfig: (...a) => realHandler.updateHttpClientConfig?.(...a),
  httpHandlerConfigs: () => realHandler.httpHandlerConfigs?.() ?? {},
  destroy: () => realHandler.destroy?.(),
};
const lastSent = (method, key) => {
  for (let i = sent.length - 1; i >= 0; i--) {
    const r = sent[i];
    if (r.method === method && (key === undefined || r.path.endsWith(`/${encodeURI(key)}`)))
      return r;
  }
  throw new Error(`no ${method} request for ${key} was recorded`);
};

// ---- steps -------------------------------------------------------------------------------------
let passed = 0;
let failed = 0;
async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    const detail = e?.$metadata
      ? `${e.name} (HTTP ${e.$metadata.httpStatusCode}): ${e.message}`
      : e?.stack || String(e);
    console.log(`not ok - ${name}: ${detail}`);
  }
}

const bucket = `js-sdk-${randomBytes(8).toString("hex")}`;
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "skyway-js-"));
const text = "hello from @aws-sdk/client-s3 v3 \u2603\n";
const big = randomBytes(12 * MiB);
const streamed = randomBytes(3 * MiB + 12345);
const streamedPath = path.join(tmpDir, "streamed.bin");
fs.writeFileSync(streamedPath, streamed);

// What the steps stored, key -> bytes: later steps check these, so one failed upload does not
// make every later step fail too.
const stored = new Map();

async function bodyBytes(resp) {
  return Buffer.from(await resp.Body.transformToByteArray());
}

await step("CreateBucket", async () => {
  const r = await client.send(new CreateBucketCommand({ Bucket: bucket }));
  assert.equal(r.$metadata.httpStatusCode, 200);
});

await step("PutObject string (CRC32 header by default)", async () => {
  const r = await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: "docs/hello.txt", Body: text, ContentType: "text/plain" }),
  );
  const req = lastSent("PUT", "docs/hello.txt");
  assert.equal(req.headers["x-amz-checksum-crc32"], crc32B64(Buffer.from(text)));
  assert.equal(r.ETag, `"${md5(Buffer.from(text))}"`);
  assert.equal(r.ChecksumCRC32, crc32B64(Buffer.from(text)));
  stored.set("docs/hello.txt", Buffer.from(text));
});

await step("PutObject 12 MiB Buffer with metadata", async () => {
  const r = await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: "data/big.bin", Body: big, Metadata: { origin: "js-sdk" } }),
  );
  const req = lastSent("PUT", "data/big.bin");
  assert.equal(req.headers["x-amz-checksum-crc32"], crc32B64(big));
  assert.equal(r.ETag, `"${md5(big)}"`);
  stored.set("data/big.bin", big);
});

await step("PutObject fs stream goes aws-chunked with a CRC32 trailer", async () => {
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: "data/streamed.bin", Body: fs.createReadStream(streamedPath) }),
  );
  const req = lastSent("PUT", "data/streamed.bin");
  assert.equal(req.headers["x-amz-content-sha256"], "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
  assert.match(req.headers["content-encoding"], /aws-chunked/);
  assert.equal(req.headers["x-amz-trailer"], "x-amz-checksum-crc32");
  assert.equal(String(req.headers["x-amz-decoded-content-length"]), String(streamed.length));
  const h = await client.send(
    new HeadObjectCommand({ Bucket: bucket, Key: "data/streamed.bin", ChecksumMode: "ENABLED" }),
  );
  assert.equal(h.ContentLength, streamed.length);
  assert.equal(h.ChecksumCRC32, crc32B64(streamed));
  stored.set("data/streamed.bin", streamed);
});

await step("PutObject Readable (no path) with ContentLength, aws-chunked", async () => {
  const parts = [streamed.subarray(0, 100000), streamed.subarray(100000, 2 * MiB), streamed.subarray(2 * MiB)];
  await client.send(
    new PutObjectCommand({
      Bucket: bucket, Key: "data/readable.bin", Body: Readable.from(parts), ContentLength: streamed.length,
    }),
  );
  const req = lastSent("PUT", "data/readable.bin");
  assert.equal(req.headers["x-amz-content-sha256"], "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
  const h = await client.send(
    new HeadObjectCommand({ Bucket: bucket, Key: "data/readable.bin", ChecksumMode: "ENABLED" }),
  );
  assert.equal(h.ContentLength, streamed.length);
  assert.equal(h.ChecksumCRC32, crc32B64(streamed));
  stored.set("data/readable.bin", streamed);
});

await step("HeadObject ChecksumMode ENABLED returns the stored CRC32s", async () => {
  assert.ok(stored.size > 0, "nothing was stored");
  for (const [key, data] of stored) {
    const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }));
    assert.equal(h.ContentLength, data.length, key);
    assert.equal(h.ChecksumCRC32, crc32B64(data), `${key} stored CRC32`);
    assert.equal(h.ETag, `"${md5(data)}"`, key);
  }
  const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "data/big.bin" }));
  assert.equal(h.Metadata.origin, "js-sdk");
  assert.equal(h.ChecksumCRC32, undefined, "no checksum without checksum mode");
  const t = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "docs/hello.txt" }));
  assert.equal(t.ContentType, "text/plain");
});

await step("GetObject (checksum validated by the SDK) returns the bytes", async () => {
  const g = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "data/big.bin" }));
  const req = lastSent("GET", "data/big.bin");
  assert.equal(req.headers["x-amz-checksum-mode"], "ENABLED");
  assert.equal(g.ChecksumCRC32, crc32B64(big));
  const body = await bodyBytes(g);
  assert.equal(sha256(body), sha256(big));
  const s = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "docs/hello.txt" }));
  assert.equal(await s.Body.transformToString(), text);
  for (const [key, data] of stored) {
    const o = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(sha256(await bodyBytes(o)), sha256(data), key);
  }
});

await step("GetObject Range", async () => {
  const g = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "data/big.bin", Range: "bytes=1000-1999" }));
  assert.equal(g.$metadata.httpStatusCode, 206);
  assert.equal(g.ContentRange, `bytes 1000-1999/${big.length}`);
  assert.deepEqual(await bodyBytes(g), big.subarray(1000, 2000));
});

await step("CopyObject", async () => {
  const c = await client.send(
    new CopyObjectCommand({ Bucket: bucket, Key: "copies/big.bin", CopySource: `${bucket}/data/big.bin` }),
  );
  assert.equal(c.CopyObjectResult.ETag, `"${md5(big)}"`);
  const g = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "copies/big.bin" }));
  assert.equal(sha256(await bodyBytes(g)), sha256(big));
  const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "copies/big.bin" }));
  assert.equal(h.Metadata.origin, "js-sdk", "COPY keeps the metadata");
  stored.set("copies/big.bin", big);
});

await step("PutObjectTagging / GetObjectTagging", async () => {
  const TagSet = [{ Key: "team", Value: "storage" }, { Key: "env", Value: "test run" }];
  await client.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: "docs/hello.txt", Tagging: { TagSet } }));
  const g = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: "docs/hello.txt" }));
  const sort = (a) => [...a].sort((x, y) => x.Key.localeCompare(y.Key));
  assert.deepEqual(sort(g.TagSet), sort(TagSet));
});

let mpuParts;
await step("multipart: CreateMultipartUpload / UploadPart x3 / CompleteMultipartUpload", async () => {
  const key = "multi/assembled.bin";
  mpuParts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1 * MiB + 7)];
  const c = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  assert.ok(c.UploadId);
  const Parts = [];
  for (let i = 0; i < mpuParts.length; i++) {
    const u = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, PartNumber: i + 1, Body: mpuParts[i] }),
    );
    assert.equal(u.ETag, `"${md5(mpuParts[i])}"`);
    const req = lastSent("PUT", key);
    assert.equal(req.headers["x-amz-checksum-crc32"], crc32B64(mpuParts[i]), "part CRC32 sent");
    assert.equal(u.ChecksumCRC32, crc32B64(mpuParts[i]), "part CRC32 echoed");
    Parts.push({ PartNumber: i + 1, ETag: u.ETag, ChecksumCRC32: u.ChecksumCRC32 });
  }
  const done = await client.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts } }),
  );
  const etagOfEtags = md5(Buffer.concat(mpuParts.map((p) => Buffer.from(md5(p), "hex"))));
  assert.equal(done.ETag, `"${etagOfEtags}-3"`);
  const whole = Buffer.concat(mpuParts);
  stored.set(key, whole);
  const g = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  assert.equal(sha256(await bodyBytes(g)), sha256(whole));
  const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }));
  assert.equal(h.ContentLength, whole.length);
  if (h.ChecksumCRC32 !== undefined) {
    assert.equal(h.ChecksumCRC32, compositeCrc32B64(mpuParts), "composite CRC32 of the parts");
  }
});

await step("multipart with ChecksumAlgorithm CRC32: composite checksum of the parts", async () => {
  const key = "multi/crc32.bin";
  const parts = [randomBytes(5 * MiB), randomBytes(2 * MiB + 3)];
  const c = await client.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: "CRC32" }),
  );
  const Parts = [];
  for (let i = 0; i < parts.length; i++) {
    const u = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, PartNumber: i + 1, Body: parts[i], ChecksumAlgorithm: "CRC32" }),
    );
    assert.equal(u.ChecksumCRC32, crc32B64(parts[i]));
    Parts.push({ PartNumber: i + 1, ETag: u.ETag, ChecksumCRC32: u.ChecksumCRC32 });
  }
  const done = await client.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts } }),
  );
  const whole = Buffer.concat(parts);
  stored.set(key, whole);
  assert.equal(done.ChecksumCRC32, compositeCrc32B64(parts), "CompleteMultipartUpload result");
  const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }));
  assert.equal(h.ChecksumCRC32, compositeCrc32B64(parts), "HeadObject with checksum mode");
  const g = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  assert.equal(sha256(await bodyBytes(g)), sha256(whole));
});

await step("ListObjectsV2 (prefix, delimiter, pagination)", async () => {
  const all = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  const expected = [...stored.keys()].sort();
  assert.deepEqual(all.Contents.map((o) => o.Key), expected);
  assert.equal(all.KeyCount, expected.length);
  for (const o of all.Contents) {
    assert.equal(o.Size, stored.get(o.Key).length, o.Key);
  }
  const d = await client.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: "/" }));
  const prefixes = [...new Set(expected.map((k) => k.split("/")[0] + "/"))];
  assert.deepEqual(d.CommonPrefixes.map((p) => p.Prefix), prefixes);
  assert.equal(d.Contents, undefined);
  const keys = [];
  let token;
  let pages = 0;
  const dataKeys = expected.filter((k) => k.startsWith("data/"));
  do {
    const p = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "data/", MaxKeys: 2, ContinuationToken: token }));
    keys.push(...p.Contents.map((o) => o.Key));
    token = p.IsTruncated ? p.NextContinuationToken : undefined;
    pages++;
  } while (token);
  assert.equal(pages, Math.max(1, Math.ceil(dataKeys.length / 2)));
  assert.deepEqual(keys, dataKeys);
});

await step("presigned GET URL (s3-request-presigner) fetched with fetch()", async () => {
  const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: "data/big.bin" }), { expiresIn: 300 });
  assert.match(url, /X-Amz-Signature=/);
  const r = await fetch(url);
  assert.equal(r.status, 200);
  assert.equal(sha256(Buffer.from(await r.arrayBuffer())), sha256(big));
  const bad = await fetch(url.replace(/X-Amz-Signature=([0-9a-f])/, (m, c) => `X-Amz-Signature=${c === "0" ? "1" : "0"}`));
  assert.equal(bad.status, 403);
  assert.match(await bad.text(), /SignatureDoesNotMatch/);
});

await step("presigned PUT URL fetched with fetch()", async () => {
  const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: bucket, Key: "presigned/put.txt" }), { expiresIn: 300 });
  const r = await fetch(url, { method: "PUT", body: "put through a presigned URL" });
  assert.equal(r.status, 200, await r.text());
  const g = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "presigned/put.txt" }));
  assert.equal(await g.Body.transformToString(), "put through a presigned URL");
});

await step("DeleteObjects (and a missing key is reported deleted)", async () => {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  const Objects = listed.Contents.map((o) => ({ Key: o.Key }));
  Objects.push({ Key: "never/existed" });
  const d = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects } }));
  assert.equal((d.Errors || []).length, 0, JSON.stringify(d.Errors));
  assert.equal(d.Deleted.length, Objects.length);
  const after = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  assert.equal(after.KeyCount, 0);
  assert.equal(after.Contents, undefined);
});

await step("GetObject on a deleted key is NoSuchKey", async () => {
  await assert.rejects(client.send(new GetObjectCommand({ Bucket: bucket, Key: "docs/hello.txt" })), (e) => {
    assert.equal(e.name, "NoSuchKey");
    assert.equal(e.$metadata.httpStatusCode, 404);
    return true;
  });
});

await step("DeleteObject + DeleteBucket", async () => {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "already/gone" }));
  const r = await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  assert.equal(r.$metadata.httpStatusCode, 204);
});

fs.rmSync(tmpDir, { recursive: true, force: true });
client.destroy();
console.log(`js_matrix: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
