/* control_ocx.c: a benign in-process COM server shell, shipped as control.ocx (an OCX is a DLL
 * with the four COM server exports). It registers nothing: every export only returns a code. */
#include <windows.h>

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
  (void)instance;
  (void)reason;
  (void)reserved;
  return TRUE;
}

__declspec(dllexport) HRESULT __stdcall DllRegisterServer(void) { return S_OK; }
__declspec(dllexport) HRESULT __stdcall DllUnregisterServer(void) { return S_OK; }
__declspec(dllexport) HRESULT __stdcall DllCanUnloadNow(void) { return S_OK; }
__declspec(dllexport) HRESULT __stdcall DllGetClassObject(REFCLSID clsid, REFIID iid, LPVOID* object) {
  (void)clsid;
  (void)iid;
  if (object != NULL) *object = NULL;
  return CLASS_E_CLASSNOTAVAILABLE;
}
