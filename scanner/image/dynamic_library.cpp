#include "scanner/image/dynamic_library.h"

#include <cstdio>
#include <cstdlib>

#ifdef FLSCAN_STATIC_RUNTIME
#include <cstring>

#include "scanner/image/linked_libraries.h"
#else
#include <dlfcn.h>
#endif

namespace flscan::scanner::image {

#ifdef FLSCAN_STATIC_RUNTIME
namespace {

void* linked_function(const LinkedLibrary& library, const char* name) {
  for (const LinkedFunction& function : library.functions) {
    if (std::strcmp(function.name, name) == 0) return function.address;
  }
  return nullptr;
}

}  // namespace

DynamicLibrary::DynamicLibrary(const char* soname, const char* purpose, std::initializer_list<const char*> functions) {
  const LinkedLibrary* library = linked_library(soname);
  if (library == nullptr) {
    error_ = std::string(purpose) + " need " + soname + ", which this portable build does not link";
    return;
  }
  if (library->absent != nullptr) {
    error_ = std::string(purpose) + " need " + soname + ", which this portable build does not link: " + library->absent;
    return;
  }
  for (const char* name : functions) {
    if (linked_function(*library, name) == nullptr) {
      error_ = std::string(purpose) + " need " + soname + ", but the table of linked functions lacks " + name +
               " (scanner/image/linked_libraries.cpp)";
      return;
    }
  }
  // The table is constant; handle_ only ever goes back to it (address()).
  handle_ = const_cast<LinkedLibrary*>(library);
}

DynamicLibrary::~DynamicLibrary() = default;

void* DynamicLibrary::address(const char* name) const {
  void* address = handle_ != nullptr ? linked_function(*static_cast<const LinkedLibrary*>(handle_), name) : nullptr;
  if (address == nullptr) {
    // Every name was checked at load: only a caller asking for a name it did not list gets here.
    std::fprintf(stderr, "flscan: %s: not among the functions checked when its library was loaded\n", name);
    std::abort();
  }
  return address;
}

#else

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

#endif

}  // namespace flscan::scanner::image
