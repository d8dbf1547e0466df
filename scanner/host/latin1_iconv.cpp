// The portable build only (FLSCAN_PORTABLE, README "Portable binary"): Latin-1 <-> UTF-8 for
// hivex without glibc's conversion modules.
//
// hivex reads a registry key's name stored in the compressed (Latin-1) form through
// iconv_open("UTF-8", "LATIN1"), and looks names up through iconv_open("LATIN1", "UTF-8") (hivex
// 1.3.23 utf16.c). glibc has UTF-8 and UTF-16 built in, but Latin-1 is a module it loads at run time
// (gconv/ISO8859-1.so): a static executable in a root without /usr/lib/.../gconv (a rescue system)
// cannot, and every key name of an NT hive became unreadable ("not a SYSTEM hive"). The executable
// is linked with --wrap for iconv_open, iconv and iconv_close (scanner/CMakeLists.txt): these two
// conversions are done here, exactly (Latin-1 is the first 256 code points), with iconv's contract;
// every other pair goes to glibc.
#include <strings.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include <iconv.h>

extern "C" {
iconv_t __real_iconv_open(const char* tocode, const char* fromcode);
size_t __real_iconv(iconv_t cd, char** inbuf, size_t* inbytesleft, char** outbuf, size_t* outbytesleft);
int __real_iconv_close(iconv_t cd);
iconv_t __wrap_iconv_open(const char* tocode, const char* fromcode);
size_t __wrap_iconv(iconv_t cd, char** inbuf, size_t* inbytesleft, char** outbuf, size_t* outbytesleft);
int __wrap_iconv_close(iconv_t cd);
}

namespace {

struct Latin1Conversion {
  bool to_utf8;  // Latin-1 -> UTF-8; otherwise UTF-8 -> Latin-1
};
Latin1Conversion g_latin1_to_utf8{true};
Latin1Conversion g_utf8_to_latin1{false};

bool is_latin1(const char* code) {
  return ::strcasecmp(code, "LATIN1") == 0 || ::strcasecmp(code, "ISO-8859-1") == 0 ||
         ::strcasecmp(code, "ISO8859-1") == 0 || ::strcasecmp(code, "ISO_8859-1") == 0;
}

bool is_utf8(const char* code) { return ::strcasecmp(code, "UTF-8") == 0 || ::strcasecmp(code, "UTF8") == 0; }

Latin1Conversion* ours(iconv_t cd) {
  if (cd == reinterpret_cast<iconv_t>(&g_latin1_to_utf8)) return &g_latin1_to_utf8;
  if (cd == reinterpret_cast<iconv_t>(&g_utf8_to_latin1)) return &g_utf8_to_latin1;
  return nullptr;
}

size_t fail(int error) {
  errno = error;
  return static_cast<size_t>(-1);
}

// One character at a time, the pointers advanced past each one converted, as iconv does.
size_t convert(const Latin1Conversion& conversion, char** inbuf, size_t* inbytesleft, char** outbuf,
               size_t* outbytesleft) {
  while (*inbytesleft > 0) {
    const auto* in = reinterpret_cast<const std::uint8_t*>(*inbuf);
    if (conversion.to_utf8) {
      const std::size_t need = in[0] < 0x80 ? 1 : 2;
      if (*outbytesleft < need) return fail(E2BIG);
      if (need == 1) {
        (*outbuf)[0] = static_cast<char>(in[0]);
      } else {
        (*outbuf)[0] = static_cast<char>(0xC0 | (in[0] >> 6));
        (*outbuf)[1] = static_cast<char>(0x80 | (in[0] & 0x3F));
      }
      *inbuf += 1;
      *inbytesleft -= 1;
      *outbuf += need;
      *outbytesleft -= need;
      continue;
    }
    // UTF-8 -> Latin-1: U+0000..U+00FF only (one byte, or C2/C3 and a continuation byte).
    std::uint8_t value = 0;
    std::size_t used = 1;
    if (in[0] < 0x80) {
      value = in[0];
    } else if (in[0] == 0xC2 || in[0] == 0xC3) {
      if (*inbytesleft < 2) return fail(EINVAL);  // incomplete at the end of the input
      if ((in[1] & 0xC0) != 0x80) return fail(EILSEQ);
      value = static_cast<std::uint8_t>(((in[0] & 0x03) << 6) | (in[1] & 0x3F));
      used = 2;
    } else {
      return fail(EILSEQ);  // above U+00FF, or not UTF-8
    }
    if (*outbytesleft < 1) return fail(E2BIG);
    (*outbuf)[0] = static_cast<char>(value);
    *inbuf += used;
    *inbytesleft -= used;
    *outbuf += 1;
    *outbytesleft -= 1;
  }
  return 0;
}

}  // namespace

extern "C" {

iconv_t __wrap_iconv_open(const char* tocode, const char* fromcode) {
  if (tocode != nullptr && fromcode != nullptr) {
    if (is_utf8(tocode) && is_latin1(fromcode)) return reinterpret_cast<iconv_t>(&g_latin1_to_utf8);
    if (is_latin1(tocode) && is_utf8(fromcode)) return reinterpret_cast<iconv_t>(&g_utf8_to_latin1);
  }
  return __real_iconv_open(tocode, fromcode);
}

size_t __wrap_iconv(iconv_t cd, char** inbuf, size_t* inbytesleft, char** outbuf, size_t* outbytesleft) {
  const Latin1Conversion* conversion = ours(cd);
  if (conversion == nullptr) return __real_iconv(cd, inbuf, inbytesleft, outbuf, outbytesleft);
  // No shift state: a reset or a flush converts nothing.
  if (inbuf == nullptr || *inbuf == nullptr || inbytesleft == nullptr) return 0;
  if (outbuf == nullptr || *outbuf == nullptr || outbytesleft == nullptr) return fail(E2BIG);
  return convert(*conversion, inbuf, inbytesleft, outbuf, outbytesleft);
}

int __wrap_iconv_close(iconv_t cd) {
  if (ours(cd) != nullptr) return 0;
  return __real_iconv_close(cd);
}

}  // extern "C"
