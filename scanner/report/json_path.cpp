#include "scanner/report/json_path.h"

#include <utility>

#include "scanner/report/text_encoding.h"

namespace flscan::scanner {
namespace {

// Both JSON flavours: the reader parses into nlohmann::json, the quarantine manifest into
// nlohmann::ordered_json.
template <typename Json>
tl::expected<std::string, std::string> decode_path(const Json& value) {
  constexpr std::string_view kNotAPath = "not a path ({\"text\": ...} or {\"bytes\": ...})";
  if (!value.is_object() || value.size() != 1) return tl::make_unexpected(std::string(kNotAPath));
  if (const auto text = value.find("text"); text != value.end()) {
    if (!text->is_string()) return tl::make_unexpected("\"text\" is not a string");
    return text->template get<std::string>();
  }
  if (const auto bytes = value.find("bytes"); bytes != value.end()) {
    if (!bytes->is_string()) return tl::make_unexpected("\"bytes\" is not a string");
    auto decoded = base64_decode(bytes->template get_ref<const std::string&>());
    if (!decoded) return tl::make_unexpected("\"bytes\" is not base64");
    return std::move(*decoded);
  }
  return tl::make_unexpected(std::string(kNotAPath));
}

}  // namespace

nlohmann::ordered_json path_to_json(std::string_view path) {
  if (is_valid_utf8(path)) return nlohmann::ordered_json{{"text", std::string(path)}};
  return nlohmann::ordered_json{{"bytes", base64_encode(path)}};
}

tl::expected<std::string, std::string> path_from_json(const nlohmann::json& value) { return decode_path(value); }

tl::expected<std::string, std::string> path_from_json(const nlohmann::ordered_json& value) {
  return decode_path(value);
}

}  // namespace flscan::scanner
