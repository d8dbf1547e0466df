// The portable build only (FLSCAN_PORTABLE, README "Portable binary"): the AFF functions Debian's
// libtsk.a calls, without AFFLIB.
//
// Debian builds The Sleuth Kit with AFFLIB, and libafflib.a needs libcurl and expat (its S3
// support), whose own dependencies (GSSAPI, LDAP) Debian ships only as shared libraries: a static
// link cannot close with it. flscan never opens AFF images (README: image formats), so these
// definitions stand in for AFFLIB. af_identify_file_type says "a raw file" for every path, which is
// how TSK's format detection (img_open.c) moves past AFF to the other formats, as with a real
// AFFLIB on a non-AFF file; af_open fails, so an explicit AFF open fails cleanly. The others are
// only called on an AFFILE af_open returned, which never happens.
#include <cerrno>
#include <cstdint>
#include <cstdio>

#include <afflib/afflib.h>

extern "C" {

int af_identify_file_type(const char* /*filename*/, int /*exists*/) { return AF_IDENTIFY_RAW; }

AFFILE* af_open(const char* /*filename*/, int /*flags*/, int /*mode*/) {
  errno = ENOTSUP;
  return nullptr;
}

int af_close(AFFILE* /*af*/) { return -1; }

ssize_t af_read(AFFILE* /*af*/, unsigned char* /*buf*/, ssize_t /*count*/) { return -1; }

uint64_t af_seek(AFFILE* /*af*/, int64_t /*pos*/, int /*whence*/) { return static_cast<uint64_t>(-1); }

int af_eof(AFFILE* /*af*/) { return 1; }

int64_t af_get_imagesize(AFFILE* /*af*/) { return -1; }

int af_get_seg(AFFILE* /*af*/, const char* /*name*/, uint32_t* /*arg*/, unsigned char* /*data*/, size_t* /*datalen*/) {
  return -1;
}

int af_cannot_decrypt(AFFILE* /*af*/) { return 0; }

}  // extern "C"
