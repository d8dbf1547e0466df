/* gui_hello.c: the corpus's standard host, a small benign Windows GUI program (Subsystem 2).
 * It opens no window, touches no file and returns a number computed from its own data.
 * Built twice: with the default file alignment (infection needs padding) and with
 * --file-alignment=0x1000 (infection needs none: growth is exactly 4099). */
#include <windows.h>

static const char kGreeting[] = "flscan corpus: gui_hello, a benign GUI host";

static unsigned mix(const char* text) {
  unsigned sum = 2166136261u;
  for (const char* p = text; *p != '\0'; ++p) sum = (sum ^ (unsigned char)*p) * 16777619u;
  return sum;
}

int WINAPI WinMain(HINSTANCE instance, HINSTANCE previous, LPSTR command_line, int show) {
  (void)previous;
  (void)show;
  unsigned sum = mix(kGreeting) ^ mix(command_line);
  if (instance != GetModuleHandleA(NULL)) sum ^= 1u;
  return (int)(sum & 0x3F);
}
