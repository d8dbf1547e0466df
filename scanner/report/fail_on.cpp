#include "scanner/report/fail_on.h"

namespace flscan::scanner {

tl::expected<FailOn, std::string> parse_fail_on(std::string_view text) {
  const std::string usage = " (use a comma-separated list of infected, suspicious, incomplete, or none)";
  if (text.empty()) return tl::make_unexpected("empty list" + usage);
  if (text == kFailOnNone) return FailOn{false, false, false};
  FailOn fail_on{false, false, false};
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string_view word = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    bool* flag = nullptr;
    for (const FailOnWord& known : kFailOnWords) {
      if (word == known.word) flag = &(fail_on.*known.flag);
    }
    if (word == kFailOnNone) return tl::make_unexpected(std::string("'none' cannot be combined with other outcomes"));
    if (flag == nullptr) return tl::make_unexpected("unknown outcome '" + std::string(word) + "'" + usage);
    if (*flag) return tl::make_unexpected("'" + std::string(word) + "' is given twice");
    *flag = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fail_on;
}

std::string to_string(const FailOn& fail_on) {
  std::string out;
  const auto add = [&out](bool on, std::string_view word) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += word;
  };
  for (const FailOnWord& known : kFailOnWords) add(fail_on.*known.flag, known.word);
  return out.empty() ? std::string(kFailOnNone) : out;
}

std::string fail_on_choices() {
  std::string out = "LIST:{";
  for (const FailOnWord& known : kFailOnWords) out.append(known.word).append(",");
  return out.append(kFailOnNone).append("}");
}

}  // namespace flscan::scanner
