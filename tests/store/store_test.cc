#include <dirent.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "store/store.h"

namespace skyway::store {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("skyway-store-" + HexEncode(RandomBytes(6)));
    Reopen();
  }
  void TearDown() override {
    backend_.reset();
    fs::remove_all(dir_);
  }
  void Reopen() {
    backend_.reset();
    auto b = OpenLocalBackend(dir_.string());
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    backend_ = std::move(b).value();
  }
  Status Put(const std::string& bucket, const std::string& key, const std::string& data) {
    ASSIGN_OR_RETURN(auto w, backend_->PutObject(bucket, key));
    RETURN_IF_ERROR(w->Write(data.data(), data.size()));
    ObjectMeta meta;
    meta.etag = Md5Hex(data);
    meta.attrs = {{"Content-Type", "text/plain"}};
    return w->Commit(meta).status();
  }
  std::string Read(const std::string& bucket, const std::string& key) {
    auto d = backend_->OpenObject(bucket, key);
    if (!d.ok()) return "<" + d.status().reason() + ">";
    std::string out;
    for (const auto& e : d->extents) {
      std::string part(e.length, '\0');
      EXPECT_TRUE(PreadAll(e.file->get(), part.data(), e.length, e.offset).ok());
      out += part;
    }
    return out;
  }
  size_t DataFiles() {
    size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(dir_ / "objects")) n += e.is_regular_file();
    return n;
  }
  fs::path dir_;
  std::unique_ptr<Backend> backend_;
};

TEST_F(StoreTest, BucketLifecycle) {
  EXPECT_TRUE(backend_->CreateBucket("b1", "us-east-1").ok());
  EXPECT_EQ(backend_->CreateBucket("b1", "us-east-1").reason(), kBucketExists);
  EXPECT_TRUE(backend_->CreateBucket("b0", "us-east-1").ok());
  auto list = backend_->ListBuckets();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "b0");
  ASSERT_TRUE(Put("b1", "k", "v").ok());
  EXPECT_EQ(backend_->DeleteBucket("b1").reason(), kBucketNotEmpty);
  EXPECT_TRUE(backend_->DeleteObject("b1", "k").ok());
  EXPECT_TRUE(backend_->DeleteBucket("b1").ok());
  EXPECT_EQ(backend_->DeleteBucket("b1").reason(), kNoSuchBucket);
  EXPECT_EQ(backend_->GetBucket("b1").status().reason(), kNoSuchBucket);
}

TEST_F(StoreTest, PutGetOverwriteDelete) {
  ASSERT_TRUE(backend_->CreateBucket("b", "r").ok());
  EXPECT_EQ(backend_->PutObject("nob", "k").status().reason(), kNoSuchBucket);
  ASSERT_TRUE(Put("b", "k", "first").ok());
  EXPECT_EQ(Read("b", "k"), "first");
  auto meta = backend_->HeadObject("b", "k");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->size, 5u);
  EXPECT_EQ(meta->etag, Md5Hex("first"));
  EXPECT_EQ(meta->attrs[0].second, "text/plain");
  // A reader that opened the old object keeps reading it after a replace.
  auto old = backend_->OpenObject("b", "k");
  ASSERT_TRUE(Put("b", "k", "second!").ok());
  EXPECT_EQ(Read("b", "k"), "second!");
  std::string buf(5, '\0');
  EXPECT_TRUE(PreadAll(old->extents[0].file->get(), buf.data(), 5, 0).ok());
  EXPECT_EQ(buf, "first");
  EXPECT_EQ(DataFiles(), 1u) << "the replaced data file must be removed";
  EXPECT_TRUE(backend_->DeleteObject("b", "k").ok());
  EXPECT_TRUE(backend_->DeleteObject("b", "k").ok());
  EXPECT_EQ(Read("b", "k"), "<NoSuchKey>");
  EXPECT_EQ(DataFiles(), 0u);
}

