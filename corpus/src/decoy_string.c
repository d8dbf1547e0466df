/* decoy_string.c: a CLEAN GUI program whose read-only data holds the virus's text
 * "~Fun Loving Criminal~" (as an AV write-up or a joke might). The string alone is not an
 * infection (infection-model section 5, "decoy"). */
#include <windows.h>

static const char kNote[] = "Quoted from a 1999 virus write-up: ~Fun Loving Criminal~ (this program is clean)";

int WINAPI WinMain(HINSTANCE instance, HINSTANCE previous, LPSTR command_line, int show) {
  (void)instance;
  (void)previous;
  (void)command_line;
  return (int)((unsigned)lstrlenA(kNote) + (unsigned)show) & 0x3F;
}
