/* plugin_dll.c: a benign DLL with two exports. FunLove's filter never picks *.DLL
 * (infection-model section 1), but a detector must not care about names: the corpus infects it. */
#include <windows.h>

static LONG attach_count;

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
  (void)instance;
  (void)reserved;
  if (reason == DLL_PROCESS_ATTACH) InterlockedIncrement(&attach_count);
  return TRUE;
}

__declspec(dllexport) int __stdcall PluginVersion(void) { return 0x0102; }

__declspec(dllexport) int __stdcall PluginAdd(int a, int b) { return a + b + (int)(attach_count & 0); }
