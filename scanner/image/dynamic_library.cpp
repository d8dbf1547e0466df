#include "scanner/image/dynamic_library.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace flscan::scanner::image {

DynamicLibrary::DynamicLibrary(const char* soname, const char* purpose, std::initializer_list<const char*> functions) {
  ::dlerror();
  handle_ = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    const char* why = ::dlerror();
    error_ = std::string(purpose) + " need " + soname +
             ", which could not be loaded: " + (why != nullptr ? why : "unknown error");
    return;
  }
  for (const char* name : functions) {
    if (::dlsym(handle_, name) == nullptr) {
      error_ = std::string(purpose) + " need " + soname + ", but the library found lacks " + name +
               " (a different version of it?)";
      ::dlclose(handle_);
      handle_ = nullptr;
      return;
    }
  }
}

DynamicLibrary::~DynamicLibrary() {
  // Never unloaded: handles opened through it may outlive this object at exit (static storage).
}

void* DynamicLibrary::address(const char* name) const {
  void* address = handle_ != nullptr ? ::dlsym(handle_, name) : nullptr;
  if (address == nullptr) {
    // Every name was checked at load: only a caller asking for a name it did not list gets here.
    std::fprintf(stderr, "flscan: %s: not among the functions checked when its library was loaded\n", name);
    std::abort();
  }
  return address;
}

}  // namespace flscan::scanner::image
