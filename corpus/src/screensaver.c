/* screensaver.c: a benign GUI program shipped as screensaver.scr (a screen saver is a GUI .exe
 * with another extension). It reads the /s /c /p switch and exits without drawing anything. */
#include <windows.h>

int WINAPI WinMain(HINSTANCE instance, HINSTANCE previous, LPSTR command_line, int show) {
  (void)instance;
  (void)previous;
  (void)show;
  const char* arg = command_line;
  while (*arg == ' ' || *arg == '/' || *arg == '-') ++arg;
  switch (*arg | 0x20) {
    case 's':
      return 1; /* run full screen: not in this stand-in */
    case 'c':
      return 2; /* configure */
    case 'p':
      return 3; /* preview */
    default:
      return (int)(GetTickCount() & 0u);
  }
}
