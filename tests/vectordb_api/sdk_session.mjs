// The "typical client session" of milvus-rest-v2.md, run with the Milvus node SDK's HttpClient
// (@zilliz/milvus2-sdk-node, default settings) against `skyway vectordb`.
//
// Input: SESSION_INPUT names a JSON file written by test_sdk_session.py:
//   {endpoint, token, collection, dim, rows: [{id, vec, label}], queries: [[...]],
//    getIds: [...], deleteIds: [...], filterLabel}
// Output: one JSON line per step on stdout, {"step": NAME, "result": <what the SDK returned>}
// or {"step": NAME, "error": "..."}; pytest asserts on each (the SDK itself checks nothing).
// A step that throws does not stop the session: later steps still run and report.
import { readFileSync } from "node:fs";
import { HttpClient } from "@zilliz/milvus2-sdk-node";

const input = JSON.parse(readFileSync(process.env.SESSION_INPUT, "utf8"));
const client = new HttpClient({ endpoint: input.endpoint, token: input.token });
const clientInt64 = new HttpClient({ endpoint: input.endpoint, token: input.token, acceptInt64: true });
const noAuth = new HttpClient({ endpoint: input.endpoint });
const coll = input.collection;
const WAIT_MS = 1000 * Number(process.env.VDB_WAIT_S || 90);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    const result = await fn();
    emit({ step: name, ms: Date.now() - t0, result: result === undefined ? null : result });
  } catch (e) {
    emit({ step: name, ms: Date.now() - t0, error: `${e && e.name}: ${e && e.message}`,
           status: e && e.status });
  }
}

async function poll(fn, done, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let polls = 0;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    polls++;
    if (done(last)) return { polls, last, done: true };
    await sleep(200);
  }
  return { polls, last, done: false };
}

const schema = {
  autoID: false,
  enableDynamicField: false,
  fields: [
    { fieldName: "id", dataType: "Int64", isPrimary: true },
    { fieldName: "vec", dataType: "FloatVector", elementTypeParams: { dim: input.dim } },
    { fieldName: "label", dataType: "Int64" },
  ],
};

await step("list_before", () => client.listCollections({}));
await step("create", () => client.createCollection({ collectionName: coll, schema }));
await step("describe", () => client.describeCollection({ collectionName: coll }));
await step("has", () => client.hasCollection({ collectionName: coll }));
await step("load_state_new", () => client.getCollectionLoadState({ collectionName: coll }));
await step("insert", () => client.insert({ collectionName: coll, data: input.rows }));
await step("create_index", () => client.createIndex({
  collectionName: coll,
  indexParams: [{ fieldName: "vec", indexName: "vec_idx", metricType: "L2",
                  params: { index_type: "HNSW", M: "16", efConstruction: "200" } }],
}));
await step("describe_index_poll", () => poll(
  () => client.describeIndex({ collectionName: coll, indexName: "vec_idx" }),
  (r) => r && r.code === 0 && Array.isArray(r.data) && r.data[0] && r.data[0].indexState === "Finished",
  WAIT_MS));
await step("list_indexes", () => client.listIndexes({ collectionName: coll }));
await step("load", () => client.loadCollection({ collectionName: coll }));
await step("load_state_poll", () => poll(
  () => client.getCollectionLoadState({ collectionName: coll }),
  (r) => r && r.code === 0 && r.data && r.data.loadState === "LoadStateLoaded",
  WAIT_MS));
await step("describe_loaded", () => client.describeCollection({ collectionName: coll }));
await step("get_stats", () => client.getCollectionStatistics({ collectionName: coll }));
await step("search_nq1", () => client.search({
  collectionName: coll, data: [input.queries[0]], annsField: "vec", limit: 10,
  searchParams: { metricType: "L2", params: { ef: 64 } },
}));
await step("search_nq3", () => client.search({
  collectionName: coll, data: input.queries.slice(0, 3), annsField: "vec", limit: 10,
  searchParams: { metricType: "L2", params: { ef: 64 } },
}));
await step("search_filtered", () => client.search({
  collectionName: coll, data: [input.queries[0]], annsField: "vec", limit: 10,
  filter: `label == ${input.filterLabel}`, outputFields: ["label"],
  searchParams: { metricType: "L2", params: { ef: 64 } }, consistencyLevel: "Strong",
}));
await step("search_flat_params", () => client.search({
  collectionName: coll, data: [input.queries[1]], annsField: "vec", limit: 5,
  searchParams: { ef: 64 },
}));
await step("get", () => client.get({
  collectionName: coll, id: input.getIds, outputFields: ["id", "label", "vec"],
  consistencyLevel: "Strong",
}));
await step("query", () => client.query({
  collectionName: coll, filter: `id in [${input.getIds.join(", ")}]`,
  outputFields: ["id", "label"], limit: 100, consistencyLevel: "Strong",
}));
await step("query_int64", () => clientInt64.query({
  collectionName: coll, filter: `id in [${input.getIds.join(", ")}]`,
  outputFields: ["id", "label"], limit: 100, consistencyLevel: "Strong",
}));
await step("delete", () => client.delete({
  collectionName: coll, filter: `id in [${input.deleteIds.join(",")}]`,
}));
await step("get_after_delete", () => client.get({
  collectionName: coll, id: input.deleteIds, outputFields: ["id", "label"],
  consistencyLevel: "Strong",
}));
await step("query_after_delete", () => client.query({
  collectionName: coll, filter: `id in [${input.deleteIds.join(", ")}]`,
  outputFields: ["id"], limit: 100, consistencyLevel: "Strong",
}));
// The deleted rows' own vectors: before the delete each was its own nearest neighbour.
await step("search_after_delete", () => client.search({
  collectionName: coll, data: input.deletedVectors, annsField: "vec", limit: 10,
  searchParams: { metricType: "L2", params: { ef: 64 } }, consistencyLevel: "Strong",
}));
await step("no_auth", () => noAuth.listCollections({}));
await step("drop", () => client.dropCollection({ collectionName: coll }));
await step("list_after", () => client.listCollections({}));
await step("has_after", () => client.hasCollection({ collectionName: coll }));
await step("describe_after", () => client.describeCollection({ collectionName: coll }));
emit({ step: "__done__" });
