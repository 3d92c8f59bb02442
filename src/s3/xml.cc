#include <pugixml.hpp>

#include "s3/internal.h"

namespace skyway::s3 {

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#13;"; break;
      case '\n': out += "&#10;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

XmlWriter::XmlWriter(std::string_view root, bool with_namespace) : root_(root) {
  out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<" + root_;
  if (with_namespace) out_ += " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";
  out_ += ">";
}

XmlWriter& XmlWriter::Open(std::string_view name) {
  out_ += "<" + std::string(name) + ">";
  return *this;
}

XmlWriter& XmlWriter::Close(std::string_view name) {
  out_ += "</" + std::string(name) + ">";
  return *this;
}

XmlWriter& XmlWriter::Element(std::string_view name, std::string_view text) {
  out_ += "<" + std::string(name) + ">" + XmlEscape(text) + "</" + std::string(name) + ">";
  return *this;
}

std::string XmlWriter::Finish() { return out_ + "</" + root_ + ">"; }

Result<std::string> ParseCreateBucketConfiguration(std::string_view body) {
  if (Trim(body).empty()) return std::string();
  pugi::xml_document doc;
  // No DOCTYPE handling in pugixml: entity expansion attacks do not apply.
  pugi::xml_parse_result parsed = doc.load_buffer(body.data(), body.size(), pugi::parse_default);
  if (!parsed) return S3Error("MalformedXML");
  pugi::xml_node root = doc.document_element();
  if (std::string_view(root.name()) != "CreateBucketConfiguration") return S3Error("MalformedXML");
  for (pugi::xml_node child : root.children()) {
    if (std::string_view(child.name()) == "LocationConstraint") return std::string(child.text().get());
  }
  return std::string();
}

namespace {

constexpr size_t kMaxXmlNodes = 100000;

// Parses a request document whose root must be `root`. Documents with too many nodes (or
// nested too deeply, which pugixml also rejects) are MalformedXML.
Status LoadRequestXml(std::string_view body, std::string_view root, pugi::xml_document* doc) {
  pugi::xml_parse_result parsed = doc->load_buffer(body.data(), body.size(), pugi::parse_default);
  if (!parsed) return S3Error("MalformedXML");
  if (std::string_view(doc->document_element().name()) != root) return S3Error("MalformedXML");
  size_t nodes = 0;
  struct Counter : pugi::xml_tree_walker {
    size_t* n;
    bool for_each(pugi::xml_node&) override { return ++*n <= kMaxXmlNodes; }
  } counter;
  counter.n = &nodes;
  if (!doc->traverse(counter)) return S3Error("MalformedXML", "the XML document is too large");
  return Status::Ok();
}

}  // namespace

Result<std::vector<CompletedPart>> ParseCompleteMultipartUpload(std::string_view body) {
  pugi::xml_document doc;
  RETURN_IF_ERROR(LoadRequestXml(body, "CompleteMultipartUpload", &doc));
  std::vector<CompletedPart> parts;
  for (pugi::xml_node part : doc.document_element().children("Part")) {
    auto number = ParseUint64(part.child("PartNumber").text().get());
    std::string etag = part.child("ETag").text().get();
    if (!number || *number < 1 || *number > 10000 || etag.empty()) {
      return S3Error("MalformedXML", "each Part needs a PartNumber (1-10000) and an ETag");
    }
    parts.push_back(CompletedPart{static_cast<int>(*number), StripQuotes(etag)});
  }
  if (parts.empty()) {
    return S3Error("MalformedXML", "you must specify at least one part");
  }
  return parts;
}

Result<DeleteRequest> ParseDeleteObjects(std::string_view body) {
  pugi::xml_document doc;
  RETURN_IF_ERROR(LoadRequestXml(body, "Delete", &doc));
  DeleteRequest request;
  request.quiet = std::string_view(doc.document_element().child("Quiet").text().get()) == "true";
  for (pugi::xml_node object : doc.document_element().children("Object")) {
    pugi::xml_node key = object.child("Key");
    if (!key) return S3Error("MalformedXML", "each Object needs a Key");
    request.keys.emplace_back(key.text().get());
  }
  if (request.keys.empty() || request.keys.size() > 1000) {
    return S3Error("MalformedXML", "a Delete request names 1 to 1000 objects");
  }
  return request;
}

Result<Attrs> ParseTaggingXml(std::string_view body) {
  pugi::xml_document doc;
  RETURN_IF_ERROR(LoadRequestXml(body, "Tagging", &doc));
  std::string query;
  for (pugi::xml_node tag : doc.document_element().child("TagSet").children("Tag")) {
    if (!tag.child("Key")) return S3Error("MalformedXML", "each Tag needs a Key");
    if (!query.empty()) query += "&";
    query += UrlEncode(tag.child("Key").text().get(), false) + "=" +
             UrlEncode(tag.child("Value").text().get(), false);
  }
  return ParseTagQuery(query);
}

Result<Attrs> ParseTagQuery(std::string_view query) {
  Attrs tags;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    auto key = UrlDecode(pair.substr(0, eq));
    auto value = UrlDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!key || !value || key->empty() || key->size() > 128 || value->size() > 256) {
      return S3Error("InvalidTag", "tag keys are 1 to 128 bytes, values at most 256");
    }
    for (const auto& t : tags) {
      if (t.first == *key) return S3Error("InvalidTag", "cannot provide multiple tags with the same key");
    }
    tags.emplace_back(std::move(*key), std::move(*value));
  }
  if (tags.size() > 10) return S3Error("BadRequest", "object tags cannot be greater than 10");
  return tags;
}

std::string EncodeTagQuery(const Attrs& tags) {
  std::string out;
  for (const auto& [k, v] : tags) {
    if (!out.empty()) out += "&";
    out += UrlEncode(k, false) + "=" + UrlEncode(v, false);
  }
  return out;
}

}  // namespace skyway::s3