// ObjectVisibleOnlyAfterCommit: bytes written without a commit are never seen, and leave no file.
TEST_F(StoreTest, UncommittedWriteIsInvisibleAndCleanedUp) {
  ASSERT_TRUE(backend_->CreateBucket("b", "r").ok());
  ASSERT_TRUE(Put("b", "k", "old").ok());
  {
    auto w = backend_->PutObject("b", "k");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("new bytes", 9).ok());
    EXPECT_EQ(Read("b", "k"), "old");
  }
  EXPECT_EQ(Read("b", "k"), "old");
  EXPECT_EQ(DataFiles(), 1u);
}

TEST_F(StoreTest, ReopenKeepsDataAndSweepsOrphans) {
  ASSERT_TRUE(backend_->CreateBucket("b", "r").ok());
  ASSERT_TRUE(Put("b", "k", "durable").ok());
  // What a crash between a data write and its metadata commit leaves behind.
  std::string orphan = (dir_ / "objects" / "ab" / "ab00orphan").string();
  FILE* f = fopen(orphan.c_str(), "w");
  fputs("junk", f);
  fclose(f);
  Reopen();
  EXPECT_EQ(Read("b", "k"), "durable");
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_EQ(DataFiles(), 1u);
}

// Listing against a model: every page of every (prefix, delimiter, max_keys) must equal what a
// sorted set says, and paging with `last` must visit each entry exactly once.
TEST_F(StoreTest, ListingMatchesModel) {
  ASSERT_TRUE(backend_->CreateBucket("b", "r").ok());
  std::mt19937 rng(42);
  std::set<std::string> keys;
  const std::string alphabet = "ab/c";
  while (keys.size() < 150) {
    std::string k;
    size_t len = 1 + rng() % 6;
    for (size_t i = 0; i < len; i++) k.push_back(alphabet[rng() % alphabet.size()]);
    keys.insert(k);
  }
  for (const auto& k : keys) ASSERT_TRUE(Put("b", k, k).ok());
  for (std::string prefix : {"", "a", "a/", "b/c", "zzz"}) {
    for (std::string delim : {"", "/", "c", "b/"}) {
      // Model: the full ordered listing.
      std::vector<std::string> expected;
      std::set<std::string> seen_prefixes;
      for (const auto& k : keys) {
        if (k.compare(0, prefix.size(), prefix) != 0) continue;
        size_t at = delim.empty() ? std::string::npos : k.find(delim, prefix.size());
        if (at == std::string::npos) {
          expected.push_back("K" + k);
        } else if (seen_prefixes.insert(k.substr(0, at + delim.size())).second) {
          expected.push_back("P" + k.substr(0, at + delim.size()));
        }
      }
      std::sort(expected.begin(), expected.end(),
                [](const std::string& x, const std::string& y) { return x.substr(1) < y.substr(1); });
      for (size_t page : {1, 3, 1000}) {
        std::vector<std::string> got;
        ListOptions opts{prefix, delim, "", page};
        for (int guard = 0; guard < 1000; guard++) {
          auto r = backend_->ListObjects("b", opts);
          ASSERT_TRUE(r.ok());
          std::vector<std::string> this_page;
          for (const auto& [k, m] : r->objects) this_page.push_back("K" + k);
          for (const auto& p : r->common_prefixes) this_page.push_back("P" + p);
          std::sort(this_page.begin(), this_page.end(), [](const std::string& x, const std::string& y) {
            return x.substr(1) < y.substr(1);
          });
          EXPECT_LE(this_page.size(), page);
          got.insert(got.end(), this_page.begin(), this_page.end());
          if (!r->truncated) break;
          opts.start_after = r->last;
        }
        EXPECT_EQ(got, expected) << "prefix=" << prefix << " delim=" << delim << " page=" << page;
      }
    }
  }
}

TEST_F(StoreTest, ListingMissingBucketAndZeroKeys) {
  EXPECT_EQ(backend_->ListObjects("nob", ListOptions()).status().reason(), kNoSuchBucket);
  ASSERT_TRUE(backend_->CreateBucket("b", "r").ok());
  ASSERT_TRUE(Put("b", "k", "v").ok());
  ListOptions opts;
  opts.max_keys = 0;
  auto r = backend_->ListObjects("b", opts);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->objects.empty());
}

