/* gui_sections.c: a benign GUI program with two extra named, initialised sections (.mydata and
 * .fldata) so the section table has a layout other than the toolchain default. */
#include <windows.h>

#define TABLE_WORDS 0x600 /* 6 KiB each */

__attribute__((section(".mydata"), used)) static unsigned my_table[TABLE_WORDS] = {0x4D594454u, 1u, 2u, 3u};
__attribute__((section(".fldata"), used)) static unsigned fl_table[TABLE_WORDS] = {0x464C4454u, 5u, 8u, 13u};

int WINAPI WinMain(HINSTANCE instance, HINSTANCE previous, LPSTR command_line, int show) {
  (void)instance;
  (void)previous;
  (void)command_line;
  unsigned sum = (unsigned)show;
  for (unsigned i = 0; i < TABLE_WORDS; i += 64) sum += my_table[i] ^ fl_table[i];
  my_table[1] = sum; /* .mydata is writable data */
  return (int)(sum & 0x3F) + (int)(GetCurrentProcessId() & 0u);
}
