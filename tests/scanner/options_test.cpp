#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "scanner/app/options.h"
#include "scanner/report/text_encoding.h"

using namespace flscan::scanner;

namespace {

ParseOutcome parse(std::vector<std::string> args, std::string* out_text = nullptr, std::string* err_text = nullptr) {
  args.insert(args.begin(), "flscan");
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out;
  std::ostringstream err;
  ParseOutcome outcome = parse_options(static_cast<int>(argv.size()), argv.data(), out, err);
  if (out_text) *out_text = out.str();
  if (err_text) *err_text = err.str();
  return outcome;
}

}  // namespace

TEST_CASE("parse_size accepts plain bytes and K/M/G/T suffixes", "[options]") {
  CHECK(parse_size("123").value() == 123);
  CHECK(parse_size("0").value() == 0);
  CHECK(parse_size("10K").value() == 10 * 1024);
  CHECK(parse_size("10k").value() == 10 * 1024);
  CHECK(parse_size("256M").value() == 256ull * 1024 * 1024);
  CHECK(parse_size("2G").value() == 2ull * 1024 * 1024 * 1024);
  CHECK(parse_size("2GiB").value() == 2ull * 1024 * 1024 * 1024);
  CHECK(parse_size("3MB").value() == 3ull * 1024 * 1024);
  CHECK(parse_size("1T").value() == 1ull << 40);
}

TEST_CASE("parse_size rejects garbage and overflow with a reason", "[options]") {
  for (const char* bad : {"", "K", "-1", "1.5G", "10X", "10KX", "12 M", "99999999999999999999", "17179869184G"}) {
    INFO(bad);
    const auto size = parse_size(bad);
    REQUIRE_FALSE(size.has_value());
    CHECK_FALSE(size.error().empty());
  }
}

TEST_CASE("options: defaults and every option", "[options]") {
  const auto defaults = parse({"dir"});
  REQUIRE(defaults.options);
  CHECK(defaults.options->paths == std::vector<std::string>{"dir"});
  CHECK(defaults.options->max_filesize == flscan::limits::kDefaultMaxFileSize);
  CHECK(defaults.options->threads == 0);
  CHECK_FALSE(defaults.options->follow_symlinks);
  CHECK_FALSE(defaults.options->output_path(ReportFormat::json));

  const auto all =
      parse({"-d", "a.ndb", "--database", "sigs", "--exclude", "*.iso", "--exclude",   "x/y", "--max-filesize", "10K",
             "-j", "3",     "-L",         "-x",   "--json",    "-",     "--inventory", "-v",  "--brief",        "-i",
             "-q", "p1",    "p2"});
  REQUIRE(all.options);
  const Options& o = *all.options;
  CHECK(o.databases == std::vector<std::string>{"a.ndb", "sigs"});
  CHECK(o.excludes == std::vector<std::string>{"*.iso", "x/y"});
  CHECK(o.max_filesize == 10240);
  CHECK(o.threads == 3);
  CHECK(o.follow_symlinks);
  CHECK(o.one_file_system);
  CHECK(o.output_path(ReportFormat::json) == "-");
  CHECK(o.inventory);
  CHECK(o.verbose);
  CHECK(o.brief);
  CHECK(o.infected_only);
  CHECK(o.quiet);
  CHECK(o.paths == std::vector<std::string>{"p1", "p2"});
}

TEST_CASE("options: an --exclude takes exactly one value, the rest are PATHs", "[options]") {
  const auto parsed = parse({"--exclude", "*.iso", "a", "b"});
  REQUIRE(parsed.options);
  CHECK(parsed.options->excludes == std::vector<std::string>{"*.iso"});
  CHECK(parsed.options->paths == std::vector<std::string>{"a", "b"});
}

TEST_CASE("options: usage errors exit 2 and say why", "[options]") {
  std::string err;
  CHECK(parse({}, nullptr, &err).exit_code == 2);
  CHECK(err.find("no PATH") != std::string::npos);
  CHECK(parse({"--max-filesize", "lots", "dir"}, nullptr, &err).exit_code == 2);
  CHECK(err.find("--max-filesize") != std::string::npos);
  CHECK(parse({"--no-such-option", "dir"}).exit_code == 2);
  CHECK_FALSE(parse({"--no-such-option", "dir"}).options);
  CHECK(parse({"-j", "-1", "dir"}).exit_code == 2);
}

