# flscan-live.exe (live/, issue 17) for i686 and x86_64, cross-built with mingw-w64 as two external
# projects of the Linux build (target flscan_live_windows), so `make test` builds what the Wine and
# import-table tests run: ${CMAKE_BINARY_DIR}/windows/flscan-live-{i686,x86_64}.exe. `make windows`
# builds the same with the same toolchain files into build/windows/.
include(ExternalProject)
set(FLSCAN_LIVE_DIR ${CMAKE_BINARY_DIR}/windows)
add_custom_target(flscan_live_windows ALL)
foreach(arch i686 x86_64)
  ExternalProject_Add(flscan_live_${arch}
    SOURCE_DIR ${PROJECT_SOURCE_DIR}/live
    BINARY_DIR ${FLSCAN_LIVE_DIR}/${arch}
    CMAKE_ARGS -DCMAKE_TOOLCHAIN_FILE=${PROJECT_SOURCE_DIR}/live/cmake/mingw-${arch}.cmake
               -DFLSCAN_LIVE_OUTPUT_DIR=${FLSCAN_LIVE_DIR}
    BUILD_ALWAYS ON
    INSTALL_COMMAND ""
    BUILD_BYPRODUCTS ${FLSCAN_LIVE_DIR}/flscan-live-${arch}.exe
    USES_TERMINAL_BUILD ON)
  add_dependencies(flscan_live_windows flscan_live_${arch})
endforeach()
