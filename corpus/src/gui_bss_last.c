/* gui_bss_last.c: a benign GUI program whose LAST section (.zbss, placed by zbss_last.ld) holds
 * only uninitialised data: no raw bytes in the file, PointerToRawData 0. FunLove skips such
 * files (infection-model section 1); the corpus still applies the section 2 geometry to it. */
#include <windows.h>

/* 256 KiB of zero-initialised storage in a section of its own ("b" = uninitialised, COFF). */
extern unsigned char zbss_area[];
__asm__(
    ".section .zbss,\"bw\"\n"
    ".globl _zbss_area\n"
    ".balign 32\n"
    "_zbss_area:\n"
    ".space 0x40000\n"
    ".text\n");

int WINAPI WinMain(HINSTANCE instance, HINSTANCE previous, LPSTR command_line, int show) {
  (void)instance;
  (void)previous;
  (void)command_line;
  zbss_area[(unsigned)show & 0xFFu] = 1;
  zbss_area[0x3FFFF] = (unsigned char)GetTickCount();
  return zbss_area[3];
}