TEST_CASE("options: --version needs no PATH", "[options]") {
  const auto parsed = parse({"--version"});
  REQUIRE(parsed.options);
  CHECK(parsed.options->show_version);
}

TEST_CASE("options: --help documents every option, the exit codes and JSON", "[options]") {
  std::string help;
  const auto parsed = parse({"--help"}, &help);
  CHECK_FALSE(parsed.options);
  CHECK(parsed.exit_code == 0);
  for (const char* text :
       {"--database", "--exclude", "--max-filesize", "--threads", "--follow-symlinks", "--one-file-system", "--json",
        "--inventory", "--verbose", "--brief", "--infected", "--quiet", "--version", "Exit codes",
        "When both 1 and 2 apply, the exit code is 1", "schema_version", "{\"bytes\""}) {
    INFO(text);
    CHECK(help.find(text) != std::string::npos);
  }
}

TEST_CASE("text encoding: strict UTF-8, base64, terminal escapes", "[options][encoding]") {
  CHECK(is_valid_utf8("plain.exe"));
  CHECK(
      is_valid_utf8("gr\xC3\xBC\xC3\x9F"
                    "e.exe"));
  CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));
  CHECK_FALSE(is_valid_utf8("bad\xFF"));
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xE2\x82"));          // truncated

  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("\xFF\xFE") == "//4=");

  CHECK(escape_for_terminal("a\nb") == "a\\x0ab");
  CHECK(escape_for_terminal("x\xFFy") == "x\\xffy");
  CHECK(escape_for_terminal("\x1b[31m") == "\\x1b[31m");
  CHECK(escape_for_terminal("\xC2\x9B") == "\\xc2\\x9b");
  CHECK(escape_for_terminal("gr\xC3\xBC\xC3\x9F"
                            "e") ==
        "gr\xC3\xBC\xC3\x9F"
        "e");
}

TEST_CASE("options: the report outputs are one list, the text report on stdout unless another goes there",
          "[options]") {
  // The order is the writing order (output_spec.h): text first, then JSON, SARIF, HTML.
  const auto files = parse({"--html", "r.html", "--json", "r.json", "dir"});
  REQUIRE(files.options);
  CHECK(files.options->outputs == std::vector<OutputSpec>{{ReportFormat::text, "-"},
                                                          {ReportFormat::json, "r.json"},
                                                          {ReportFormat::html, "r.html"}});
  // SARIF on stdout replaces the text report; for HTML, which has no stdout form, "-" is a file.
  const auto sarif = parse({"--sarif", "-", "--html", "-", "dir"});
  REQUIRE(sarif.options);
  CHECK(sarif.options->outputs == std::vector<OutputSpec>{{ReportFormat::sarif, "-"}, {ReportFormat::html, "-"}});
  CHECK(to_stdout(sarif.options->outputs[0]));
  CHECK_FALSE(to_stdout(sarif.options->outputs[1]));

  std::string err;
  CHECK(parse({"--json", "-", "--sarif", "-", "dir"}, nullptr, &err).exit_code == 2);
  CHECK(err == "flscan: --json - and --sarif - cannot both write to stdout\n");
  CHECK(parse({"--html", "", "dir"}, nullptr, &err).exit_code == 2);
  CHECK(err == "flscan: --html needs a file name\n");
}

TEST_CASE("options: --read-order is auto unless disk or listing is asked, and anything else is refused", "[options]") {
  const auto defaults = parse({"dir"});
  REQUIRE(defaults.options);
  CHECK(defaults.options->read_order == ReadOrderMode::automatic);
  const auto disk = parse({"--read-order", "disk", "dir"});
  REQUIRE(disk.options);
  CHECK(disk.options->read_order == ReadOrderMode::disk);
  const auto listing = parse({"--read-order", "listing", "dir"});
  REQUIRE(listing.options);
  CHECK(listing.options->read_order == ReadOrderMode::listing);
  const auto automatic = parse({"--read-order", "auto", "dir"});
  REQUIRE(automatic.options);
  CHECK(automatic.options->read_order == ReadOrderMode::automatic);
  std::string err;
  CHECK(parse({"--read-order", "fast", "dir"}, nullptr, &err).exit_code == 2);
  CHECK(err.find("--read-order") != std::string::npos);
  std::string help;
  (void)parse({"--help"}, &help);
  for (const char* text : {"--read-order", "rotational", "FIEMAP"}) {
    INFO(text);
    CHECK(help.find(text) != std::string::npos);
  }
}
