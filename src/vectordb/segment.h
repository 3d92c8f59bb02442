// Segments: a block of rows of one partition, columnar. A growing segment takes inserts and is
// searched exactly; a sealed one is immutable (but for tombstones), lives in the store as raw
// columns and gets an index. Also the byte codecs of columns and write-ahead-log records.
// Private to vectordb/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "vector/vector.h"
#include "vectordb/schema.h"

namespace skyway::vectordb {

struct Segment {
  int64_t id = 0;
  std::string partition;
  size_t dim = 0;
  bool sealed = false;
  size_t rows = 0;

  // Vectors: growing segments in `growing`; sealed ones, when loaded, in `buffer` (memory from
  // the client library, registered for the direct path) -- unless the index holds its own copy,
  // then neither (read rows back with Vector()).
  std::vector<float> growing;
  std::shared_ptr<client::Buffer> buffer;
  std::vector<Column> columns;  // one per schema field (vector field empty)
  std::vector<Json> meta;       // dynamic fields, per row (dynamic collections)
  std::vector<uint8_t> deleted;  // tombstones, per row
  size_t deleted_count = 0;

  std::shared_ptr<vector::Index> index;  // built or loaded, when loaded
  std::string index_key;   // object holding this segment's index, if built
  std::string deletes_key;  // object holding its tombstones (u32 rows), if any
  int64_t index_generation = 0;
  int64_t first_seq = 0;   // growing: the first WAL record whose rows it holds
  bool deletes_dirty = false;  // tombstones changed since the last manifest

  // Vectors for search, or null when only the index has them.
  const float* vectors() const;
  // Whether search can run (vectors or an index in memory).
  bool searchable() const { return vectors() != nullptr || index != nullptr; }
  // Copies row's vector into out (dim floats). REQUIRES: searchable().
  void Vector(size_t row, float* out) const;
  size_t live_rows() const { return rows - deleted_count; }
  // Appends a batch's rows (REQUIRES: !sealed).
  void Append(const Schema& schema, Batch&& batch);
};

// A row of a segment as the filter sees it.
class SegmentRow : public FilterRow {
 public:
  SegmentRow(const Schema& schema, const Segment& seg, size_t row)
      : schema_(schema), seg_(seg), row_(row) {}
  FilterValue Get(int field_index) const override;

 private:
  const Schema& schema_;
  const Segment& seg_;
  size_t row_;
};

// Column bytes: native little-endian arrays for numbers (Bool as u8, Int8..Int64, Float as f32,
// Double as f64), u32 length + bytes per value for VarChar and JSON (JSON as text).
std::string EncodeColumn(DataType type, const Column& column);
Status DecodeColumn(DataType type, std::string_view bytes, size_t rows, Column* column);
std::string EncodeDocs(const std::vector<Json>& docs);
Status DecodeDocs(std::string_view bytes, size_t rows, std::vector<Json>* docs);

// Write-ahead-log records: an insert (rows of a partition) or a delete (primary keys).
struct WalRecord {
  enum Kind : uint8_t { kInsert = 1, kDelete = 2 } kind = kInsert;
  std::string partition;
  Batch batch;  // kInsert: all columns; kDelete: only the primary key column, rows = key count
};
std::string EncodeWal(const Schema& schema, const WalRecord& record);
// The same bytes in pieces, the vectors referenced rather than copied (valid while the record
// is), so that a large record is copied once, into the memory it is sent from.
struct WalImage {
  std::string head;          // magic, kind, header; for inserts up to the vectors' length
  std::string_view vectors;  // the insert's vectors
  std::string tail;          // scalar columns, dynamic fields
  size_t size() const { return head.size() + vectors.size() + tail.size(); }
  void CopyTo(char* out) const;
};
WalImage EncodeWalImage(const Schema& schema, const WalRecord& record);
Result<WalRecord> DecodeWal(const Schema& schema, std::string_view bytes);

}  // namespace skyway::vectordb
