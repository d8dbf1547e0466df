#include "scanner/platform/errno_text.h"

#include <system_error>

namespace flscan::scanner {

// std::system_category().message rather than strerror: it is thread-safe (strerror's buffer for an
// unknown value is not), and gives strerror's text.
std::string errno_text(int error) { return std::system_category().message(error); }

}  // namespace flscan::scanner
