// A shared library flscan loads when it first needs it, instead of linking it (as
// tsk_runtime.cpp does for libtsk, and for the same reason: start-up cost on every run).
//
// The libyal container libraries (libqcow, libvhdi, libvslvm, libbde, ...) are loaded this way,
// each RTLD_LOCAL: several of them carry their own copy of libbfio and export it, while others
// use Debian's libbfio.so.1; loaded into one global scope, one library's libbfio_* calls would
// bind to another's incompatible copy. With RTLD_LOCAL each resolves in its own scope (the
// executable links none of them), and a function looked up here with function() comes from the
// library's own scope (dlsym on its handle: the library, then its dependencies).
//
// Every function a caller will use is named when the library is loaded, so a library lacking one
// (another version under the same SONAME) is reported as unavailable once, with its name, and a
// later lookup cannot fail.
//
// The portable build (CMake option FLSCAN_PORTABLE: README "Portable binary") is one static
// executable, which cannot dlopen: there the same class takes each function from the table of
// the libraries linked into it (linked_libraries.h), by the same SONAME and names, with the same
// errors, so callers have one code path. A library that build cannot link is unavailable, with
// why (its table entry says).
#pragma once

#include <initializer_list>
#include <string>

namespace flscan::scanner::image {

class DynamicLibrary {
 public:
  // Loads `soname` (RTLD_NOW | RTLD_LOCAL) and checks that every name in `functions` is found.
  // `purpose` says what flscan needs it for, in the error ("qcow2 images").
  DynamicLibrary(const char* soname, const char* purpose, std::initializer_list<const char*> functions);
  ~DynamicLibrary();
  DynamicLibrary(const DynamicLibrary&) = delete;
  DynamicLibrary& operator=(const DynamicLibrary&) = delete;

  // Null when loaded with every function; otherwise why not, for a report.
  [[nodiscard]] const char* unavailable() const { return handle_ != nullptr ? nullptr : error_.c_str(); }

  // The function `name` (one of those named at load) as type F (a function pointer type). Only
  // called when unavailable() is null.
  template <typename F>
  [[nodiscard]] F function(const char* name) const {
    return reinterpret_cast<F>(address(name));
  }

 private:
  [[nodiscard]] void* address(const char* name) const;
  void* handle_ = nullptr;
  std::string error_;
};

}  // namespace flscan::scanner::image
