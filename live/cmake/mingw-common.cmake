# The toolchain flscan-live.exe is cross-compiled with (live/CMakeLists.txt), for the architecture
# FLSCAN_MINGW_ARCH that mingw-i686.cmake or mingw-x86_64.cmake sets before including this file:
# Debian's mingw-w64 with the win32 thread model (the posix one pulls winpthreads, which imports
# GetTickCount64: no XP).
if(NOT FLSCAN_MINGW_ARCH MATCHES "^(i686|x86_64)$")
  message(FATAL_ERROR "mingw-common.cmake: use live/cmake/mingw-i686.cmake or live/cmake/mingw-x86_64.cmake "
                      "as the toolchain file (FLSCAN_MINGW_ARCH is \"${FLSCAN_MINGW_ARCH}\")")
endif()
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR ${FLSCAN_MINGW_ARCH})
set(CMAKE_C_COMPILER ${FLSCAN_MINGW_ARCH}-w64-mingw32-gcc-win32)
set(CMAKE_CXX_COMPILER ${FLSCAN_MINGW_ARCH}-w64-mingw32-g++-win32)
set(CMAKE_RC_COMPILER ${FLSCAN_MINGW_ARCH}-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${FLSCAN_MINGW_ARCH}-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
