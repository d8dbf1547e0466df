# The i686 portable flscan (`make portable ARCH=i686`, README "Portable binary"): GCC's -m32
# (g++-multilib: 32-bit libc.a and libstdc++.a) on the x86-64 build machine, libraries from the
# i386 packages unpacked under FLSCAN_I386_SYSROOT (packaging/portable/i386-sysroot.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR i686)
set(CMAKE_C_COMPILER gcc)
set(CMAKE_CXX_COMPILER g++)
# _FILE_OFFSET_BITS=64: 64-bit off_t, ino_t and struct stat, without which a 32-bit program cannot
# open a file over 2 GiB (a disk image) nor stat one whose inode or size does not fit 32 bits.
set(CMAKE_C_FLAGS_INIT "-m32 -march=i686 -D_FILE_OFFSET_BITS=64")
set(CMAKE_CXX_FLAGS_INIT "-m32 -march=i686 -D_FILE_OFFSET_BITS=64")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-m32")
set(CMAKE_LIBRARY_ARCHITECTURE i386-linux-gnu)
if(NOT FLSCAN_I386_SYSROOT)
  set(FLSCAN_I386_SYSROOT $ENV{FLSCAN_I386_SYSROOT})
endif()
# Libraries only from the i386 tree; headers and CMake packages from both (the header-only
# libraries and most headers are the same for every architecture).
set(CMAKE_FIND_ROOT_PATH ${FLSCAN_I386_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# OpenSSL's configuration.h differs by architecture (i386-linux-gnu/openssl/).
include_directories(BEFORE SYSTEM ${FLSCAN_I386_SYSROOT}/usr/include/i386-linux-gnu)
