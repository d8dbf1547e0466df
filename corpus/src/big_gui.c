/* big_gui.c: a benign GUI program of about 3 MiB. Its section .bigdata holds big_blob.bin, which
 * build_corpus.py writes before compiling: 3 MiB from a fixed-seed generator (SHA-256 in counter
 * mode), so the file is large, incompressible and identical on every build. */
#include <windows.h>

extern const unsigned char big_blob[];
extern const unsigned char big_blob_end[];
__asm__(
    ".section .bigdata,\"dr\"\n"
    ".globl _big_blob\n"
    ".globl _big_blob_end\n"
    ".balign 16\n"
    "_big_blob:\n"
    ".incbin \"big_blob.bin\"\n"
    "_big_blob_end:\n"
    ".text\n");

int WINAPI WinMain(HINSTANCE instance, HINSTANCE previous, LPSTR command_line, int show) {
  (void)instance;
  (void)previous;
  (void)command_line;
  unsigned sum = (unsigned)show;
  for (const unsigned char* p = big_blob; p < big_blob_end; p += 4096) sum = sum * 33u + *p;
  return (int)(sum & 0x3F) + (int)(GetTickCount() & 0u);
}
