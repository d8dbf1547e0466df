#include "scanner/image/lvm_metadata.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "engine/byte_view.h"
#include "scanner/image/limits.h"

namespace flscan::scanner::image::lvm {
namespace {

using namespace std::string_view_literals;

constexpr std::uint32_t kInitialCrc = 0xf597a6cf;  // lib/misc/crc.h, INITIAL_CRC
constexpr std::string_view kLabelId = "LABELONE"sv;
constexpr std::string_view kLabelType = "LVM2 001"sv;
constexpr std::size_t kLabelCrcFrom = 20;       // label_header.offset_xl: the CRC covers the rest of the sector
constexpr std::size_t kPvHeaderMin = 32;        // sizeof(struct label_header)
constexpr std::size_t kPvIdBytes = 32;          // ID_LEN
constexpr std::size_t kDiskLocnBytes = 16;      // struct disk_locn {offset, size}
constexpr std::uint64_t kMdaHeaderBytes = 512;  // MDA_HEADER_SIZE
constexpr std::string_view kFmttMagic("\x20\x4c\x56\x4d\x32\x20\x78\x5b\x35\x41\x25\x72\x30\x4e\x2a\x3e", 16);
constexpr std::size_t kRawLocnAt = 40;        // mda_header.raw_locns
constexpr std::uint32_t kRawLocnIgnored = 1;  // RAW_LOCN_IGNORED

std::string number_text(std::uint64_t n) { return std::to_string(n); }

// ---------------------------------------------------------------------------------------------
// The label and the metadata area
// ---------------------------------------------------------------------------------------------
struct Area {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

struct Label {
  std::string id;
  std::uint64_t device_size = 0;
  std::vector<Area> metadata_areas;
};

// A {offset, size} list of the pv_header, ended by a zero pair, from `at` inside the sector.
std::optional<std::vector<Area>> area_list(ByteView sector, std::size_t& at) {
  std::vector<Area> areas;
  for (;;) {
    const auto offset = sector.u64le(at);
    const auto size = sector.u64le(at + 8);
    if (!offset || !size) return std::nullopt;
    at += kDiskLocnBytes;
    if (*offset == 0 && *size == 0) return areas;
    if (areas.size() == limits::kMaxLvmAreas) return std::nullopt;
    areas.push_back({*offset, *size});
  }
}

tl::expected<Label, std::string> read_label(std::span<const std::uint8_t> head) {
  for (std::uint64_t s = 0; s < kLabelSectors; ++s) {
    const auto sector = ByteView(head.data(), head.size()).sub(s * kSectorBytes, kSectorBytes);
    if (!sector || !sector->equals_at(0, kLabelId) || !sector->equals_at(24, kLabelType)) continue;
    const std::string where = "LVM2 label in sector " + number_text(s);
    if (sector->u64le(8) != s) return tl::make_unexpected(where + " gives another sector number");
    const auto crc = sector->u32le(16);
    if (crc != calc_crc(kInitialCrc, sector->span().subspan(kLabelCrcFrom)))
      return tl::make_unexpected(where + ": checksum mismatch (damaged label)");
    const std::uint32_t pv_at = sector->u32le(20).value_or(0);
    if (pv_at < kPvHeaderMin || !sector->contains(pv_at, kPvIdBytes + 8 + 2 * kDiskLocnBytes))
      return tl::make_unexpected(where + ": pv_header offset " + number_text(pv_at) + " out of the sector");
    Label label;
    label.id.assign(reinterpret_cast<const char*>(sector->data() + pv_at), kPvIdBytes);
    label.device_size = sector->u64le(pv_at + kPvIdBytes).value_or(0);
    std::size_t at = pv_at + kPvIdBytes + 8;
    const auto data_areas = area_list(*sector, at);
    const auto metadata_areas = data_areas ? area_list(*sector, at) : std::nullopt;
    if (!metadata_areas) return tl::make_unexpected(where + ": pv_header area lists run past the sector");
    label.metadata_areas = *metadata_areas;
    return label;
  }
  return tl::make_unexpected(std::string("no LVM2 label in the first four sectors"));
}

// The committed metadata text of the metadata area `area`.
tl::expected<std::string, std::string> read_metadata_area(const PvReader& read, const Area& area) {
  const std::string where = "metadata area at byte " + number_text(area.offset);
  std::array<std::uint8_t, kMdaHeaderBytes> header{};
  if (area.size <= kMdaHeaderBytes)
    return tl::make_unexpected(where + ": too small (" + number_text(area.size) + " bytes)");
  if (!read(area.offset, header)) return tl::make_unexpected(where + ": cannot be read");
  const ByteView h(header.data(), header.size());
  if (!h.equals_at(4, kFmttMagic)) return tl::make_unexpected(where + ": no metadata area header (magic)");
  if (h.u32le(0) != calc_crc(kInitialCrc, h.span().subspan(4)))
    return tl::make_unexpected(where + ": header checksum mismatch (damaged)");
  if (h.u32le(20) != 1u) return tl::make_unexpected(where + ": unknown header version");
  if (h.u64le(24) != area.offset) return tl::make_unexpected(where + ": the header gives another start");
  const std::uint64_t mda_size = std::min<std::uint64_t>(h.u64le(32).value_or(0), area.size);
  const std::uint64_t offset = h.u64le(kRawLocnAt).value_or(0);
  const std::uint64_t size = h.u64le(kRawLocnAt + 8).value_or(0);
  const std::uint32_t checksum = h.u32le(kRawLocnAt + 16).value_or(0);
  const std::uint32_t flags = h.u32le(kRawLocnAt + 20).value_or(0);
  if ((flags & kRawLocnIgnored) != 0) return tl::make_unexpected(where + ": marked ignored");
  if (size == 0) return tl::make_unexpected(where + ": holds no committed metadata");
  if (size > limits::kMaxLvmMetadataBytes) {
    return tl::make_unexpected(where + ": metadata of " + number_text(size) + " bytes, more than the " +
                               number_text(limits::kMaxLvmMetadataBytes) + " flscan reads");
  }
  if (offset < kMdaHeaderBytes || offset >= mda_size)
    return tl::make_unexpected(where + ": metadata offset " + number_text(offset) + " outside the area");
  // The area is a circular buffer after its header: the text may wrap round to its start.
  const std::uint64_t first = std::min(size, mda_size - offset);
  const std::uint64_t wrapped = size - first;
  if (wrapped > mda_size - kMdaHeaderBytes) return tl::make_unexpected(where + ": metadata larger than its area");
  std::string text(static_cast<std::size_t>(size), '\0');
  auto* bytes = reinterpret_cast<std::uint8_t*>(text.data());
  if (!read(area.offset + offset, {bytes, static_cast<std::size_t>(first)}) ||
      (wrapped != 0 && !read(area.offset + kMdaHeaderBytes, {bytes + first, static_cast<std::size_t>(wrapped)}))) {
    return tl::make_unexpected(where + ": the metadata text cannot be read");
  }
  if (calc_crc(kInitialCrc, {bytes, text.size()}) != checksum)
    return tl::make_unexpected(where + ": metadata checksum mismatch (damaged)");
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

// ---------------------------------------------------------------------------------------------
// The metadata text (lib/config/config.c): sections, assignments, arrays
// ---------------------------------------------------------------------------------------------
struct Value {
  bool quoted = false;
  std::string text;
};

struct Node {
  std::string name;
  bool section = false;
  bool array = false;
  std::vector<Value> values;   // an assignment's value, or its array's values
  std::vector<Node> children;  // a section's
};

class ConfigParser {
 public:
  explicit ConfigParser(std::string_view text) : text_(text) {}

  tl::expected<Node, std::string> parse() {
    Node root;
    root.section = true;
    if (!items(root, 0)) return tl::make_unexpected(error_);
    return root;
  }

 private:
  enum class Kind { end, open_brace, close_brace, open_bracket, close_bracket, comma, equals, string, word };
  struct Token {
    Kind kind = Kind::end;
    std::string text;
  };

  static bool special(char c) {
    return c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == '=' || c == '"' || c == '#';
  }
  static bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

  bool fail(std::string why) {
    if (error_.empty()) error_ = std::move(why) + " (metadata text byte " + number_text(pos_) + ")";
    return false;
  }

  bool next(Token& token) {
    for (;;) {
      while (pos_ < text_.size() && space(text_[pos_])) ++pos_;
      if (pos_ < text_.size() && text_[pos_] == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
        continue;
      }
      break;
    }
    token.text.clear();
    if (pos_ >= text_.size()) {
      token.kind = Kind::end;
      return true;
    }
    const char c = text_[pos_];
    switch (c) {
      case '{':
        token.kind = Kind::open_brace;
        ++pos_;
        return true;
      case '}':
        token.kind = Kind::close_brace;
        ++pos_;
        return true;
      case '[':
        token.kind = Kind::open_bracket;
        ++pos_;
        return true;
      case ']':
        token.kind = Kind::close_bracket;
        ++pos_;
        return true;
      case ',':
        token.kind = Kind::comma;
        ++pos_;
        return true;
      case '=':
        token.kind = Kind::equals;
        ++pos_;
        return true;
      default:
        break;
    }
    if (c == '"') {
      ++pos_;
      while (pos_ < text_.size() && text_[pos_] != '"') {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
        token.text += text_[pos_++];
      }
      if (pos_ >= text_.size()) return fail("unterminated string");
      ++pos_;
      token.kind = Kind::string;
      return true;
    }
    while (pos_ < text_.size() && !space(text_[pos_]) && !special(text_[pos_])) token.text += text_[pos_++];
    token.kind = Kind::word;
    return true;
  }

  bool count() {
    if (++nodes_ > limits::kMaxLvmConfigNodes)
      return fail("more than " + number_text(limits::kMaxLvmConfigNodes) + " values and sections");
    return true;
  }

  bool scalar(const Token& token, Node& node) {
    if (token.kind != Kind::string && token.kind != Kind::word) return fail("value expected");
    node.values.push_back({token.kind == Kind::string, token.text});
    return count();
  }

  // An array after its '[': values separated by commas, a comma before ']' allowed.
  bool array(Node& node) {
    node.array = true;
    Token token;
    for (;;) {
      if (!next(token)) return false;
      if (token.kind == Kind::close_bracket) return true;
      if (!scalar(token, node) || !next(token)) return false;
      if (token.kind == Kind::close_bracket) return true;
      if (token.kind != Kind::comma) return fail("',' or ']' expected in an array");
    }
  }

  // The items of `section` up to its '}' (or the end of the text, at depth 0).
  bool items(Node& section, std::size_t depth) {
    Token token;
    for (;;) {
      if (!next(token)) return false;
      if (token.kind == Kind::end) return depth == 0 || fail("section not closed");
      if (token.kind == Kind::close_brace) return depth > 0 || fail("'}' without a section");
      if (token.kind != Kind::word && token.kind != Kind::string) return fail("name expected");
      Node node;
      node.name = token.text;
      if (!count() || !next(token)) return false;
      if (token.kind == Kind::open_brace) {
        if (depth + 1 >= limits::kMaxLvmConfigDepth)
          return fail("sections nested more than " + number_text(limits::kMaxLvmConfigDepth) + " deep");
        node.section = true;
        if (!items(node, depth + 1)) return false;
      } else if (token.kind == Kind::equals) {
        if (!next(token)) return false;
        if (token.kind == Kind::open_bracket) {
          if (!array(node)) return false;
        } else if (!scalar(token, node)) {
          return false;
        }
      } else {
        return fail("'{' or '=' expected after \"" + display_name(node.name) + "\"");
      }
      section.children.push_back(std::move(node));
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t nodes_ = 0;
  std::string error_;
};

const Node* find(const Node& section, std::string_view name, bool want_section) {
  for (const Node& child : section.children)
    if (child.name == name && child.section == want_section) return &child;
  return nullptr;
}

// A decimal number without sign, as lvm2 writes extents, sectors and counts.
std::optional<std::uint64_t> unsigned_value(const Value& value) {
  const std::string& text = value.text;
  if (value.quoted || text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t result = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    if (__builtin_mul_overflow(result, 10u, &result) ||
        __builtin_add_overflow(result, static_cast<unsigned>(c - '0'), &result))
      return std::nullopt;
  }
  return result;
}

std::optional<std::uint64_t> number(const Node& section, std::string_view name) {
  const Node* node = find(section, name, false);
  if (node == nullptr || node->array || node->values.size() != 1) return std::nullopt;
  return unsigned_value(node->values[0]);
}

std::optional<std::string> string(const Node& section, std::string_view name) {
  const Node* node = find(section, name, false);
  if (node == nullptr || node->array || node->values.size() != 1 || !node->values[0].quoted) return std::nullopt;
  return node->values[0].text;
}

bool flagged(const Node& section, std::string_view array_name, std::string_view flag) {
  const Node* node = find(section, array_name, false);
  if (node == nullptr) return false;
  return std::any_of(node->values.begin(), node->values.end(), [&](const Value& v) { return v.text == flag; });
}

std::string without_dashes(std::string_view id) {
  std::string out;
  for (const char c : id)
    if (c != '-') out += c;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The volume group
// ---------------------------------------------------------------------------------------------
struct PvEntry {
  std::string id;              // without dashes
  std::uint64_t pe_start = 0;  // bytes
  std::uint64_t pe_count = 0;
};

struct Context {
  std::string vg;
  std::uint64_t extent_bytes = 0;
  std::map<std::string, PvEntry, std::less<>> pvs;  // by key ("pv0")
  std::string own_key;                              // this PV's key
  std::uint64_t pv_bytes = 0;                       // what the image holds of this PV
};

void set_problem(LogicalVolume& lv, LvProblem problem, std::string detail) {
  lv.problem = problem;
  lv.detail = std::move(detail);
  lv.segments.clear();
  lv.size = 0;
}

// One "striped" segment (stripe_count 1: linear) of `lv`; false (with the LV's problem set)
// when it cannot be read.
bool striped_segment(const Context& ctx, const Node& node, std::uint64_t extent_count, LogicalVolume& lv,
                     Segment& segment) {
  const std::string where = "segment " + display_name(node.name);
  const Node* stripes = find(node, "stripes", false);
  if (stripes == nullptr || !stripes->array || stripes->values.empty() || stripes->values.size() % 2 != 0) {
    set_problem(lv, LvProblem::unreadable, where + ": no stripes list of physical volume and extent pairs");
    return false;
  }
  const std::size_t count = stripes->values.size() / 2;
  if (count > limits::kMaxLvmStripes) {
    set_problem(lv, LvProblem::unreadable, where + ": more than " + number_text(limits::kMaxLvmStripes) + " stripes");
    return false;
  }
  const auto declared = number(node, "stripe_count");
  if ((declared && *declared != count) || extent_count % count != 0) {
    set_problem(lv, LvProblem::unreadable, where + ": stripe count does not match its stripes or extents");
    return false;
  }
  const std::uint64_t area_extents = extent_count / count;
  const std::uint64_t area_bytes = area_extents * ctx.extent_bytes;  // checked by the caller's LV size
  segment.length = extent_count * ctx.extent_bytes;
  segment.stripe_bytes = segment.length;
  if (count > 1) {
    const auto stripe_size = number(node, "stripe_size");
    if (!stripe_size || *stripe_size == 0 || *stripe_size > area_bytes / kSectorBytes ||
        area_bytes % (*stripe_size * kSectorBytes) != 0) {
      set_problem(lv, LvProblem::unreadable, where + ": stripe size missing or not a divisor of its stripes' length");
      return false;
    }
    segment.stripe_bytes = *stripe_size * kSectorBytes;
  }
  for (std::size_t i = 0; i < count; ++i) {
    const Value& key = stripes->values[2 * i];
    const Value& first = stripes->values[2 * i + 1];
    const auto pv = ctx.pvs.find(key.text);
    if (pv == ctx.pvs.end()) {
      set_problem(lv, LvProblem::unreadable,
                  where + ": stripe on physical volume \"" + display_name(key.text) +
                      "\", which the volume group does not list");
      return false;
    }
    if (pv->first != ctx.own_key) {
      set_problem(lv, LvProblem::unreadable,
                  where + ": extents on physical volume " + display_name(pv->first) + " (id " +
                      display_name(pv->second.id) +
                      "), which is not in this image (flscan reads the logical volumes of one physical volume; a "
                      "volume group spread over several is not assembled)");
      return false;
    }
    const auto first_extent = unsigned_value(first);
    std::uint64_t end_extent = 0;
    if (!first_extent || __builtin_add_overflow(*first_extent, area_extents, &end_extent)) {
      set_problem(lv, LvProblem::unreadable, where + ": bad first extent on " + display_name(key.text));
      return false;
    }
    if (end_extent > pv->second.pe_count) {
      set_problem(lv, LvProblem::unreadable,
                  where + ": extents " + number_text(*first_extent) + " to " + number_text(end_extent - 1) + " of " +
                      display_name(key.text) + " lie past the end of the physical volume (" +
                      number_text(pv->second.pe_count) + " extents)");
      return false;
    }
    std::uint64_t offset = 0;
    std::uint64_t end = 0;
    if (__builtin_mul_overflow(*first_extent, ctx.extent_bytes, &offset) ||
        __builtin_add_overflow(offset, pv->second.pe_start, &offset) ||
        __builtin_add_overflow(offset, area_bytes, &end)) {
      set_problem(lv, LvProblem::unreadable, where + ": extent offsets do not fit in 64 bits");
      return false;
    }
    if (end > ctx.pv_bytes) {
      set_problem(lv, LvProblem::unreadable,
                  where + ": its extents end at byte " + number_text(end) + " of the physical volume, past the " +
                      number_text(ctx.pv_bytes) +
                      " bytes the image holds of it (a truncated image, or a partition smaller than the PV)");
      return false;
    }
    segment.stripes.push_back(offset);
  }
  return true;
}

LogicalVolume logical_volume(const Context& ctx, const Node& node,
                             const std::map<std::string, std::string, std::less<>>& cow_stores) {
  LogicalVolume lv;
  lv.name = display_name(node.name);
  lv.hidden = !flagged(node, "status", "VISIBLE");
  if (const auto origin = cow_stores.find(node.name); origin != cow_stores.end()) {
    set_problem(
        lv, LvProblem::unsupported,
        "the copy-on-write store of a snapshot of " + display_name(origin->second) + ": LVM2 snapshots are not opened");
    return lv;
  }
  std::vector<std::pair<std::uint64_t, const Node*>> segments;
  for (const Node& child : node.children) {
    if (!child.section) continue;
    if (segments.size() == limits::kMaxLvmSegments) {
      set_problem(lv, LvProblem::unreadable,
                  "more than " + number_text(limits::kMaxLvmSegments) + " segments; not examined");
      return lv;
    }
    const auto start = number(child, "start_extent");
    const auto type = string(child, "type");
    if (!start || !type) {
      set_problem(lv, LvProblem::unreadable, "segment " + display_name(child.name) + " without start_extent or type");
      return lv;
    }
    if (*type != "striped") {
      set_problem(lv, LvProblem::unsupported,
                  "segment type \"" + display_name(*type) + "\" is not opened (only linear and striped)");
      return lv;
    }
    segments.emplace_back(*start, &child);
  }
  if (const auto declared = number(node, "segment_count"); declared && *declared > limits::kMaxLvmSegments) {
    set_problem(lv, LvProblem::unreadable,
                "segment_count " + number_text(*declared) + " is more than the " +
                    number_text(limits::kMaxLvmSegments) + " segments flscan examines");
    return lv;
  }
  if (segments.empty()) {
    set_problem(lv, LvProblem::unreadable, "no segment");
    return lv;
  }
  std::stable_sort(segments.begin(), segments.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::uint64_t next_extent = 0;
  for (const auto& [start, child] : segments) {
    const auto extent_count = number(*child, "extent_count");
    std::uint64_t length = 0;
    std::uint64_t lv_offset = 0;
    if (start != next_extent || !extent_count || *extent_count == 0 ||
        __builtin_add_overflow(next_extent, *extent_count, &next_extent) ||
        __builtin_mul_overflow(next_extent, ctx.extent_bytes, &length) ||
        __builtin_mul_overflow(start, ctx.extent_bytes, &lv_offset)) {
      set_problem(lv, LvProblem::unreadable,
                  "segment " + display_name(child->name) + " leaves a gap, overlaps another or has a bad extent count");
      return lv;
    }
    Segment segment;
    segment.lv_offset = lv_offset;
    if (!striped_segment(ctx, *child, *extent_count, lv, segment)) return lv;
    lv.segments.push_back(std::move(segment));
    lv.size = length;
  }
  return lv;
}

}  // namespace

std::uint32_t calc_crc(std::uint32_t initial, std::span<const std::uint8_t> data) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = initial;
  for (const std::uint8_t b : data) crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return crc;
}

bool has_label(std::span<const std::uint8_t> head) {
  const ByteView view(head.data(), head.size());
  for (std::uint64_t s = 0; s < kLabelSectors; ++s)
    if (view.equals_at(s * kSectorBytes, kLabelId) && view.equals_at(s * kSectorBytes + 24, kLabelType)) return true;
  return false;
}

tl::expected<PhysicalVolumeHeader, std::string> read_physical_volume(const PvReader& read) {
  std::array<std::uint8_t, kLabelSectors * kSectorBytes> head{};
  if (!read(0, head)) return tl::make_unexpected(std::string("the first four sectors cannot be read"));
  auto label = read_label(head);
  if (!label) return tl::make_unexpected(label.error());
  if (label->metadata_areas.empty()) {
    return tl::make_unexpected(
        std::string("no metadata area on this physical volume (its volume group's metadata is kept on another one)"));
  }
  std::string first_error;
  for (const Area& area : label->metadata_areas) {
    auto text = read_metadata_area(read, area);
    if (text) return PhysicalVolumeHeader{label->id, label->device_size, std::move(*text)};
    if (first_error.empty()) first_error = text.error();
  }
  return tl::make_unexpected(first_error);
}

tl::expected<VolumeGroup, std::string> parse_volume_group(std::string_view text, std::string_view pv_id,
                                                          std::uint64_t pv_bytes) {
  auto root = ConfigParser(text).parse();
  if (!root) return tl::make_unexpected("metadata text not understood: " + root.error());
  const Node* vg_node = nullptr;
  for (const Node& child : root->children) {
    if (child.section) {
      vg_node = &child;
      break;
    }
  }
  if (vg_node == nullptr) return tl::make_unexpected(std::string("metadata text without a volume group section"));
  Context ctx;
  ctx.vg = display_name(vg_node->name);
  ctx.pv_bytes = pv_bytes;
  const auto extent_size = number(*vg_node, "extent_size");
  if (!extent_size || *extent_size == 0 || __builtin_mul_overflow(*extent_size, kSectorBytes, &ctx.extent_bytes))
    return tl::make_unexpected("volume group " + ctx.vg + ": no valid extent_size");
  const Node* pvs = find(*vg_node, "physical_volumes", true);
  if (pvs == nullptr) return tl::make_unexpected("volume group " + ctx.vg + ": no physical_volumes section");
  const std::string own_id = without_dashes(pv_id);
  for (const Node& pv : pvs->children) {
    if (!pv.section) continue;
    if (ctx.pvs.size() == limits::kMaxLvmPhysicalVolumes) {
      return tl::make_unexpected("volume group " + ctx.vg + ": more than " +
                                 number_text(limits::kMaxLvmPhysicalVolumes) + " physical volumes");
    }
    PvEntry entry;
    entry.id = without_dashes(string(pv, "id").value_or(""));
    const auto pe_start = number(pv, "pe_start");
    const auto pe_count = number(pv, "pe_count");
    if (!pe_start || !pe_count || __builtin_mul_overflow(*pe_start, kSectorBytes, &entry.pe_start))
      return tl::make_unexpected("volume group " + ctx.vg + ": physical volume " + display_name(pv.name) +
                                 " without valid pe_start and pe_count");
    entry.pe_count = *pe_count;
    if (entry.id == own_id && ctx.own_key.empty()) ctx.own_key = pv.name;
    ctx.pvs.emplace(pv.name, std::move(entry));
  }
  if (ctx.own_key.empty()) {
    return tl::make_unexpected("volume group " + ctx.vg + " does not list this physical volume (id " +
                               display_name(pv_id) + ")");
  }
  VolumeGroup group;
  group.name = ctx.vg;
  group.extent_bytes = ctx.extent_bytes;
  const Node* lvs = find(*vg_node, "logical_volumes", true);
  if (lvs == nullptr) return group;
  // A snapshot is a hidden LV of type "snapshot" naming its origin and its copy-on-write store (a
  // visible LV whose extents hold changed blocks, not a file system).
  std::map<std::string, std::string, std::less<>> cow_stores;
  std::size_t examined = 0;
  for (const Node& lv : lvs->children) {
    if (!lv.section) continue;
    if (++examined > limits::kMaxLvmLogicalVolumes) break;
    for (const Node& segment : lv.children) {
      if (!segment.section || string(segment, "type") != "snapshot") continue;
      if (auto store = string(segment, "cow_store"))
        cow_stores.emplace(*store, string(segment, "origin").value_or("?"));
    }
  }
  for (const Node& lv : lvs->children) {
    if (!lv.section) continue;
    if (group.lvs.size() == limits::kMaxLvmLogicalVolumes) {
      group.more_lvs = true;
      break;
    }
    group.lvs.push_back(logical_volume(ctx, lv, cow_stores));
  }
  return group;
}

std::string display_name(std::string_view name) {
  constexpr std::size_t kMaxShown = 128;
  std::string out;
  for (const char c : name.substr(0, kMaxShown)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
                    c == '_' || c == '.' || c == '-';
    out += ok ? c : '?';
  }
  if (name.size() > kMaxShown) out += "...";
  return out;
}

Mapped map_offset(const Segment& segment, std::uint64_t lv_offset) {
  const std::uint64_t rel = lv_offset - segment.lv_offset;
  const std::uint64_t count = segment.stripes.size();
  const std::uint64_t chunk = rel / segment.stripe_bytes;
  const std::uint64_t within = rel % segment.stripe_bytes;
  // chunk % count < stripes.size(): fits a std::size_t on every target.
  const std::uint64_t pv_offset =
      segment.stripes[static_cast<std::size_t>(chunk % count)] + (chunk / count) * segment.stripe_bytes + within;
  return {pv_offset, std::min(segment.stripe_bytes - within, segment.length - rel)};
}

}  // namespace flscan::scanner::image::lvm
