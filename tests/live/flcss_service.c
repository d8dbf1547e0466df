/* A tiny real Windows service for the Wine test of flscan-live.exe (wine_live_test.py): installed
 * as FLCSS with binPath C:\windows\system32\flcss.exe, it reports SERVICE_RUNNING to the service
 * control manager and waits until it is told to stop. It does nothing else (benign, no FunLove
 * code): flscan-live must find it as a process named flcss.exe and as a running service. */
#include <windows.h>

static SERVICE_STATUS_HANDLE status_handle;
static HANDLE stop_event;

static void report(DWORD state) {
  SERVICE_STATUS status = {0};
  status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  status.dwCurrentState = state;
  status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP : 0;
  SetServiceStatus(status_handle, &status);
}

static DWORD WINAPI handler(DWORD control, DWORD type, void* data, void* context) {
  (void)type;
  (void)data;
  (void)context;
  if (control == SERVICE_CONTROL_STOP) {
    report(SERVICE_STOP_PENDING);
    SetEvent(stop_event);
  }
  return NO_ERROR;
}

static void WINAPI service_main(DWORD argc, wchar_t** argv) {
  (void)argc;
  (void)argv;
  status_handle = RegisterServiceCtrlHandlerExW(L"FLCSS", handler, NULL);
  if (status_handle == NULL) return;
  stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  report(SERVICE_RUNNING);
  WaitForSingleObject(stop_event, INFINITE);
  report(SERVICE_STOPPED);
}

int wmain(void) {
  wchar_t name[] = L"FLCSS";
  SERVICE_TABLE_ENTRYW table[] = {{name, service_main}, {NULL, NULL}};
  return StartServiceCtrlDispatcherW(table) ? 0 : 1;
}
