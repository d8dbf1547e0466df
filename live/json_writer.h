// The JSON text flscan-live.exe writes (live/LIVE_JSON.md): a small streaming writer, portable C++
// (tested on Linux by tests/live). Every string goes through json_escape: quote, backslash and
// every control character escaped, bytes that are no valid UTF-8 replaced by U+FFFD, so the
// document is valid UTF-8 JSON whatever the strings held.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flscan::live {

// `text` as a JSON string literal, quotes included.
[[nodiscard]] std::string json_escape(std::string_view text);

class JsonWriter {
 public:
  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  // The key of the next value inside an object.
  JsonWriter& key(std::string_view name);
  void string(std::string_view text);
  void number(std::uint64_t n);
  void boolean(bool b);
  void null();
  void string_or_null(const std::optional<std::string>& text);
  void number_or_null(const std::optional<std::uint64_t>& n);
  // The document, ended by a newline.
  [[nodiscard]] std::string finish();

 private:
  void before_value();
  std::string out_;
  std::vector<bool> has_items_;  // one per open object/array
  bool after_key_ = false;
};

}  // namespace flscan::live