TEST_F(StoreTest, ConcurrentWritersToOneKeyLeaveOneWinnerAndNoGarbage) {
  ASSERT_TRUE(backend_->CreateBucket("b", "r").ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 20; i++) {
        std::string v(1000 + t, static_cast<char>('a' + t));
        EXPECT_TRUE(Put("b", "same", v).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  std::string v = Read("b", "same");
  ASSERT_GE(v.size(), 1000u);
  EXPECT_EQ(v, std::string(v.size(), v[0]));
  EXPECT_EQ(DataFiles(), 1u);
}

}  // namespace
}  // namespace skyway::store

namespace skyway::store {
namespace {

class MultipartTest : public StoreTest {
 protected:
  Status PutPartData(const std::string& upload, int n, const std::string& data,
                     const std::string& key = "mp") {
    ASSIGN_OR_RETURN(auto w, backend_->PutPart("b", key, upload, n));
    RETURN_IF_ERROR(w->Write(data.data(), data.size()));
    ObjectMeta meta;
    meta.etag = Md5Hex(data);
    return w->Commit(meta).status();
  }
};

TEST_F(MultipartTest, CompleteAssemblesPartsWithoutCopying) {
  ASSERT_TRUE(backend_->CreateBucket("b", "r").ok());
  auto upload = backend_->CreateUpload("b", "mp", {{"Content-Type", "x/y"}});
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE(PutPartData(*upload, 2, "world").ok());
  ASSERT_TRUE(PutPartData(*upload, 1, "hello ").ok());
  ASSERT_TRUE(PutPartData(*upload, 3, "unused").ok());
  ASSERT_TRUE(PutPartData(*upload, 1, "HELLO ").ok());  // replaces part 1
  EXPECT_EQ(DataFiles(), 3u);
  auto parts = backend_->ListParts("b", "mp", *upload);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].etag, Md5Hex("HELLO "));
  EXPECT_EQ(Read("b", "mp"), "<NoSuchKey>");
  ObjectMeta meta;
  meta.etag = "abc-2";
  auto done = backend_->CompleteUpload("b", "mp", *upload, {1, 2}, meta);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->size, 11u);
  EXPECT_EQ(done->part_sizes, (std::vector<uint64_t>{6, 5}));
  EXPECT_EQ(Read("b", "mp"), "HELLO world");
  EXPECT_EQ(backend_->HeadObject("b", "mp")->attrs[0].second, "x/y");
  EXPECT_EQ(DataFiles(), 2u) << "the object is its part files; the unused part is removed";
  EXPECT_EQ(backend_->GetUpload("b", "mp", *upload).status().reason(), kNoSuchUpload);
  Reopen();
  EXPECT_EQ(Read("b", "mp"), "HELLO world");
  EXPECT_EQ(DataFiles(), 2u);
}

TEST_F(MultipartTest, MissingPartAbortAndBucketDelete) {
  ASSERT_TRUE(backend_->CreateBucket("b", "r").ok());
  auto upload = backend_->CreateUpload("b", "mp", {});
  ASSERT_TRUE(PutPartData(*upload, 1, "one").ok());
  EXPECT_EQ(backend_->CompleteUpload("b", "mp", *upload, {1, 2}, ObjectMeta()).status().reason(),
            kInvalidPart);
  EXPECT_EQ(backend_->CompleteUpload("b", "mp", *upload, {1, 1}, ObjectMeta()).status().reason(),
            kInvalidPart);
  auto listed = backend_->ListUploads("b", UploadListOptions());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].upload_id, *upload);
  EXPECT_TRUE(backend_->AbortUpload("b", "mp", *upload).ok());
  EXPECT_EQ(backend_->AbortUpload("b", "mp", *upload).reason(), kNoSuchUpload);
  EXPECT_EQ(backend_->PutPart("b", "mp", *upload, 1).status().reason(), kNoSuchUpload);
  EXPECT_EQ(DataFiles(), 0u);
  auto second = backend_->CreateUpload("b", "other", {});
  ASSERT_TRUE(PutPartData(*second, 1, "x", "other").ok());
  EXPECT_TRUE(backend_->DeleteBucket("b").ok());
  EXPECT_EQ(DataFiles(), 0u);
}

}  // namespace
}  // namespace skyway::store
