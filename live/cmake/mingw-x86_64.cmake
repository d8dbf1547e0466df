# Cross-compiling flscan-live.exe for 64-bit Windows (XP x64 / Server 2003 and later).
set(FLSCAN_MINGW_ARCH x86_64)
include(${CMAKE_CURRENT_LIST_DIR}/mingw-common.cmake)
