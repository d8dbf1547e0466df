// The libyal container libraries flscan reads images with, each loaded at run time in its own
// file (qcow_runtime.cpp: libqcow; vhdi_runtime.cpp: libvhdi), with the checks each format adds
// to the chain of parent files (libyal_chain.h).
#pragma once

#include "scanner/image/libyal_chain.h"

namespace flscan::scanner::image {

// libqcow: qcow2 (versions 2 and 3, compressed clusters, backing files in qcow2).
[[nodiscard]] const LibyalApi& qcow_api();
// Every file of a qcow2 chain must be qcow2 version 2 or 3 and unencrypted (AES or LUKS:
// encrypted-volume), except its last, which may be a raw disk (raw_parent; another container
// format is unsupported-image).
[[nodiscard]] const ChainHeadRule& qcow_head_rule();

// libvhdi: VHD and VHDX, fixed, dynamic and differencing.
[[nodiscard]] const LibyalApi& vhdi_api();

}  // namespace flscan::scanner::image
