// Split raw disk images (issue 15): one disk cut into segments named NAME.000, NAME.001, ... or
// NAME.001, NAME.002, ... (three digits, as `split -d -a 3` and FTK Imager write them) or NAME.aa,
// NAME.ab, ... (two lower-case letters, `split`'s default).
//
// The set is the operand (its first segment) and the segments that follow it without a gap, all
// beside it, each a regular file that is not a symbolic link (image_files.h's rules), at most
// limits::kMaxSplitSegments. The Sleuth Kit reads them in order as one disk (tsk_img_open_utf8
// with the list; its raw reader keeps each segment's size and a few of them open).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flscan::scanner::image {

struct SplitSet {
  enum class Kind {
    none,     // not the first segment of a set of two or more, nor a later segment of one
    set,      // the first segment: `segments` in order (two or more)
    later,    // a later segment named alone: `first` is the set's first segment, `detail` says which
    gap,      // the first segment, but a segment in the middle is missing: `detail` names it
    refused,  // a segment is a symbolic link or not a regular file: `detail` says which
  };
  Kind kind = Kind::none;
  std::vector<std::string> segments;
  std::string first;
  std::string detail;
};

// What `path` (a regular file named as PATH) is among its neighbours, by name alone. With
// `first_segments` false, a first segment is not looked into (none): only whether `path` is a
// later segment (the caller knows it is no disk, so it cannot start a set).
[[nodiscard]] SplitSet split_set_of(const std::string& path, bool first_segments = true);

// Whether the file name (or path) `name` has a segment suffix (.000-.999, .aa-.zz), by name alone:
// such a file may be one segment of a set whose others lie beside it.
[[nodiscard]] bool has_segment_name(std::string_view name);

}  // namespace flscan::scanner::image
