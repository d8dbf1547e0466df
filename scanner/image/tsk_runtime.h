// The Sleuth Kit is loaded on first use (scanner/image/tsk_runtime.cpp). This asks whether it could be.
#pragma once

namespace flscan::scanner {

// Loads libtsk if that was not tried yet. nullptr when it is loaded with every function flscan
// uses; otherwise why not (missing, or lacking a function), for a report: without it, a file that
// only may be a raw disk image (a 0x55AA boot signature) cannot be told from a plain file.
[[nodiscard]] const char* tsk_unavailable();

}  // namespace flscan::scanner
