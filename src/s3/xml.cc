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

}  // namespace skyway::s3
