// One table per enum that the reports turn into codes and read back (issue 14): the rows give each
// value its stable code (JSON, SARIF, text, HTML) and, where the reports have one, a phrase for
// people. Every to-code, from-code, count and iteration goes through the table, so a count cannot
// drift from the enum and a code is written and read from the same row.
//
// The header that owns an enum defines its table and makes it findable by argument-dependent
// lookup, then checks it at compile time:
//   inline constexpr std::array kSeverities = {EnumRow{Severity::infection, "infection"}, ...};
//   constexpr const auto& enum_rows(Severity) { return kSeverities; }
//   static_assert(is_complete_table(kSeverities));
// The enums are dense from 0 (no explicit values), so row i must hold value i, and a value after
// the last row must not be an enumerator: adding a value without a row, anywhere in the enum, or a
// row out of order or with a code already used, fails to compile.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace flscan {

template <typename Enum>
struct EnumRow {
  Enum value;
  std::string_view code;              // stable: part of the JSON/SARIF interface (scanner/JSON.md)
  std::string_view description = {};  // a short phrase for people; empty where the reports have none
};
template <typename Enum>
EnumRow(Enum, std::string_view) -> EnumRow<Enum>;
template <typename Enum>
EnumRow(Enum, std::string_view, std::string_view) -> EnumRow<Enum>;

namespace enum_table_detail {

// The compiler's name of this function spells V: "Kind::last" for an enumerator, "(Kind)7" for a
// value no enumerator has (GCC "[with auto V = ...; ...]", Clang "[V = ...]"; both checked below).
// An enum in an unnamed namespace is spelled "{anonymous}::Kind::last" (GCC) or
// "(anonymous namespace)::Kind::last" (Clang), so what tells the two apart is the end: a value no
// enumerator has ends in a number right after the cast's ')'.
template <auto V>
constexpr std::string_view spelled() {
  return __PRETTY_FUNCTION__;
}

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

template <auto V>
constexpr bool is_enumerator() {
  constexpr std::string_view name = spelled<V>();
  constexpr std::string_view marker = "V = ";
  constexpr std::size_t at = name.find(marker);
  static_assert(at != std::string_view::npos, "unknown __PRETTY_FUNCTION__ format");
  constexpr std::size_t start = at + marker.size();
  constexpr std::size_t end = name.find_first_of(";]", start);
  static_assert(end != std::string_view::npos, "unknown __PRETTY_FUNCTION__ format");
  std::size_t i = end;
  while (i > start && (is_digit(name[i - 1]) || name[i - 1] == '-')) --i;
  return !(i < end && i > start && name[i - 1] == ')');
}

template <typename Enum, std::size_t... I>
constexpr bool all_enumerators(std::index_sequence<I...>) {
  return (is_enumerator<static_cast<Enum>(I)>() && ...);
}

enum class SelfTest { only, v2 };
static_assert(is_enumerator<SelfTest::only>() && is_enumerator<SelfTest::v2>() &&
                  !is_enumerator<static_cast<SelfTest>(2)>() && !is_enumerator<static_cast<SelfTest>(12)>(),
              "this compiler spells enum values differently: is_enumerator needs adapting");
namespace {
enum class AnonymousSelfTest { only };
static_assert(is_enumerator<AnonymousSelfTest::only>() && !is_enumerator<static_cast<AnonymousSelfTest>(1)>(),
              "this compiler spells enum values of an unnamed namespace differently: is_enumerator needs adapting");
}  // namespace

}  // namespace enum_table_detail

// Row i holds value i, an enumerator of Enum, with a non-empty code; no two rows share a code; and
// the value after the last row is no enumerator (the table ends where the enum does).
template <typename Enum, std::size_t N>
constexpr bool is_complete_table(const std::array<EnumRow<Enum>, N>& rows) {
  for (std::size_t i = 0; i < N; ++i) {
    if (static_cast<std::size_t>(rows[i].value) != i || rows[i].code.empty()) return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (rows[j].code == rows[i].code) return false;
    }
  }
  return enum_table_detail::all_enumerators<Enum>(std::make_index_sequence<N>()) &&
         !enum_table_detail::is_enumerator<static_cast<Enum>(N)>();
}

// The table of Enum, found through its owner's enum_rows(Enum).
template <typename Enum>
constexpr const auto& table_of() {
  return enum_rows(Enum{});
}

// How many values Enum has: the size of its table.
template <typename Enum>
inline constexpr std::size_t kEnumCount = table_of<Enum>().size();

// The row of `value`; nullptr only for a value outside the enum (a cast of a stray integer).
template <typename Enum>
constexpr const EnumRow<Enum>* row_of(Enum value) {
  const auto& rows = table_of<Enum>();
  const auto index = static_cast<std::size_t>(value);
  return index < rows.size() ? &rows[index] : nullptr;
}

template <typename Enum>
constexpr std::string_view code_of(Enum value) {
  const EnumRow<Enum>* row = row_of(value);
  return row != nullptr ? row->code : std::string_view("unknown");
}

template <typename Enum>
constexpr std::string_view description_of(Enum value) {
  const EnumRow<Enum>* row = row_of(value);
  return row != nullptr ? row->description : std::string_view("unknown");
}

// The value whose code is `code`; nullopt for any other text (a report's reader rejects it).
template <typename Enum>
constexpr std::optional<Enum> from_code(std::string_view code) {
  for (const EnumRow<Enum>& row : table_of<Enum>()) {
    if (row.code == code) return row.value;
  }
  return std::nullopt;
}

}  // namespace flscan
