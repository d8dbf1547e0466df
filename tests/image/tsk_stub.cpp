// A stand-in for libtsk for tsk_runtime_tests: it exports every function scanner/image/tsk_runtime.cpp
// takes from libtsk except tsk_fs_file_close, like a different build of The Sleuth Kit under the
// same SONAME. None of them is ever called (the runtime refuses the library when it is loaded), so
// their signatures do not matter to dlsym.
#define FLSCAN_STUB(name) \
  extern "C" __attribute__((visibility("default"))) void name() {}

FLSCAN_STUB(tsk_img_open_utf8_sing)
FLSCAN_STUB(tsk_img_open_utf8)
FLSCAN_STUB(tsk_img_open_external)
FLSCAN_STUB(tsk_error_vset_errstr)
FLSCAN_STUB(tsk_error_get)
FLSCAN_STUB(tsk_error_reset)
FLSCAN_STUB(tsk_error_set_errno)
FLSCAN_STUB(tsk_img_close)
FLSCAN_STUB(tsk_img_read)
FLSCAN_STUB(tsk_img_type_toname)
FLSCAN_STUB(tsk_vs_open)
FLSCAN_STUB(tsk_vs_close)
FLSCAN_STUB(tsk_vs_part_get)
FLSCAN_STUB(tsk_fs_open_img)
FLSCAN_STUB(tsk_fs_close)
FLSCAN_STUB(tsk_fs_type_toname)
FLSCAN_STUB(tsk_fs_dir_open_meta)
FLSCAN_STUB(tsk_fs_dir_getsize)
FLSCAN_STUB(tsk_fs_dir_get_name)
FLSCAN_STUB(tsk_fs_dir_get)
FLSCAN_STUB(tsk_fs_dir_close)
FLSCAN_STUB(tsk_fs_file_open_meta)
FLSCAN_STUB(tsk_fs_file_attr_get)
FLSCAN_STUB(tsk_fs_file_read)
// tsk_fs_file_close: missing on purpose.
