/* console_tool.c: a benign console program (Subsystem 3). FunLove never infects console
 * programs itself (infection-model section 1); the corpus infects it anyway because a detector
 * must work on content, not on the virus's filters. It prints a small table and exits. */
#include <stdio.h>

static const struct {
  const char* name;
  unsigned value;
} kRows[] = {
    {"alpha", 1u}, {"beta", 2u}, {"gamma", 3u}, {"delta", 5u}, {"epsilon", 8u},
};

int main(int argc, char** argv) {
  (void)argv;
  unsigned total = 0;
  for (unsigned i = 0; i < sizeof kRows / sizeof kRows[0]; ++i) {
    total += kRows[i].value;
    printf("%-8s %3u\n", kRows[i].name, kRows[i].value);
  }
  printf("total    %3u (args %d)\n", total, argc);
  return 0;
}
