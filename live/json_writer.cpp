#include "live/json_writer.h"

#include <cstdio>

#include "engine/unicode.h"

namespace flscan::live {

std::string json_escape(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      const std::size_t n = unicode::utf8_sequence_length(text, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD for a byte that starts no valid sequence
        ++i;
        continue;
      }
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    ++i;
  }
  out += '"';
  return out;
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_items_.empty()) {
    if (has_items_.back()) out_ += ',';
    has_items_.back() = true;
    out_ += '\n';
    out_.append(2 * has_items_.size(), ' ');
  }
}

JsonWriter& JsonWriter::key(std::string_view name) {
  before_value();
  out_ += json_escape(name);
  out_ += ": ";
  after_key_ = true;
  return *this;
}

void JsonWriter::begin_object() {
  before_value();
  out_ += '{';
  has_items_.push_back(false);
}

void JsonWriter::begin_array() {
  before_value();
  out_ += '[';
  has_items_.push_back(false);
}

void JsonWriter::end_object() {
  const bool items = has_items_.back();
  has_items_.pop_back();
  if (items) {
    out_ += '\n';
    out_.append(2 * has_items_.size(), ' ');
  }
  out_ += '}';
}

void JsonWriter::end_array() {
  const bool items = has_items_.back();
  has_items_.pop_back();
  if (items) {
    out_ += '\n';
    out_.append(2 * has_items_.size(), ' ');
  }
  out_ += ']';
}

void JsonWriter::string(std::string_view text) {
  before_value();
  out_ += json_escape(text);
}

void JsonWriter::number(std::uint64_t n) {
  before_value();
  out_ += std::to_string(n);
}

void JsonWriter::boolean(bool b) {
  before_value();
  out_ += b ? "true" : "false";
}

void JsonWriter::null() {
  before_value();
  out_ += "null";
}

void JsonWriter::string_or_null(const std::optional<std::string>& text) {
  if (text) {
    string(*text);
  } else {
    null();
  }
}

void JsonWriter::number_or_null(const std::optional<std::uint64_t>& n) {
  if (n) {
    number(*n);
  } else {
    null();
  }
}

std::string JsonWriter::finish() {
  out_ += '\n';
  return std::move(out_);
}

}  // namespace flscan::live
