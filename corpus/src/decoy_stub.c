/* decoy_stub.c: a CLEAN program whose entry point starts with the same 4 bytes as FunLove's stub,
 * 90 90 65 E8 (nop; nop; gs: call rel32), but whose call lands on its own main function inside
 * .text, not at a virus body (infection-model section 5, "decoy"). No C runtime. */
#include <windows.h>

int __stdcall decoy_main(void) { return (int)(GetTickCount() & 0u); }

__asm__(
    ".text\n"
    ".globl _decoy_entry\n"
    "_decoy_entry:\n"
    "  nop\n"
    "  nop\n"
    "  .byte 0x65\n" /* gs: prefix, as in the virus's stub; ignored on a call */
    "  call _decoy_main@0\n"
    "  ret $4\n");
