#include "scanner/image/split_raw.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <string_view>

#include "scanner/image/image_files.h"
#include "scanner/image/limits.h"
#include "scanner/platform/open_path.h"

namespace flscan::scanner::image {
namespace {

// A segment name: the part before the suffix, and the suffix's index in its scheme.
struct SegmentName {
  std::string stem;  // "dir/disk." (the dot included)
  bool digits = true;
  std::size_t index = 0;
};

constexpr std::size_t kDigitSegments = 1000;      // .000 - .999
constexpr std::size_t kLetterSegments = 26 * 26;  // .aa - .zz
static_assert(kDigitSegments <= limits::kMaxSplitSegments && kLetterSegments <= limits::kMaxSplitSegments);

// The scheme and index of a segment suffix (the text after the last dot): three digits or two
// lower-case letters.
struct SuffixIndex {
  bool digits = true;
  std::size_t index = 0;
};
std::optional<SuffixIndex> suffix_index(std::string_view suffix) {
  const auto all = [suffix](char low, char high) {
    return std::all_of(suffix.begin(), suffix.end(), [low, high](char c) { return c >= low && c <= high; });
  };
  if (suffix.size() == 3 && all('0', '9')) {
    return SuffixIndex{true,
                       static_cast<std::size_t>((suffix[0] - '0') * 100 + (suffix[1] - '0') * 10 + (suffix[2] - '0'))};
  }
  if (suffix.size() == 2 && all('a', 'z')) {
    return SuffixIndex{false,
                       static_cast<std::size_t>(suffix[0] - 'a') * 26 + static_cast<std::size_t>(suffix[1] - 'a')};
  }
  return std::nullopt;
}

std::optional<SegmentName> parse(const std::string& path) {
  const std::size_t dot = path.find_last_of("./");
  if (dot == std::string::npos || path[dot] != '.' || dot == 0 || path[dot - 1] == '/') return std::nullopt;
  const auto suffix = suffix_index(std::string_view(path).substr(dot + 1));
  if (!suffix) return std::nullopt;
  // The segments are looked for in the image's directory (image_files.h: for an image found in a
  // walk, the walk's directory); the first is `path` itself.
  const std::size_t slash = path.find_last_of('/');
  const std::string directory = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
  return SegmentName{sibling_directory_of(directory) + path.substr(directory.size(), dot + 1 - directory.size()),
                     suffix->digits, suffix->index};
}

std::size_t segments_in(const SegmentName& name) { return name.digits ? kDigitSegments : kLetterSegments; }

std::string segment(const SegmentName& name, std::size_t index) {
  if (name.digits) {
    std::string number = std::to_string(index);
    return name.stem + std::string(3 - number.size(), '0') + number;
  }
  return name.stem + static_cast<char>('a' + index / 26) + static_cast<char>('a' + index % 26);
}

enum class Found { missing, file, refused };

// Whether a segment exists, by lstat: a symlink or a non-regular file is refused, never opened.
Found look(const std::string& path, std::string& why) {
  struct stat st {};
  if (stat_path(path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Found::missing;
  if (S_ISLNK(st.st_mode)) {
    why = path + " is a symbolic link, not followed";
    return Found::refused;
  }
  if (!S_ISREG(st.st_mode)) {
    why = path + " is not a regular file";
    return Found::refused;
  }
  return Found::file;
}

bool exists(const std::string& path) {
  std::string ignored;
  return look(path, ignored) != Found::missing;
}

}  // namespace

SplitSet split_set_of(const std::string& path, bool first_segments) {
  SplitSet set;
  const auto name = parse(path);
  if (!name) return set;
  // The set's first index: .000 when it exists, else .001 for digits; .aa for letters.
  const std::size_t first = name->digits && !exists(segment(*name, 0)) ? 1 : 0;
  if (name->index > first && exists(segment(*name, name->index - 1))) {
    set.kind = SplitSet::Kind::later;
    set.first = segment(*name, first);
    set.detail = "segment " + std::to_string(name->index - first + 1) + " of the split raw set " + set.first +
                 ": name the first segment to scan the disk";
    return set;
  }
  if (name->index != first || !first_segments) return set;
  set.segments.push_back(path);
  std::size_t index = first + 1;
  for (; index < segments_in(*name); ++index) {
    const std::string next = segment(*name, index);
    std::string why;
    const Found found = look(next, why);
    if (found == Found::missing) break;
    if (found == Found::refused) {
      set.kind = SplitSet::Kind::refused;
      set.detail = "segment " + std::to_string(index - first + 1) + " of the split raw set " + path + ": " + why +
                   " (segments are looked for only beside the first, as regular files)";
      return set;
    }
    set.segments.push_back(next);
  }
  // A later segment beyond the first missing one: the set has a hole, not an end.
  for (std::size_t later = index + 1; later < segments_in(*name); ++later) {
    if (exists(segment(*name, later))) {
      set.kind = SplitSet::Kind::gap;
      set.detail = "segment " + std::to_string(index - first + 1) + " of the split raw set " + path + ", " +
                   segment(*name, index) + ", is missing (" + segment(*name, later) + " exists)";
      return set;
    }
  }
  if (set.segments.size() < 2) return set;  // a file alone: no set
  set.kind = SplitSet::Kind::set;
  return set;
}

bool has_segment_name(std::string_view name) {
  const std::size_t dot = name.find_last_of("./");
  return dot != std::string_view::npos && name[dot] == '.' && dot != 0 && name[dot - 1] != '/' &&
         suffix_index(name.substr(dot + 1)).has_value();
}

}  // namespace flscan::scanner::image
