#include <catch2/catch.hpp>

#include <string>

#include "engine/hashing.h"

using namespace flscan;

TEST_CASE("SHA-256 and MD5 of known vectors", "[hashing]") {
  const std::string abc = "abc";
  Hasher hasher;
  const Digests d =
      hasher.digest(ByteView(reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size()), WantMd5::yes);
  // FIPS 180-2 and RFC 1321 test vectors.
  CHECK(to_hex(d.sha256) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  REQUIRE(d.md5.has_value());
  CHECK(to_hex(*d.md5) == "900150983cd24fb0d6963f7d28e17f72");
  // The contexts are reused: a second digest without MD5 must not carry state over.
  const Digests empty = hasher.digest(ByteView(), WantMd5::no);
  CHECK(to_hex(empty.sha256) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK_FALSE(empty.md5.has_value());
  // OpenSSL always has SHA-256 (its absence throws in the constructor): no reason to report.
  CHECK(hasher.sha256_error().empty());
}

TEST_CASE("streaming digest equals one-shot digest", "[hashing]") {
  std::vector<std::uint8_t> data(100000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7);
  Hasher hasher;
  const Digests whole = hasher.digest(ByteView(data.data(), data.size()), WantMd5::no);
  hasher.begin(WantMd5::no);
  hasher.update(ByteView(data.data(), 12345));
  hasher.update(ByteView(data.data() + 12345, data.size() - 12345));
  CHECK(hasher.finish().sha256 == whole.sha256);
}

TEST_CASE("parse_hex_digest", "[hashing]") {
  std::uint8_t out[2];
  CHECK(parse_hex_digest("aBcD", out, 2));
  CHECK(out[0] == 0xAB);
  CHECK(out[1] == 0xCD);
  CHECK_FALSE(parse_hex_digest("abc", out, 2));
  CHECK_FALSE(parse_hex_digest("abcg", out, 2));
}
