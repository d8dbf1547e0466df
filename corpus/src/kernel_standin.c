/* kernel_standin.c: a stand-in for ntoskrnl.exe, NOT a kernel. A tiny native-subsystem image whose
 * .text holds the ORIGINAL instruction bytes that FunLove patches in SeAccessCheck
 * (infection-model section 7): build with -DFL_NT4 or -DFL_W2K. build_corpus.py writes a correct
 * PE checksum, then derives the patched variants from it.
 * -DFL_LEGIT_EPILOGUE adds, after SeAccessCheck, a function that returns TRUE and ends with the
 * same pops and ret 28h: its `mov al, 1` epilogue reads exactly like FunLove's patched bytes
 * (issue 12: real kernels hold such functions). */

#if defined(FL_NT4)
/* NT4: mov al, bl; pop edi; pop esi; pop ebx; pop ebp; ret 28h */
#define FL_TAIL ".byte 0x8A, 0xC3, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28, 0x00\n"
#define FL_VERSION "NT 4.0 stand-in"
#elif defined(FL_W2K)
/* 2000: mov al, [ebp+14h]; pop edi; pop esi; pop ebx; pop ebp; ret 28h */
#define FL_TAIL ".byte 0x8A, 0x45, 0x14, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28, 0x00\n"
#define FL_VERSION "Windows 2000 stand-in"
#else
#error "define FL_NT4 or FL_W2K"
#endif

const char kStandinVersion[] = "flscan corpus ntoskrnl " FL_VERSION;

/* The tail of a SeAccessCheck-like function: push the registers it pops, then the bytes. */
__asm__(
    ".text\n"
    ".globl _SeAccessCheckStandin@40\n"
    "_SeAccessCheckStandin@40:\n"
    "  push %ebp\n"
    "  mov %esp, %ebp\n"
    "  push %ebx\n"
    "  push %esi\n"
    "  push %edi\n"
    "  mov $1, %ebx\n"
    "  " FL_TAIL);

#if defined(FL_LEGIT_EPILOGUE)
#if defined(FL_NT4)
/* mov al, 1; pop edi; pop esi; pop ebx; pop ebp; ret 28h */
#define FL_TRUE_TAIL ".byte 0xB0, 0x01, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28, 0x00\n"
#else
/* mov al, 1; nop; pop edi; pop esi; pop ebx; pop ebp; ret 28h */
#define FL_TRUE_TAIL ".byte 0xB0, 0x01, 0x90, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28, 0x00\n"
#endif
/* A function that always grants, e.g. a privilege check for the system process. */
__asm__(
    ".text\n"
    ".globl _SeSinglePrivilegeCheckStandin@40\n"
    "_SeSinglePrivilegeCheckStandin@40:\n"
    "  push %ebp\n"
    "  mov %esp, %ebp\n"
    "  push %ebx\n"
    "  push %esi\n"
    "  push %edi\n"
    "  " FL_TRUE_TAIL);
#endif

int __stdcall KiSystemStartupStandin(void* loader_block) {
  (void)loader_block;
  return (int)(unsigned char)kStandinVersion[0];
}
