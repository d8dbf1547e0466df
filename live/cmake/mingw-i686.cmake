# Cross-compiling flscan-live.exe for 32-bit Windows (NT 4.0 / 2000 / XP).
set(FLSCAN_MINGW_ARCH i686)
include(${CMAKE_CURRENT_LIST_DIR}/mingw-common.cmake)
