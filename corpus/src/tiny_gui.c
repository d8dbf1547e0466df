/* tiny_gui.c: the smallest host, just over the virus's 8 KiB minimum (infection-model section 1).
 * No C runtime, no imports: one section (.text, laid out by one_section.ld) holding the entry
 * point and a block of text, so the entry-point section IS the last section. The entry point
 * returns 0, which ends the process. */
int __stdcall tiny_entry(void* peb) {
  (void)peb;
  return 0;
}

/* 7.5 KiB of fixed filler text after the code. */
__asm__(
    ".text\n"
    ".balign 16\n"
    ".rept 480\n"
    ".ascii \"tiny host data.\\n\"\n"
    ".endr\n");
